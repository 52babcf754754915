import { createHash } from 'node:crypto';
import createDebug from 'debug';
import {
  ANY,
  BACKWARDS,
  END,
  FORWARDS,
  KurrentDBClient,
  NO_STREAM,
  START as LOG_START,
  AccessDeniedError,
  AppendConsistencyViolationError,
  DeadlineExceededError,
  MaxAppendSizeExceededError,
  NotLeaderError,
  StreamDeletedError,
  StreamNotFoundError,
  StreamTombstonedError,
  TransactionMaxSizeExceededError,
  UnavailableError,
  UnsupportedError,
  WrongExpectedVersionError,
  eventTypeFilter,
  excludeSystemEvents,
  jsonEvent,
  streamNameFilter,
  type AppendStreamState,
  type Direction,
  type EventData,
  type Filter,
  type ReadRevision,
  type JSONType,
  type Position as LogPosition,
  type ReadPosition,
} from '@kurrent/kurrentdb-client';
import type { EventRegistry, Recorded } from '../../domain/events';
import { replayedResult, type StoredIdentity } from './port';
import { AppendSignal, CatchUpSubscription } from './catch-up-subscription';
import { EMPTY_STREAM, GENESIS, hashOf, isoTime, seal, storedData, type ChainHead, type Seal, type StoredEvent } from './hash-chain';
import { recorded, WrongExpectedVersion, type AppendRequest, type AppendResult, type ChainOrigin, type EventFilter, type EventStore, type ExpectedVersion, type NewEvent, type ReadAllOptions, type ReadAllResult, type ReadStoredOptions, type ReadStoredResult, type StoredFilter, type SubscribeOptions, type SubscriptionHandler } from './port';
import { START, type EventMetadata, type Position } from '../../domain/shared/envelope';
import { DomainError } from '../../domain/shared/errors';

export interface EventStoreDbOptions {
  /** A connection string, e.g. `kurrentdb://localhost:2113?tls=false` (or `esdb://…`; `tlsCAFile=` for a private CA). Reading `$all` needs an admin user on a secure server. */
  url: string;
  registry: EventRegistry;
  /**
   * Put before every stream name, so that several deployments share one cluster
   * without reading each other's events (`$all` is read with a server-side filter
   * on it). Empty: streams keep their bare names, as before the setting existed.
   */
  streamPrefix?: string;
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

/**
 * A multi-stream append (KurrentDB 25.1+) carries metadata as string properties
 * only: the envelope goes whole, as JSON, under one of them.
 */
const ENVELOPE_PROPERTY = 'gatehouse';

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
/** Events per stream read: a long stream comes in pages, never as one unbounded read. */
const STREAM_PAGE = 500;
const PING_TIMEOUT_MS = 5_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * EventStoreDB or KurrentDB through the KurrentDB gRPC client; needs server 22.10
 * or later, whose stream reads carry positions (older ones are found in `$all`).
 *
 * A position is the commit position of an event in `$all`. Gatehouse never opens
 * explicit transactions, so every event commits itself: its commit and prepare
 * positions are the same log position, unique and increasing, and the position an
 * append reports is that of its last event.
 *
 * Several streams are appended at once atomically on KurrentDB 25.1 and later
 * (multi-stream append). On an older server `appendMany` appends one request
 * after another, and the command path (src/shared/streams.ts) orders them so a
 * failure half-way can be undone: reservations are released, one-time links are
 * spent last.
 */
export class EventStoreDbEventStore implements EventStore {
  readonly name = 'eventstoredb';
  /** Until the server says it has no multi-stream append (it is asked once, before anything is written). */
  private multiStream = true;
  readonly signal = new AppendSignal();
  readonly pollMs: number;
  private readonly client: KurrentDBClient;
  private readonly clock: () => Date;
  private readonly prefix: string;
  /** First event id → where its batch landed. Bounded; oldest forgotten first. */
  private readonly appended = new Map<string, { stream: string; streamVersion: number }>();
  private readonly inFlight = new Map<string, Promise<AppendResult>>();

