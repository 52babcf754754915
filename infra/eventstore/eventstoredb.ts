import { createHash } from 'node:crypto';
import {
  BACKWARDS,
  END,
  FORWARDS,
  EventStoreDBClient,
  NO_STREAM,
  START as LOG_START,
  AccessDeniedError,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NotLeaderError,
  StreamDeletedError,
  StreamNotFoundError,
  UnavailableError,
  WrongExpectedVersionError,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type Direction,
  type ReadRevision,
  type JSONType,
  type Position as LogPosition,
  type ReadPosition,
  type StreamingRead,
} from '@eventstore/db-client';
import type { EventRegistry } from '../../domain/shared/event-registry';
import { replayedResult, type StoredIdentity } from './append-rules';
import { AppendSignal, CatchUpSubscription } from './catch-up-subscription';
import { EMPTY_STREAM, GENESIS, hashOf, isoTime, seal, storedData, type ChainHead, type Seal, type StoredEvent } from './hash-chain';
import { recorded, WrongExpectedVersion, type AppendRequest, type AppendResult, type ChainOrigin, type EventFilter, type EventStore, type ExpectedVersion, type NewEvent, type ReadAllOptions, type ReadAllResult, type ReadStoredOptions, type ReadStoredResult, type StoredFilter, type SubscribeOptions, type SubscriptionHandler } from './port';
import { START, type EventMetadata, type Position } from '../../domain/shared/envelope';
import type { Recorded } from '../../domain/events';
import { DomainError } from '../../domain/shared/errors';

export interface EventStoreDbOptions {
  /** A connection string, e.g. `esdb://localhost:2113?tls=false`. Reading `$all` needs an admin user on a secure server. */
  url: string;
  registry: EventRegistry;
  pollMs?: number;
  clock?: () => Date;
}

/** What Gatehouse keeps in an event's metadata. Our own `recordedAt` (not ESDB's `created`) keeps the clock injectable. */
interface StoredEnvelope extends EventMetadata {
  /** Ours, verbatim: the ESDB event id is only derived from it when it is not a UUID. */
  eventId: string;
  $correlationId?: string;
  $causationId?: string;
  schemaVersion: number;
  recordedAt: string;
  /** R-AUD-3; absent on events stored before the hash chain existed (an ESDB event cannot be amended). */
  prevHash?: string;
  hash?: string;
}

/** The fields of an ESDB recorded event this adapter reads (stream reads and `$all` reads both have them). */
interface LogEvent {
  streamId: string;
  type: string;
  revision: bigint;
  data: unknown;
  metadata: unknown;
  position?: LogPosition;
}

/** Batches whose first event id this process appended: enough to answer retries without a round trip. */
const REMEMBERED_BATCHES = 10_000;
const HEAD_PAGE = 100;
/** How far back headPosition looks for a Gatehouse event among foreign ones (100 pages of 100). */
const HEAD_PAGES = 100;
const PING_TIMEOUT_MS = 5_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * EventStoreDB (or KurrentDB) through its gRPC client; needs server 22.10 or later,
 * since older servers do not return positions on stream reads.
 *
 * A position is the commit position of an event in `$all`. Gatehouse never opens
 * explicit transactions, so every event commits itself: its commit and prepare
 * positions are the same log position, unique and increasing, and the position an
 * append reports is that of its last event.
 *
 * Not atomic across streams: `appendMany` appends one request after another, and a
 * failure leaves the earlier ones in place (reserve first, release on failure).
 */
export class EventStoreDbEventStore implements EventStore {
  readonly name = 'eventstoredb';
  readonly atomicMultiStream = false;
  readonly signal = new AppendSignal();
  readonly pollMs: number;
  private readonly client: EventStoreDBClient;
  private readonly clock: () => Date;
  /** First event id → where its batch landed. Bounded; oldest forgotten first. */
  private readonly appended = new Map<string, { stream: string; streamVersion: number }>();
  private readonly inFlight = new Map<string, Promise<AppendResult>>();

