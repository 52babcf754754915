import { IdempotencyMismatch, WrongExpectedVersion, type AppendResult, type ExpectedVersion, type NewEvent } from './port';
import type { Position } from '../../domain/shared/envelope';

export interface StoredIdentity {
  eventId: string;
  stream: string;
  streamVersion: number;
  position: Position;
}

/**
 * An append whose first event id is already stored is a retry: it succeeds with
 * the first result only if the whole batch is stored, in order, in that stream.
 */
export function replayedResult(stream: string, events: NewEvent[], stored: StoredIdentity[]): AppendResult {
  const byId = new Map(stored.map((s) => [s.eventId, s]));
  const first = byId.get(events[0].eventId);
  if (!first) throw new IdempotencyMismatch(stream, events[0].eventId);
  events.forEach((event, i) => {
    const found = byId.get(event.eventId);
    if (!found || found.stream !== stream || found.streamVersion !== first.streamVersion + i) {
      throw new IdempotencyMismatch(stream, event.eventId);
    }
  });
  const last = byId.get(events[events.length - 1].eventId)!;
  return { version: last.streamVersion, position: last.position };
}

export function checkExpected(stream: string, expected: ExpectedVersion, current: number): void {
  if (expected === 'any') return;
  const ok = expected === 'no_stream' ? current === -1 : current === expected;
  if (!ok) throw new WrongExpectedVersion(stream, expected, current === -1 ? 'no_stream' : current);
}