  constructor(private readonly options: EventStoreDbOptions) {
    quietConnectionLog();
    this.client = KurrentDBClient.connectionString(options.url);
    this.pollMs = options.pollMs ?? 200;
    this.clock = options.clock ?? (() => new Date());
    this.prefix = options.streamPrefix ?? '';
  }

  get atomicMultiStream(): boolean {
    return this.multiStream;
  }

  /**
   * What a retry is recognised by (the port's promise): with an exact expectation
   * (a version or `no_stream`) the server itself recognises the same event ids at
   * the same place, from any process; with `any`, only while the batch is still
   * the stream's end, or from this process's memory of its own appends. What ESDB
   * cannot see, this process adds: the same ids sent to another stream
   * (IdempotencyMismatch), and a duplicate sent while the original is still being
   * written, which ESDB drops so that its caller would only see a timeout.
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

  /** All or nothing on KurrentDB 25.1+; on older servers one append after another (see the class comment). */
  async appendMany(requests: AppendRequest[]): Promise<AppendResult[]> {
    if (requests.length > 1 && this.multiStream) {
      try {
        return await this.writeAtomically(requests);
      } catch (error) {
        if (!(error instanceof UnsupportedError)) throw error;
        this.multiStream = false; // asked before anything was written: nothing to undo
      }
    }
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
    const stored = this.toStore(events);
    for (let attempt = 0; ; attempt++) {
      const target = await this.chainTarget(stream, events, expected);
      if ('replay' in target) return this.replay(stream, events, target.replay);
      const seals = seal(stream, target.head, recordedAt, stored);
      const data = stored.map((event, i) =>
        jsonEvent({ id: logEventId(event.eventId), type: event.type, data: event.data as JSONType, metadata: this.envelope(event, recordedAt, seals[i]) as unknown as JSONType }),
      );
      const appended = await this.client.appendToStream(this.logName(stream), data, { streamState: target.revision }).catch((error: unknown) => {
        if (!(error instanceof WrongExpectedVersionError)) throw storeError(error);
        if (expected === 'any' && attempt < 20) return undefined;
        throw new WrongExpectedVersion(stream, expected, actualOf(error.actualState));
      });
      if (appended) return this.landed(stream, events, appended);
    }
  }

  /**
   * One multi-stream append: every batch sealed onto its stream's head and checked
   * against the revision it was sealed on, so the server takes all or none. A
   * conflict on a stream the caller appends to with `any` is sealed again and
   * retried; any other conflict is the caller's.
   */
  private async writeAtomically(requests: AppendRequest[]): Promise<AppendResult[]> {
    const recordedAt = isoTime(this.clock());
    for (let attempt = 0; ; attempt++) {
      const targets = await Promise.all(requests.map(({ stream, events, expected }) => this.chainTarget(stream, events, expected)));
      // A retry of a commit that landed: the server recognises none of it against the revisions just read.
      if (targets.every((t) => 'replay' in t)) return Promise.all(requests.map((r, i) => this.replay(r.stream, r.events, (targets[i] as { replay: Batch }).replay)));
      if (targets.some((t) => 'replay' in t)) throw new WrongExpectedVersion(requests[0].stream, requests[0].expected, 'no_stream');
      const sealedTargets = targets as Array<{ head: ChainHead; revision: AppendStreamState }>;
      const batches = requests.map(({ stream, events }, i) => {
        const stored = this.toStore(events);
        const seals = seal(stream, sealedTargets[i].head, recordedAt, stored);
        return {
          streamName: this.logName(stream),
          expectedState: sealedTargets[i].revision,
          events: stored.map((event, j) =>
            jsonEvent({ id: logEventId(event.eventId), type: event.type, data: event.data as JSONType, metadata: flatEnvelope(this.envelope(event, recordedAt, seals[j])) }),
          ) as EventData[],
        };
      });
      try {
        const { position, responses } = await this.client.multiStreamAppend(batches);
        const at = validCommit(position) ?? (await this.headPosition());
        const results = requests.map(({ stream, events }) => {
          const response = responses.find((r) => r.streamName === this.logName(stream));
          const version = response ? Number(response.revision) : sealedTargets[requests.findIndex((r) => r.stream === stream)].head.version + events.length;
          this.remember(events[0].eventId, { stream, streamVersion: version - events.length + 1 });
          // One position for the whole commit: that of its last event.
          return { version, position: this.seen(at) };
        });
        this.signal.notify();
        return results;
      } catch (error) {
        const conflict = conflictOf(error);
        if (!conflict) throw storeError(error);
        const request = requests.find((r) => this.logName(r.stream) === conflict.streamName);
        if (request?.expected === 'any' && attempt < 20) continue;
        throw new WrongExpectedVersion(request?.stream ?? this.ownName(conflict.streamName), request?.expected ?? 'any', conflict.actual);
      }
    }
  }

