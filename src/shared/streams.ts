import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Context, Decider } from '../../domain/shared/decider';
import { WrongExpectedVersion, type AppendRequest, type AppendResult, type EventStore } from '../../infra/eventstore/port';
import type { Actor, Position } from '../../domain/shared/envelope';
import { releaseOf, type GatehouseEvent, type Recorded } from '../../domain/events';
import { EVENT_STORE } from './tokens';
import { traced } from './tracing';

/** Where a command comes from: copied onto every event it causes (R-AUD-1). */
export interface CommandMeta {
  actor: Actor;
  realActor?: Actor;
  orgId?: string;
  correlationId: string;
  causationId?: string;
}

/** How a stream's events fold into state: the half of a decider that loading needs. */
export interface Fold<S, E extends GatehouseEvent = GatehouseEvent> {
  initialState: () => S;
  evolve: (state: S, event: E) => S;
}

export interface Loaded<S, E extends GatehouseEvent = any> {
  stream: string;
  decider: Fold<S, E>;
  state: S;
  /** Version of the stream's last event; -1 when the stream does not exist. */
  version: number;
}

/** Events decided on a loaded stream, to append against the version they were decided on. */
export interface Change {
  /** Of any state: committing needs only its stream, version and fold. */
  from: Loaded<any>;
  events: GatehouseEvent[];
  /** `any` for a record no decision reads (sign-in activity): appended whatever the stream's version, never cached. */
  expected?: 'any';
  /** The org these events belong to, where one command changes several orgs' streams (an erasure): else the command's. */
  orgId?: string;
}

const RECORD_ONLY: Fold<null> = { initialState: () => null, evolve: () => null };

/** Events for a stream that nothing decides on (activity): appended at its end whatever came before. */
export function record(stream: string, events: GatehouseEvent[]): Change {
  return { from: { stream, decider: RECORD_ONLY, state: null, version: -1 }, events, expected: 'any' };
}

export interface CommandResult {
  /** Global position of the command's last event (R-LIST-5); the current head when nothing changed. */
  position: Position;
  events: Recorded[] | GatehouseEvent[];
}

const MAX_ATTEMPTS = 5;
const CACHE_LIMIT = 50_000;
const CACHE_EVICTED_AT_ONCE = CACHE_LIMIT / 10;

/**
 * The command path: load streams (from a cache of folded state, reading only the
 * events appended since), decide, append with the expected versions, and start
 * over on a conflict, a bounded number of times.
 */
@Injectable()
export class Streams {
  private readonly cache = new Map<string, { version: number; state: unknown; decider: unknown }>();
  /** Tail of the queue of commands per key: commands on one stream run one at a time in this process. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(@Inject(EVENT_STORE) readonly store: EventStore) {}

  async load<S, E extends GatehouseEvent>(stream: string, decider: Fold<S, E>): Promise<Loaded<S, E>> {
    const cached = this.cache.get(stream);
    let state = (cached?.decider === decider ? cached.state : decider.initialState()) as S;
    let version = cached?.decider === decider ? cached.version : -1;
    const events = await this.store.readStream(stream, version + 1);
    // A stream holds only the events of the decider that writes it.
    for (const event of events) state = decider.evolve(state, { type: event.type, data: event.data } as E);
    if (events.length > 0) version = events[events.length - 1].streamVersion;
    if (version >= 0) this.remember(stream, version, state, decider);
    return { stream, decider, state, version };
  }

  /**
   * Appends every change at once (atomically where the store can), each against the version it was decided on.
   * `cache: false` (a bulk import's thousands of new streams, seldom read again soon) keeps their states out of the cache.
   */
  commit(changes: Change[], meta: CommandMeta, options: { cache?: boolean } = {}): Promise<CommandResult> {
    const writes = changes.filter((c) => c.events.length > 0);
    return traced('commit', { 'gatehouse.streams': writes.length, 'gatehouse.events': writes.reduce((n, c) => n + c.events.length, 0) }, () => this.append(changes, meta, options.cache ?? true));
  }

