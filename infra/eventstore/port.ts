/**
 * The event store port. Every adapter (SQLite, PostgreSQL, EventStoreDB) passes
 * test/contract/event-store.contract.ts.
 * The envelope and the events it reads back are domain vocabulary (domain/events.ts);
 * an adapter stores any type and data, and reads them back through the registry.
 */

import type { Recorded } from '../../domain/events';
import type { Envelope, EventMetadata, Position } from '../../domain/shared/envelope';
import type { ErrorCode } from '../../domain/shared/errors';
import type { StoredEvent } from './hash-chain';

export type { StoredEvent } from './hash-chain';

export interface NewEvent<D = unknown> {
  eventId: string;
  type: string;
  data: D;
  /** Defaults to the registry's current version of `type`. */
  schemaVersion?: number;
  metadata: EventMetadata;
}

/** `no_stream`: the stream must not exist. A number: the version of the stream's last event. */
export type ExpectedVersion = 'any' | 'no_stream' | number;

export interface AppendRequest {
  stream: string;
  events: NewEvent[];
  expected: ExpectedVersion;
}

export interface AppendResult {
  /** Version of the stream's last event after the append. */
  version: number;
  /** Position of the last event appended. */
  position: Position;
}

export class WrongExpectedVersion extends Error {
  readonly code = 'wrong_expected_version' satisfies ErrorCode;
  constructor(
    readonly stream: string,
    readonly expected: ExpectedVersion,
    readonly actual: number | 'no_stream',
  ) {
    super(`stream ${stream}: expected version ${String(expected)}, actual ${String(actual)}`);
  }
}

/** The same event id was appended before, but not as this exact batch. */
export class IdempotencyMismatch extends Error {
  readonly code = 'idempotency_mismatch' satisfies ErrorCode;
  constructor(readonly stream: string, readonly eventId: string) {
    super(`event ${eventId} already exists but not as the same batch in ${stream}`);
  }
}

export interface EventFilter {
  types?: readonly string[];
  streamPrefix?: string;
}

export interface ReadAllOptions {
  limit?: number;
  filter?: EventFilter;
}

export interface ReadAllResult {
  events: Recorded[];
  /**
   * Where the next read continues from. When a filter skips events it is past
   * the last returned event, so a filtered reader never re-scans what it skipped.
   */
  next: Position;
}

/** What the history export selects by (R-AUD-2), besides what any log reader may. */
export interface StoredFilter extends EventFilter {
  orgId?: string;
  /** Inclusive. */
  recordedFrom?: Date;
  /** Exclusive. */
  recordedBefore?: Date;
}

export interface ReadStoredOptions {
  limit?: number;
  filter?: StoredFilter;
}

export interface ReadStoredResult {
  events: StoredEvent[];
  /** As in ReadAllResult: past every event the filter skipped. */
  next: Position;
}

/**
 * How a store's hash chain began (R-AUD-3). A store that held events before the
 * chain existed chained them once, when it was upgraded: their hashes prove them
 * unchanged since `chainedAt`, not since they were appended.
 */
export interface ChainOrigin {
  chainedAt?: string;
  /** Events chained at the upgrade rather than when appended; 0 for a store that always had the chain. */
  legacyEvents: number;
  /** The position of the last of them. */
  legacyThrough?: Position;
}

export type SubscriptionHandler = (events: Recorded[], checkpoint: Position) => Promise<void> | void;

export interface SubscribeOptions {
  /** Exclusive: the subscription delivers events after this position. */
  from: Position;
  filter?: EventFilter;
  batchSize?: number;
  /** Called when the handler throws; the subscription stops. */
  onError?: (error: unknown) => void;
}

export interface Subscription {
  /** Resolves once the subscription has delivered everything that existed when it started. */
  readonly caughtUp: Promise<void>;
  /** Last position handed to the handler. */
  readonly checkpoint: Position;
  stop(): Promise<void>;
}

export interface EventStore {
  readonly name: string;
  /**
   * Appends to one stream. Appending the same event ids again returns the first
   * result: from any process when the retry carries the same exact expectation (a
   * version, or `no_stream`); with `any`, while the batch is still the stream's
   * end, or from the process that appended it. A caller that must recognise a
   * retry after a crash appends with an exact expectation (e.g. seats.consumer).
   */
  append(stream: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult>;
  /**
   * Appends to several streams at once. Atomic where the store can be (SQLite,
   * PostgreSQL, KurrentDB 25.1+): all or none, and each result may carry the
   * position of the whole append's last event. Where it cannot, the requests are
   * appended one after another, in order, and a failure leaves exactly those
   * before it. `atomicMultiStream` says which.
   */
  appendMany(requests: AppendRequest[]): Promise<AppendResult[]>;
  readonly atomicMultiStream: boolean;
  /** Events of one stream from `fromVersion` (inclusive) on. */
  readStream(stream: string, fromVersion?: number): Promise<Recorded[]>;
  /** Events after `from` in global order. */
  readAll(from: Position, options?: ReadAllOptions): Promise<ReadAllResult>;
  /** Events after `from` in global order exactly as stored (schema version and data before any upcast), with their hashes (R-AUD-2, R-AUD-3). */
  readStored(from: Position, options?: ReadStoredOptions): Promise<ReadStoredResult>;
  chainOrigin(): Promise<ChainOrigin>;
  /** The position of the last event readers can see now. */
  headPosition(): Promise<Position>;
  /** Catch up from a checkpoint, then stay live. */
  subscribe(handler: SubscriptionHandler, options: SubscribeOptions): Subscription;
  /** Readiness: resolves if the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A stored row as the vocabulary: the one place a read-back becomes a typed event.
 * The registry has upcast its data to the current version; a type the vocabulary
 * does not know (a test's, or a newer deployment's) passes through unchanged.
 */
export function recorded(envelope: Envelope, type: string, data: unknown): Recorded {
  return { ...envelope, type, data } as Recorded;
}

// ---------------------------------------------------------------------------
// The append rules every adapter keeps: expected versions, and a retried append's first result.

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