  private toStore(events: NewEvent[]): Array<NewEvent & { schemaVersion: number; data: unknown }> {
    return events.map((event) => ({
      ...event,
      schemaVersion: event.schemaVersion ?? this.options.registry.currentVersion(event.type),
      data: storedData(event.data).data,
    }));
  }

  /** Where a batch goes: the head it chains onto and the revision ESDB must find there, or a retry of a batch already at the end. */
  private async chainTarget(stream: string, events: NewEvent[], expected: ExpectedVersion): Promise<{ head: ChainHead; revision: AppendStreamState } | { replay: Batch }> {
    if (expected === 'no_stream') return { head: EMPTY_STREAM, revision: NO_STREAM };
    if (expected === 'any') {
      const [last] = await this.readLog(this.logName(stream), END, 1, BACKWARDS);
      if (!last) return { head: EMPTY_STREAM, revision: NO_STREAM };
      const version = Number(last.revision);
      // The batch is already the stream's end: a retry (ESDB would not recognise it against an exact revision).
      if (envelopeOf(last).eventId === events[events.length - 1].eventId) return { replay: { stream, streamVersion: version - events.length + 1 } };
      return { head: { version, hash: await this.hashOfEvent(last) }, revision: last.revision };
    }
    const [at] = await this.readLog(this.logName(stream), BigInt(expected), 1);
    if (!at) {
      const [last] = await this.readLog(this.logName(stream), END, 1, BACKWARDS);
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
      const line = await this.toStored(earlier);
      prevHash = line.hash ?? hashOf({ ...line, prevHash: line.prevHash ?? prevHash });
    }
    return prevHash;
  }

  private async landed(stream: string, events: NewEvent[], appended: { nextExpectedRevision: bigint; position?: LogPosition }): Promise<AppendResult> {
    const version = Number(appended.nextExpectedRevision);
    // The server answers without a position when it cannot tell where a recognised retry's original landed.
    const position = this.seen(validPosition(appended.position) ?? (await this.positionOf((await this.readLog(this.logName(stream), version, 1))[0])));
    this.remember(events[0].eventId, { stream, streamVersion: version - events.length + 1 });
    this.signal.notify();
    return { version, position };
  }

  private async replay(stream: string, events: NewEvent[], known: Batch): Promise<AppendResult> {
    const stored: StoredIdentity[] = [];
    if (known.stream === stream) {
      for (const e of await this.readLog(this.logName(stream), known.streamVersion, events.length)) {
        stored.push({ eventId: envelopeOf(e).eventId, stream, streamVersion: Number(e.revision), position: await this.positionOf(e) });
      }
    }
    return replayedResult(stream, events, stored);
  }