  private async append(changes: Change[], meta: CommandMeta, cache: boolean): Promise<CommandResult> {
    let writes = changes.filter((c) => c.events.length > 0);
    if (writes.length === 0) return { position: await this.store.headPosition(), events: [] };
    const request = ({ from, events, expected, orgId }: Change) => ({
      stream: from.stream,
      expected: expected ?? (from.version === -1 ? ('no_stream' as const) : from.version),
      events: events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata: orgId ? { ...meta, orgId } : meta })),
    });
    let results: AppendResult[];
    if (this.store.atomicMultiStream || writes.length === 1) {
      results = await this.store.appendMany(writes.map(request));
    } else {
      // A store that appends stream by stream: spend one-time links last, so nothing after them can fail.
      // Records (which cannot conflict) after the decisions, so a refused decision leaves no record of what did not happen.
      const rank = (w: Change) => (spendsLink(w) ? 2 : w.expected === 'any' ? 1 : 0);
      writes = [...writes].sort((a, b) => rank(a) - rank(b));
      results = await this.appendInTurn(writes, writes.map(request), meta);
    }
    writes.forEach(({ from, events, expected }, i) => {
      if (expected === 'any') return;
      // Not cached: a cached older state stays right, as a load reads the events after its version.
      if (!cache) return;
      const state = events.reduce((s, e) => from.decider.evolve(s, e), from.state);
      this.remember(from.stream, results[i].version, state, from.decider);
    });
    const position = results.reduce((max, r) => (r.position > max ? r.position : max), 0n);
    return { position, events: writes.flatMap((w) => w.events) };
  }

  /**
   * One append after another; if one fails, the reservations already made by this
   * commit are released again (each against the version it just got), so a retry
   * finds the email, username, identity or code free rather than held by a ghost.
   */
  private async appendInTurn(writes: Change[], requests: AppendRequest[], meta: CommandMeta): Promise<AppendResult[]> {
    const results: AppendResult[] = [];
    for (const request of requests) {
      try {
        results.push((await this.store.appendMany([request]))[0]);
      } catch (error) {
        for (let i = results.length - 1; i >= 0; i--) {
          const releases = writes[i].events.flatMap((e) => releaseOf(e) ?? []);
          if (releases.length === 0) continue;
          this.cache.delete(requests[i].stream);
          await this.store
            .append(requests[i].stream, releases.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata: meta })), results[i].version)
            .catch(() => undefined); // someone else moved it on: theirs to keep
        }
        throw error;
      }
    }
    return results;
  }

  /**
   * Runs `attempt` again when another writer changed a stream it read in the
   * meantime. With a `key` (the stream the command is about), commands on that key
   * queue here instead of racing each other into conflicts; only other processes can still conflict.
   */
  retrying<T>(attempt: () => Promise<T>, key?: string): Promise<T> {
    if (!key) return this.attempt(attempt);
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(() => this.attempt(attempt));
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  private async attempt<T>(attempt: () => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof WrongExpectedVersion) || i >= MAX_ATTEMPTS) throw error;
        this.cache.delete(error.stream);
      }
    }
  }

  /** The common case: one stream, one decider. */
  handle<S, C, E extends GatehouseEvent, X extends Context>(
    stream: string,
    decider: Decider<S, C, E, X>,
    command: C,
    context: X,
    meta: CommandMeta,
  ): Promise<CommandResult> {
    return this.retrying(async () => {
      const loaded = await this.load(stream, decider);
      return this.commit([{ from: loaded, events: decider.decide(loaded.state, command, context) }], meta);
    }, stream);
  }

  /**
   * Least recently used goes first: a Map keeps insertion order, so a touched stream moves to the end.
   * The oldest tenth goes at once: a Map's iterator walks past every deleted slot at its front, so evicting
   * one entry per insert made each insert cost the evictions before it (a bulk import slowed as it grew).
   */
  private remember(stream: string, version: number, state: unknown, decider: unknown): void {
    if (!this.cache.delete(stream) && this.cache.size >= CACHE_LIMIT) {
      let evict = CACHE_EVICTED_AT_ONCE;
      for (const oldest of this.cache.keys()) {
        this.cache.delete(oldest);
        if (--evict === 0) break;
      }
    }
    this.cache.set(stream, { version, state, decider });
  }
}

/** A change that uses up a one-time link (R-CRED-2): on a store without multi-stream appends it goes last. */
const spendsLink = (change: Change) => change.events.some((e) => e.type === 'LinkUsed');
