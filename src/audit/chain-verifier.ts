import { GENESIS, hashOf, type StoredEvent } from '../../infra/eventstore/hash-chain';
import { holdsClearPersonalData } from '../../infra/personal/personal-data';

/** The first place where a chain does not hold (R-AUD-3). */
export interface BrokenLink {
  stream: string;
  streamVersion: number;
  eventId: string;
  /** What does not match: the link to the event before, the event's own hash, or its place in the stream. */
  field: 'prevHash' | 'hash' | 'streamVersion';
  expected: string;
  found: string;
}

export interface ChainCounts {
  events: number;
  streams: number;
  /** EventStoreDB events stored before the chain existed: no stored hash, so their hash was derived here. */
  unchained: number;
  /** Export only: a line whose stream version does not follow the stream's previous line (the export left events out); it is taken as given. */
  gaps: number;
  /** Events whose personal data is stored in clear (written before encryption): the chain holds, but an erasure cannot reach them. */
  clearPersonal: number;
}

/** An export line or a stored event: what the chain covers, plus `hash` (and `position`, `personal`, which it does not). */
export type ChainedLine = Omit<StoredEvent, 'position'> & { position?: unknown };

/**
 * Checks hash chains event by event, holding one head per stream.
 *
 * `store`: every stream must start at version 0 and have no gaps; an event that
 * arrives before its predecessor (PostgreSQL's global order may put a later
 * version first when two transactions interleave) waits for it.
 * `file`: an export, which may leave events out (by org, time, user, type): each
 * stream's first line, and a line after a gap, is taken as given.
 */
export class ChainVerifier {
  readonly counts: ChainCounts = { events: 0, streams: 0, unchained: 0, gaps: 0, clearPersonal: 0 };
  private readonly heads = new Map<string, { version: number; hash: string | undefined }>();
  private readonly waiting = new Map<string, Map<number, ChainedLine>>();

  constructor(private readonly mode: 'store' | 'file') {}

  /** The first broken link this event shows, if any. */
  check(line: ChainedLine): BrokenLink | undefined {
    const head = this.heads.get(line.stream);
    const next = head ? head.version + 1 : 0;
    if (this.mode === 'store') {
      if (line.streamVersion > next) return this.wait(line);
      if (line.streamVersion < next) return broken(line, 'streamVersion', String(next), String(line.streamVersion));
      return this.link(line, head?.hash ?? GENESIS) ?? this.release(line.stream);
    }
    if (head && line.streamVersion <= head.version) return broken(line, 'streamVersion', String(next), String(line.streamVersion));
    if (head && line.streamVersion > next) this.counts.gaps++;
    const given = !head || line.streamVersion > next;
    const expected = line.streamVersion === 0 ? GENESIS : given ? (line.prevHash ?? undefined) : head.hash;
    return this.link(line, expected);
  }

  /** Store mode: an event still waiting for its predecessor means that predecessor is missing. */
  finish(): BrokenLink | undefined {
    for (const [stream, waiting] of this.waiting) {
      const first = [...waiting.values()].sort((a, b) => a.streamVersion - b.streamVersion)[0];
      const head = this.heads.get(stream);
      return broken(first, 'streamVersion', String(head ? head.version + 1 : 0), String(first.streamVersion));
    }
    return undefined;
  }

  /** `expected` is the hash the line must link to; undefined when unknown (after an unchained line in an export). */
  private link(line: ChainedLine, expected: string | undefined): BrokenLink | undefined {
    if (line.prevHash !== null && expected !== undefined && line.prevHash !== expected) return broken(line, 'prevHash', expected, line.prevHash);
    const prevHash = line.prevHash ?? expected;
    const computed = prevHash === undefined ? undefined : hashOf({ ...line, prevHash });
    if (line.hash === null) this.counts.unchained++;
    else if (computed !== undefined && line.hash !== computed) return broken(line, 'hash', computed, line.hash);
    if (holdsClearPersonalData(line)) this.counts.clearPersonal++;
    if (!this.heads.has(line.stream)) this.counts.streams++;
    this.heads.set(line.stream, { version: line.streamVersion, hash: line.hash ?? computed });
    this.counts.events++;
    return undefined;
  }

  private wait(line: ChainedLine): undefined {
    const waiting = this.waiting.get(line.stream) ?? new Map<number, ChainedLine>();
    waiting.set(line.streamVersion, line);
    this.waiting.set(line.stream, waiting);
    return undefined;
  }

  private release(stream: string): BrokenLink | undefined {
    const waiting = this.waiting.get(stream);
    for (let next = waiting?.get(this.heads.get(stream)!.version + 1); next; next = waiting!.get(this.heads.get(stream)!.version + 1)) {
      waiting!.delete(next.streamVersion);
      const failed = this.link(next, this.heads.get(stream)!.hash ?? GENESIS);
      if (failed) return failed;
    }
    if (waiting?.size === 0) this.waiting.delete(stream);
    return undefined;
  }
}

function broken(line: ChainedLine, field: BrokenLink['field'], expected: string, found: string): BrokenLink {
  return { stream: line.stream, streamVersion: line.streamVersion, eventId: line.eventId, field, expected, found };
}