  private remember(firstEventId: string, batch: Batch): void {
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

  /** The name a stream has on the server: in this deployment's namespace. */
  private logName(stream: string): string {
    return this.prefix + stream;
  }

  private ownName(logName: string): string {
    return logName.startsWith(this.prefix) ? logName.slice(this.prefix.length) : logName;
  }

  async readStream(stream: string, fromVersion = 0): Promise<Recorded[]> {
    const events = await this.readLog(this.logName(stream), fromVersion);
    const recordedEvents: Recorded[] = [];
    for (const e of events) recordedEvents.push(await this.toRecorded(e));
    return recordedEvents;
  }

  /** A stream's raw events, read in pages; a missing stream is empty. */
  private async readLog(logName: string, from: number | ReadRevision, maxCount: number = Number.MAX_SAFE_INTEGER, direction: Direction = FORWARDS): Promise<LogEvent[]> {
    const events: LogEvent[] = [];
    let fromRevision = typeof from === 'number' ? BigInt(from) : from;
    try {
      while (events.length < maxCount) {
        const want = Math.min(STREAM_PAGE, maxCount - events.length);
        let page = 0;
        for await (const { event } of this.client.readStream(logName, { fromRevision, maxCount: want, direction })) {
          page++;
          if (event) events.push(event);
        }
        const last = events[events.length - 1];
        if (page < want || !last) break;
        if (direction === BACKWARDS && last.revision === 0n) break;
        fromRevision = direction === FORWARDS ? last.revision + 1n : last.revision - 1n;
      }
      return events;
    } catch (error) {
      if (error instanceof StreamNotFoundError) return events;
      throw storeError(error);
    }
  }

  async readAll(from: Position, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const { events, next } = await this.scan(from, options.limit ?? 1000, options.filter, (event) => matches(this.ownName(event.streamId), event, options.filter));
    const recordedEvents: Recorded[] = [];
    for (const e of events) recordedEvents.push(await this.toRecorded(e));
    return { events: recordedEvents, next };
  }

  /** The same read of `$all` as readAll: the org and time filters are applied here, the type and stream filters by the server. */
  async readStored(from: Position, options: ReadStoredOptions = {}): Promise<ReadStoredResult> {
    const { events, next } = await this.scan(from, options.limit ?? 1000, options.filter, (event) => matchesStored(this.ownName(event.streamId), event, options.filter));
    const stored: StoredEvent[] = [];
    for (const e of events) stored.push(await this.toStored(e));
    return { events: stored, next };
  }

  /** ESDB events are never amended: events from before the chain stay unchained (hash null), and `verify` counts them. */
  async chainOrigin(): Promise<ChainOrigin> {
    return { legacyEvents: 0 };
  }

  /**
   * `$all` read with a server-side filter (this deployment's streams, or the
   * wanted types), in bounded pages. Where the read came to the end of the log,
   * `next` moves on to the head of `$all` read just before it, so a reader never
   * scans the same foreign or system events again on its next poll.
   */
  private async scan(from: Position, limit: number, filter: EventFilter | undefined, wanted: (event: LogEvent) => boolean): Promise<{ events: LogEvent[]; next: Position }> {
    // +1: a read from a position includes the event at that position, which we skip.
    const pageSize = Math.min(Math.max(limit + 1, 256), 4096);
    const events: LogEvent[] = [];
    let next = from;
    const head = await this.logHead();
    for (;;) {
      let page = 0;
      try {
        for await (const { event } of this.client.readAll({ fromPosition: toReadPosition(next), maxCount: pageSize, filter: this.serverFilter(filter) })) {
          page++;
          if (!event || event.position.commit <= next) continue;
          next = event.position.commit;
          if (!this.isOurs(event) || !wanted(event)) continue;
          events.push(event);
          if (events.length === limit) return { events, next };
        }
      } catch (error) {
        throw storeError(error);
      }
      if (page < pageSize) return { events, next: head > next ? head : next };
    }
  }

  /** What the server leaves out of `$all` for us: other deployments' streams, system events, unwanted types. */
  private serverFilter(filter: EventFilter | undefined): Filter {
    if (filter?.types?.length) return eventTypeFilter({ regex: `^(${filter.types.map(escapeRegex).join('|')})$` });
    const prefix = this.prefix + (filter?.streamPrefix ?? '');
    return prefix ? streamNameFilter({ prefixes: [prefix] }) : excludeSystemEvents();
  }

  /** The position of the last event in `$all`, whoever wrote it (START for an empty log). */
  private async logHead(): Promise<Position> {
    try {
      for await (const { event } of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 })) {
        if (event) return event.position.commit;
      }
      return START;
    } catch (error) {
      throw storeError(error);
    }
  }

