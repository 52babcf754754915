/**
 * The tamper-evident hash chain of SPEC 5.1 (R-AUD-3), in one place: every adapter
 * seals with it, `verify` and the history export check with it.
 *
 *   hash = hex(SHA-256(utf8(prevHash + "\n" + JCS(line))))
 *
 * `line` is the export line without `hash`, `position` and `personal`. Gatehouse's
 * lines always hold all thirteen keys: an absent `realActor`, `orgId` or
 * `causationId` is `null`, never a missing key. `schemaVersion` and `data` are the
 * stored ones, before any upcast; `recordedAt` is an ISO time with milliseconds.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { Actor, EventMetadata, Position } from '../../domain/shared/envelope';

/** The `prevHash` of a stream's first event (version 0). */
export const GENESIS = '0'.repeat(64);

/** What the hash covers: the stored event and the link to its predecessor. */
export interface ChainLine {
  eventId: string;
  type: string;
  schemaVersion: number;
  stream: string;
  streamVersion: number;
  recordedAt: string;
  actor: Actor;
  realActor: Actor | null;
  orgId: string | null;
  correlationId: string;
  causationId: string | null;
  data: unknown;
  prevHash: string;
}

/**
 * An event exactly as stored (no upcast), with its place in the log and its hash:
 * one line of the history export, `personal` aside. `prevHash` and `hash` are null
 * only for an EventStoreDB event stored before the chain existed (it cannot be amended).
 */
export interface StoredEvent extends Omit<ChainLine, 'prevHash'> {
  position: Position;
  prevHash: string | null;
  hash: string | null;
}

/** The fields of an export line that are not hashed. */
const UNHASHED = new Set(['hash', 'position', 'personal']);

/** The hash of a line (any object shaped like an export line: `hash`, `position` and `personal` are left out). */
export function hashOf<Line extends { prevHash: string }>(line: Line): string {
  const hashed = Object.fromEntries(Object.entries(line).filter(([key]) => !UNHASHED.has(key)));
  return createHash('sha256').update(`${line.prevHash}\n${canonicalize(hashed)}`, 'utf8').digest('hex');
}

/** The absent-is-null rule for the envelope's optional fields. */
export function chainLine(event: {
  eventId: string;
  type: string;
  schemaVersion: number;
  stream: string;
  streamVersion: number;
  recordedAt: string;
  metadata: EventMetadata;
  data: unknown;
  prevHash: string;
}): ChainLine {
  const { actor, realActor, orgId, correlationId, causationId } = event.metadata;
  return {
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    stream: event.stream,
    streamVersion: event.streamVersion,
    recordedAt: event.recordedAt,
    actor,
    realActor: realActor ?? null,
    orgId: orgId ?? null,
    correlationId,
    causationId: causationId ?? null,
    data: event.data,
    prevHash: event.prevHash,
  };
}

/** The last event of a stream as far as the chain is concerned; a missing stream is `{ version: -1, hash: GENESIS }`. */
export interface ChainHead {
  version: number;
  hash: string;
}

export const EMPTY_STREAM: ChainHead = { version: -1, hash: GENESIS };

export interface EventToSeal {
  eventId: string;
  type: string;
  schemaVersion: number;
  metadata: EventMetadata;
  /** The data as it will be read back: already through JSON (see `storedData`). */
  data: unknown;
}

export interface Seal {
  streamVersion: number;
  prevHash: string;
  hash: string;
}

/** Chains a batch onto a stream's head: versions head+1…, each prevHash the hash before it. */
export function seal(stream: string, head: ChainHead, recordedAt: string, events: EventToSeal[]): Seal[] {
  let prevHash = head.hash;
  return events.map((event, i) => {
    const streamVersion = head.version + 1 + i;
    const hash = hashOf(chainLine({ ...event, stream, streamVersion, recordedAt, prevHash }));
    const sealed = { streamVersion, prevHash, hash };
    prevHash = hash;
    return sealed;
  });
}

/**
 * Data exactly as every store gives it back (JSON: no undefined, no Date, no -0),
 * with the text to store: the hash is computed over what a reader will see.
 */
export function storedData(data: unknown): { json: string; data: unknown } {
  const json = JSON.stringify(data);
  if (json === undefined) throw new Error('event data must be JSON');
  return { json, data: JSON.parse(json) };
}

/** A recorded time as it is hashed and exported: ISO 8601, UTC, with milliseconds. */
export function isoTime(at: Date | number): string {
  return new Date(at).toISOString();
}