  constructor(private readonly options: EventStoreDbOptions) {
    this.client = EventStoreDBClient.connectionString(options.url);
    this.pollMs = options.pollMs ?? 200;
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * ESDB itself recognises a retry of the same ids in the same stream and answers it
   * with the original revision and position. What it cannot see, this process adds:
   * the same ids sent to another stream (IdempotencyMismatch), and a duplicate sent
   * while the original is still being written, which ESDB drops so that its caller
   * would only see a timeout.
   */
  async append(stream: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    const key = events[0].eventId;
    for (let running = this.inFlight.get(key); running; running = this.inFlight.get(key)) {
      await running.catch(() => undefined);
    }
    const known = this.appended.get(key);
    if (known) return this.replay(stream, events, known);

    const attempt = this.write(stream, events, expected);
    this.inFlight.set(key, attempt);
    try {
      return await attempt;
    } finally {
      if (this.inFlight.get(key) === attempt) this.inFlight.delete(key);
    }
  }

  /** Not atomic (see the class comment): one append after another, in order. */
  async appendMany(requests: AppendRequest[]): Promise<AppendResult[]> {
    const results: AppendResult[] = [];
    for (const { stream, events, expected } of requests) results.push(await this.append(stream, events, expected));
    return results;
  }

  /**
   * The batch is sealed onto the stream's head (R-AUD-3) and appended with that
   * head's exact revision, so ESDB's own version check keeps two writers from
   * chaining onto the same head. `any` becomes "the head just read"; when another
   * writer moves it first, the batch is sealed onto the new head and tried again.
   */
  private async write(stream: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    const recordedAt = isoTime(this.clock());
    const stored = events.map((event) => ({
      ...event,
      schemaVersion: event.schemaVersion ?? this.options.registry.currentVersion(event.type),
      data: storedData(event.data).data,
    }));
    for (let attempt = 0; ; attempt++) {
      const target = await this.chainTarget(stream, events, expected);
      if ('replay' in target) return this.replay(stream, events, target.replay);
      const seals = seal(stream, target.head, recordedAt, stored);
      const data = stored.map((event, i) =>
        jsonEvent({ id: logEventId(event.eventId), type: event.type, data: event.data as JSONType, metadata: this.envelope(event, recordedAt, seals[i]) }),
      );
      const appended = await this.client.appendToStream(stream, data, { expectedRevision: target.revision }).catch((error: unknown) => {
        if (!(error instanceof WrongExpectedVersionError)) throw storeError(error);
        if (expected === 'any' && attempt < 20) return undefined;
        const actual = error.actualVersion === NO_STREAM ? 'no_stream' : Number(error.actualVersion);
        throw new WrongExpectedVersion(stream, expected, actual);
      });
      if (appended) return this.landed(stream, events, appended);
    }
  }

  /** Where a batch goes: the head it chains onto and the revision ESDB must find there, or a retry of a batch already at the end. */
  private async chainTarget(
    stream: string,
    events: NewEvent[],
    expected: ExpectedVersion,
  ): Promise<{ head: ChainHead; revision: AppendExpectedRevision } | { replay: { stream: string; streamVersion: number } }> {
    if (expected === 'no_stream') return { head: EMPTY_STREAM, revision: NO_STREAM };
    if (expected === 'any') {
      const [last] = await this.readLog(stream, END, 1, BACKWARDS);
      if (!last) return { head: EMPTY_STREAM, revision: NO_STREAM };
      const version = Number(last.revision);
      // The batch is already the stream's end: a retry (ESDB would not recognise it against an exact revision).
      if (envelopeOf(last).eventId === events[events.length - 1].eventId) return { replay: { stream, streamVersion: version - events.length + 1 } };
      return { head: { version, hash: await this.hashOfEvent(last) }, revision: last.revision };
    }
    const [at] = await this.readLog(stream, BigInt(expected), 1);
    if (!at) {
      const [last] = await this.readLog(stream, END, 1, BACKWARDS);
      throw new WrongExpectedVersion(stream, expected, last ? Number(last.revision) : 'no_stream');
    }
    return { head: { version: expected, hash: await this.hashOfEvent(at) }, revision: BigInt(expected) };
  }

  /**
   * An event's hash; for one stored before the chain existed, derived by the same
   * rule from its stream's start (once per stream: the next append stores hashes).
   */
  private async hashOfEvent(event: LogEvent): Promise<string> {
    const own = envelopeOf(event).hash;
    if (own) return own;
    let prevHash = GENESIS;
    for (const earlier of await this.readLog(event.streamId, 0n, Number(event.revision) + 1)) {
      const line = this.toStored(earlier);
      prevHash = line.hash ?? hashOf({ ...line, prevHash: line.prevHash ?? prevHash });
    }
    return prevHash;
  }

  private async landed(stream: string, events: NewEvent[], appended: { nextExpectedRevision: bigint; position?: LogPosition }): Promise<AppendResult> {
    const version = Number(appended.nextExpectedRevision);
    // The server answers without a position when it cannot tell where a recognised retry's original landed.
    const position = this.seen(validPosition(appended.position) ?? positionOf((await this.readLog(stream, version, 1))[0]));
    this.remember(events[0].eventId, { stream, streamVersion: version - events.length + 1 });
    this.signal.notify();
    return { version, position };
  }

  private async replay(stream: string, events: NewEvent[], known: { stream: string; streamVersion: number }): Promise<AppendResult> {
    const stored: StoredIdentity[] =
      known.stream === stream
        ? (await this.readLog(stream, known.streamVersion, events.length)).map((e) => ({
            eventId: envelopeOf(e).eventId,
            stream: e.streamId,
            streamVersion: Number(e.revision),
            position: positionOf(e),
          }))
        : [];
    return replayedResult(stream, events, stored);
  }

  private remember(firstEventId: string, batch: { stream: string; streamVersion: number }): void {
    this.appended.set(firstEventId, batch);
    if (this.appended.size > REMEMBERED_BATCHES) this.appended.delete(this.appended.keys().next().value!);
  }

  private envelope(event: NewEvent & { schemaVersion: number }, recordedAt: string, sealed: Seal): StoredEnvelope {
    const { actor, realActor, orgId, correlationId, causationId } = event.metadata;
    return {
      eventId: event.eventId,
      schemaVersion: event.schemaVersion,
      recordedAt,
      prevHash: sealed.prevHash,
      hash: sealed.hash,
      actor,
      realActor,
      orgId,
      correlationId,
      causationId,
      // The server's own names, so its projections ($by_correlation_id) see them too.
      $correlationId: correlationId,
      $causationId: causationId ?? event.eventId,
    };
  }

  async readStream(stream: string, fromVersion = 0): Promise<Recorded[]> {
    return (await this.readLog(stream, fromVersion)).map((e) => this.toRecorded(e));
  }

  /** A stream's raw events; a missing stream is empty. */
  private async readLog(
    stream: string,
    from: number | ReadRevision,
    maxCount: number = Number.MAX_SAFE_INTEGER,
    direction: Direction = FORWARDS,
  ): Promise<LogEvent[]> {
    try {
      const fromRevision = typeof from === 'number' ? BigInt(from) : from;
      const resolved = await collect(this.client.readStream(stream, { fromRevision, maxCount, direction }));
      return resolved.flatMap(({ event }) => (event ? [event] : []));
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
  }

  /**
   * The 6.2 client's `readAll` has no server-side filter (it always sends "no
   * filter"), so `$all` is read in pages and filtered here. A filtered read from far
   * back therefore scans everything in between, including other applications' events.
   */
  async readAll(from: Position, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const { events, next } = await this.scan(from, options.limit ?? 1000, (event) => matches(event, options.filter));
    return { events: events.map((e) => this.toRecorded(e)), next };
  }

  /** The same scan of `$all` as readAll: the org and time filters are applied here too. */
  async readStored(from: Position, options: ReadStoredOptions = {}): Promise<ReadStoredResult> {
    const { events, next } = await this.scan(from, options.limit ?? 1000, (event) => matchesStored(event, options.filter));
    return { events: events.map((e) => this.toStored(e)), next };
  }

  /** ESDB events are never amended: events from before the chain stay unchained (hash null), and `verify` counts them. */
  async chainOrigin(): Promise<ChainOrigin> {
    return { legacyEvents: 0 };
  }

  private async scan(from: Position, limit: number, wanted: (event: LogEvent) => boolean): Promise<{ events: LogEvent[]; next: Position }> {
    // +1: a read from a position includes the event at that position, which we skip.
    const pageSize = Math.min(Math.max(limit + 1, 256), 4096);
    const events: LogEvent[] = [];
    let next = from;
    for (;;) {
      const page = await collect(this.client.readAll({ fromPosition: toReadPosition(next), maxCount: pageSize }));
      for (const { event } of page) {
        if (!event || event.position.commit <= next) continue;
        next = event.position.commit;
        if (!isGatehouseEvent(event) || !wanted(event)) continue;
        events.push(event);
        if (events.length === limit) return { events, next };
      }
      if (page.length < pageSize) return { events, next };
    }
  }

  /**
   * The last Gatehouse event in `$all`, found by reading backwards past system and
   * foreign events — a bounded number of pages (every health probe and no-op command
   * asks), never below the highest position this process has seen already.
   */
  async headPosition(): Promise<Position> {
    let before: ReadPosition = END;
    for (let pages = 0; pages < HEAD_PAGES; pages++) {
      const page: AllStreamResolvedEvent[] = await collect(
        this.client.readAll({ direction: BACKWARDS, fromPosition: before, maxCount: HEAD_PAGE }),
      ).catch((error: unknown) => {
        throw storeError(error);
      });
      for (const { event } of page) if (event && isGatehouseEvent(event)) return this.seen(positionOf(event));
      const oldest = page[page.length - 1]?.event;
      if (page.length < HEAD_PAGE || !oldest || oldest.position.commit <= this.knownHead) return this.knownHead;
      before = oldest.position; // a backward read from a position excludes it
    }
    return this.knownHead;
  }

  /** The highest position this process has appended or read. */
  private knownHead: Position = START;
  private seen(position: Position): Position {
    if (position > this.knownHead) this.knownHead = position;
    return position;
  }

  /**
   * Polls `$all` (woken at once by this process's appends) rather than using ESDB's
   * own subscriptions: the same ordering and checkpoint logic as the other adapters,
   * at the cost of up to `pollMs` delay for events other processes append.
   */
  subscribe(handler: SubscriptionHandler, options: SubscribeOptions) {
    return new CatchUpSubscription(this, handler, options);
  }

  async ping(): Promise<void> {
    const read = this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
    // The client sets no deadline on reads; a readiness check must not hang on an unreachable server.
    const timer = setTimeout(() => {
      void read.cancel();
      read.destroy(new Error(`EventStoreDB did not answer within ${PING_TIMEOUT_MS} ms`));
    }, PING_TIMEOUT_MS);
    try {
      await collect(read);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  /** The export line's field order (SPEC 5.1): schema version and data as stored. */
  private toStored(event: LogEvent): StoredEvent {
    const stored = envelopeOf(event);
    return {
      eventId: stored.eventId,
      type: event.type,
      schemaVersion: stored.schemaVersion,
      stream: event.streamId,
      streamVersion: Number(event.revision),
      position: positionOf(event),
      recordedAt: stored.recordedAt,
      actor: stored.actor,
      realActor: stored.realActor ?? null,
      orgId: stored.orgId ?? null,
      correlationId: stored.correlationId,
      causationId: stored.causationId ?? null,
      data: event.data,
      prevHash: stored.prevHash ?? null,
      hash: stored.hash ?? null,
    };
  }

  private toRecorded(event: LogEvent): Recorded {
    const stored = envelopeOf(event);
    const { version, data } = this.options.registry.upcast(event.type, stored.schemaVersion, event.data, { orgId: stored.orgId });
    const envelope = {
      eventId: stored.eventId,
      schemaVersion: version,
      stream: event.streamId,
      streamVersion: Number(event.revision),
      position: positionOf(event),
      recordedAt: new Date(stored.recordedAt),
      orgId: stored.orgId,
      actor: stored.actor,
      realActor: stored.realActor,
      correlationId: stored.correlationId,
      causationId: stored.causationId,
    };
    return recorded(envelope, event.type, data);
  }
}

function toReadPosition(position: Position): ReadPosition {
  return position === START ? LOG_START : { commit: position, prepare: position };
}

/** ESDB event ids must be UUIDs. Ours usually are; any other id maps to a name-based UUID, so a retry still carries the same id. */
function logEventId(eventId: string): string {
  if (UUID.test(eventId)) return eventId;
  const hash = createHash('sha1').update(`gatehouse-event:${eventId}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50; // version 5
  hash[8] = (hash[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function isEnvelope(metadata: unknown): metadata is StoredEnvelope {
  if (typeof metadata !== 'object' || metadata === null || metadata instanceof Uint8Array) return false;
  const candidate = metadata as Partial<StoredEnvelope>;
  return typeof candidate.eventId === 'string' && typeof candidate.schemaVersion === 'number';
}

function envelopeOf(event: LogEvent): StoredEnvelope {
  if (!isEnvelope(event.metadata)) {
    throw new Error(`event ${event.revision}@${event.streamId} was not written by Gatehouse (no envelope in its metadata)`);
  }
  return event.metadata;
}

/**
 * A log position, or undefined for the sentinels older servers put on stream reads
 * (unset 0, or 2^64−1) and for a position whose commit and prepare differ (an
 * explicit transaction Gatehouse never opens): none of those is a place in `$all`.
 */
function validPosition(position: LogPosition | undefined): Position | undefined {
  if (!position || position.commit === 0n || position.commit >= MAX_POSITION || position.commit !== position.prepare) return undefined;
  return position.commit;
}

const MAX_POSITION = 2n ** 64n - 1n;

function positionOf(event: LogEvent | undefined): Position {
  const position = validPosition(event?.position);
  if (position === undefined) throw new Error('EventStoreDB returned an event without a usable position: Gatehouse needs EventStoreDB 22.10 or later (or KurrentDB), whose stream reads carry positions');
  return position;
}

/** The server's refusals in the catalogue's words: an election or a lost connection is worth a retry; the rest is an operator's matter. */
function storeError(error: unknown): unknown {
  if (error instanceof NotLeaderError || error instanceof UnavailableError || error instanceof DeadlineExceededError) {
    return new DomainError('event_store_unavailable', 'the event store is not available right now: try again');
  }
  if (error instanceof MaxAppendSizeExceededError) return new DomainError('event_store_refused', 'the event store refused the append: it is larger than its maximum append size');
  if (error instanceof StreamDeletedError) return new DomainError('event_store_refused', 'the event store refused the append: the stream was deleted');
  if (error instanceof AccessDeniedError) return new DomainError('event_store_refused', "the event store refused the request: Gatehouse's user lacks the permission");
  return error;
}

/**
 * `$all` also holds the server's own events (`$`-types, `$`-streams such as stats,
 * settings, projection state) and possibly other applications' events: readers see
 * only what Gatehouse wrote.
 */
function isGatehouseEvent(event: LogEvent): boolean {
  return !event.type.startsWith('$') && !event.streamId.startsWith('$') && isEnvelope(event.metadata);
}

function matches(event: LogEvent, filter: EventFilter | undefined): boolean {
  if (filter?.types && !filter.types.includes(event.type)) return false;
  if (filter?.streamPrefix && !event.streamId.startsWith(filter.streamPrefix)) return false;
  return true;
}

function matchesStored(event: LogEvent, filter: StoredFilter | undefined): boolean {
  if (!matches(event, filter)) return false;
  const stored = envelopeOf(event);
  if (filter?.orgId !== undefined && stored.orgId !== filter.orgId) return false;
  const at = Date.parse(stored.recordedAt);
  if (filter?.recordedFrom && at < filter.recordedFrom.getTime()) return false;
  if (filter?.recordedBefore && at >= filter.recordedBefore.getTime()) return false;
  return true;
}

/** Reads a finite read to its end; a read that fails (e.g. stream not found) rejects. */
async function collect<E>(read: StreamingRead<E>): Promise<E[]> {
  const items: E[] = [];
  for await (const item of read) items.push(item);
  return items;
}