  /**
   * The last Gatehouse event in `$all`: one backward read of one event, filtered
   * by the server to this deployment's streams (it stops at the first match),
   * never below the highest position this process has seen already.
   */
  async headPosition(): Promise<Position> {
    try {
      for await (const { event } of this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1, filter: this.serverFilter(undefined) })) {
        if (event && this.isOurs(event)) return this.seen(event.position.commit);
      }
      return this.knownHead;
    } catch (error) {
      throw storeError(error);
    }
  }

  /** The highest position this process has appended or read. */
  private knownHead: Position = START;
  private seen(position: Position): Position {
    if (position > this.knownHead) this.knownHead = position;
    return position;
  }

  /**
   * Polls `$all` (woken at once by this process's appends) rather than using the
   * server's own subscriptions: the same ordering and checkpoint logic as the other
   * adapters, at the cost of up to `pollMs` delay for events other processes append.
   */
  subscribe(handler: SubscriptionHandler, options: SubscribeOptions) {
    return new CatchUpSubscription(this, handler, options);
  }

  async ping(): Promise<void> {
    const read = this.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 });
    // The client sets no deadline on reads; a readiness check must not hang on an unreachable server.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`EventStoreDB did not answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([(async () => { for await (const _ of read) void _; })(), deadline]);
    } finally {
      clearTimeout(timer);
      void read.return?.();
    }
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  /** The export line's field order (SPEC 5.1): schema version and data as stored. */
  private async toStored(event: LogEvent): Promise<StoredEvent> {
    const stored = envelopeOf(event);
    return {
      eventId: stored.eventId,
      type: event.type,
      schemaVersion: stored.schemaVersion,
      stream: this.ownName(event.streamId),
      streamVersion: Number(event.revision),
      position: await this.positionOf(event),
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

  private async toRecorded(event: LogEvent): Promise<Recorded> {
    const stored = envelopeOf(event);
    const { version, data } = this.options.registry.upcast(event.type, stored.schemaVersion, event.data, { orgId: stored.orgId });
    const envelope = {
      eventId: stored.eventId,
      schemaVersion: version,
      stream: this.ownName(event.streamId),
      streamVersion: Number(event.revision),
      position: await this.positionOf(event),
      recordedAt: new Date(stored.recordedAt),
      orgId: stored.orgId,
      actor: stored.actor,
      realActor: stored.realActor,
      correlationId: stored.correlationId,
      causationId: stored.causationId,
    };
    return recorded(envelope, event.type, data);
  }

  /**
   * An event's place in `$all`. Servers before 22.10 put a sentinel on stream
   * reads (unset 0, or 2^64−1): such an event is looked up in `$all` instead, by a
   * read filtered by the server to its stream name.
   */
  private async positionOf(event: LogEvent | undefined): Promise<Position> {
    if (!event) throw new Error('EventStoreDB returned no event where one was just written');
    const own = validPosition(event.position);
    if (own !== undefined) return own;
    const cached = this.fallbackPositions.get(`${event.streamId}@${event.revision}`);
    if (cached !== undefined) return cached;
    const regex = `^${escapeRegex(event.streamId)}$`;
    for await (const { event: found } of this.client.readAll({ fromPosition: LOG_START, filter: streamNameFilter({ regex }) })) {
      if (!found || found.streamId !== event.streamId) continue;
      const position = validPosition(found.position);
      if (position === undefined) continue;
      this.fallbackPositions.set(`${found.streamId}@${found.revision}`, position);
      if (this.fallbackPositions.size > REMEMBERED_BATCHES) this.fallbackPositions.delete(this.fallbackPositions.keys().next().value!);
      if (found.revision === event.revision) return position;
    }
    throw new Error(`event ${event.revision}@${event.streamId} has no position in $all`);
  }

  private readonly fallbackPositions = new Map<string, Position>();

  private isOurs(event: LogEvent): boolean {
    return !event.type.startsWith('$') && !event.streamId.startsWith('$') && event.streamId.startsWith(this.prefix) && envelopeOrUndefined(event.metadata) !== undefined;
  }
}

interface Batch {
  stream: string;
  streamVersion: number;
}

/** The client's connection log prints the whole connection string, password included: never enable it. */
function quietConnectionLog(): void {
  const enabled = createDebug.disable();
  if (enabled) createDebug.enable(`${enabled},-kdb:connection*`);
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

/** The envelope as string properties, for a multi-stream append; the server's own names kept beside it. */
function flatEnvelope(envelope: StoredEnvelope): Record<string, string> {
  const flat: Record<string, string> = { [ENVELOPE_PROPERTY]: JSON.stringify(envelope) };
  if (envelope.$correlationId) flat.$correlationId = envelope.$correlationId;
  if (envelope.$causationId) flat.$causationId = envelope.$causationId;
  return flat;
}

function isEnvelope(metadata: unknown): metadata is StoredEnvelope {
  if (typeof metadata !== 'object' || metadata === null || metadata instanceof Uint8Array) return false;
  const candidate = metadata as Partial<StoredEnvelope>;
  return typeof candidate.eventId === 'string' && typeof candidate.schemaVersion === 'number';
}

/** The envelope of an event Gatehouse wrote, whichever way it was appended; undefined for anyone else's. */
function envelopeOrUndefined(metadata: unknown): StoredEnvelope | undefined {
  if (isEnvelope(metadata)) return metadata;
  const property = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>)[ENVELOPE_PROPERTY] : undefined;
  if (typeof property !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(property);
    return isEnvelope(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function envelopeOf(event: LogEvent): StoredEnvelope {
  const envelope = envelopeOrUndefined(event.metadata);
  if (!envelope) throw new Error(`event ${event.revision}@${event.streamId} was not written by Gatehouse (no envelope in its metadata)`);
  return envelope;
}

/**
 * A log position, or undefined for the sentinels older servers put on stream reads
 * (unset 0, or 2^64−1) and for a position whose commit and prepare differ (an
 * explicit transaction Gatehouse never opens): none of those is a place in `$all`.
 */
function validPosition(position: LogPosition | undefined): Position | undefined {
  if (!position || position.commit !== position.prepare) return undefined;
  return validCommit(position.commit);
}

function validCommit(commit: bigint): Position | undefined {
  return commit === 0n || commit >= MAX_POSITION || commit < 0n ? undefined : commit;
}

const MAX_POSITION = 2n ** 64n - 1n;

function actualOf(state: unknown): number | 'no_stream' {
  return typeof state === 'bigint' ? Number(state) : 'no_stream';
}

/** The stream and its actual revision when a multi-stream append was refused for an expectation. */
function conflictOf(error: unknown): { streamName: string; actual: number | 'no_stream' } | undefined {
  if (error instanceof WrongExpectedVersionError) return { streamName: error.streamName, actual: actualOf(error.actualState) };
  if (error instanceof AppendConsistencyViolationError && error.violations.length > 0) {
    const [first] = error.violations;
    return { streamName: first.streamName, actual: actualOf(first.actualState) };
  }
  return undefined;
}

/** The server's refusals in the catalogue's words: an election or a lost connection is worth a retry; the rest is an operator's matter. */
function storeError(error: unknown): unknown {
  if (error instanceof NotLeaderError || error instanceof UnavailableError || error instanceof DeadlineExceededError) {
    return new DomainError('event_store_unavailable', 'the event store is not available right now: try again');
  }
  if (error instanceof MaxAppendSizeExceededError || error instanceof TransactionMaxSizeExceededError) {
    return new DomainError('event_store_refused', 'the event store refused the append: it is larger than its maximum append size');
  }
  if (error instanceof StreamDeletedError || error instanceof StreamTombstonedError) return new DomainError('event_store_refused', 'the event store refused the append: the stream was deleted');
  if (error instanceof AccessDeniedError) return new DomainError('event_store_refused', "the event store refused the request: Gatehouse's user lacks the permission");
  return error;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function matches(stream: string, event: LogEvent, filter: EventFilter | undefined): boolean {
  if (filter?.types && !filter.types.includes(event.type)) return false;
  if (filter?.streamPrefix && !stream.startsWith(filter.streamPrefix)) return false;
  return true;
}

function matchesStored(stream: string, event: LogEvent, filter: StoredFilter | undefined): boolean {
  if (!matches(stream, event, filter)) return false;
  const stored = envelopeOf(event);
  if (filter?.orgId !== undefined && stored.orgId !== filter.orgId) return false;
  const at = Date.parse(stored.recordedAt);
  if (filter?.recordedFrom && at < filter.recordedFrom.getTime()) return false;
  if (filter?.recordedBefore && at >= filter.recordedBefore.getTime()) return false;
  return true;
}
