import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { EventStore } from '../../infra/eventstore/port';
import { START } from '../../domain/shared/envelope';
import { ChainVerifier, type BrokenLink, type ChainCounts, type ChainedLine } from './chain-verifier';

export type Verdict = { ok: true; counts: ChainCounts } | { ok: false; counts: ChainCounts; broken: BrokenLink & { line?: number } };

type Progress = (fields: Record<string, unknown>) => void;

const PAGE = 5000;
const PROGRESS_EVERY_MS = 2000;

/** R-AUD-3: every stream of the live store, from its first event, in the order of the log. */
export async function verifyStore(store: EventStore, progress: Progress): Promise<Verdict> {
  const verifier = new ChainVerifier('store');
  const tick = ticker();
  let at = START;
  for (;;) {
    const { events, next } = await store.readStored(at, { limit: PAGE });
    for (const event of events) {
      const broken = verifier.check(event);
      if (broken) return { ok: false, counts: verifier.counts, broken };
    }
    at = next;
    if (tick()) progress({ msg: 'verify progress', events: verifier.counts.events, streams: verifier.counts.streams, position: String(at) });
    if (events.length < PAGE) break;
  }
  const broken = verifier.finish();
  return broken ? { ok: false, counts: verifier.counts, broken } : { ok: true, counts: verifier.counts };
}

/** R-AUD-3: an export (JSON lines), read line by line; each stream's first line is taken as given. */
export async function verifyFile(path: string, progress: Progress): Promise<Verdict> {
  const verifier = new ChainVerifier('file');
  const tick = ticker();
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    const broken = verifier.check(exportLine(text, n));
    if (broken) {
      lines.close();
      return { ok: false, counts: verifier.counts, broken: { ...broken, line: n } };
    }
    if (tick()) progress({ msg: 'verify progress', lines: n, events: verifier.counts.events, streams: verifier.counts.streams });
  }
  return { ok: true, counts: verifier.counts };
}

function exportLine(text: string, n: number): ChainedLine {
  let line: unknown;
  try {
    line = JSON.parse(text);
  } catch {
    throw new Error(`line ${n} is not JSON`);
  }
  const candidate = line as Partial<ChainedLine>;
  const shaped =
    typeof line === 'object' && line !== null &&
    typeof candidate.stream === 'string' && typeof candidate.eventId === 'string' && Number.isInteger(candidate.streamVersion) &&
    (typeof candidate.prevHash === 'string' || candidate.prevHash === null) && (typeof candidate.hash === 'string' || candidate.hash === null);
  if (!shaped) throw new Error(`line ${n} is not a history export line (it needs eventId, stream, streamVersion, prevHash and hash)`);
  return candidate as ChainedLine;
}

function ticker(): () => boolean {
  let last = Date.now();
  return () => {
    if (Date.now() - last < PROGRESS_EVERY_MS) return false;
    last = Date.now();
    return true;
  };
}
