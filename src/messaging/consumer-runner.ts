import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { recorded, type EventStore, type Subscription } from '../../infra/eventstore/port';
import type { Envelope, Position } from '../../domain/shared/envelope';
import { isEventType, type Recorded } from '../../domain/events';
import type { Changes, ReadStore } from '../../infra/readstore/port';
import type { Doc } from '../../projections/projection';
import { DomainError } from '../../domain/shared/errors';
import { Settings } from '../config/config';
import { CLOCK, EVENT_STORE, LEASING, MESSAGE_BUS, PERSONAL_DATA, READ_STORE, type Clock } from '../shared/tokens';
import type { PersonalData } from '../../infra/personal/personal-data';
import { ConsumerScope, PermanentFailure, type Consumer } from './consumer';
import { errorName } from '../shared/logging';
import type { BusConsumer, MessageBus } from '../../infra/messaging/port';
import { fromEnvelope } from '../../infra/messaging/wire';
import { DEAD_LETTER_SINK, DEAD_LETTERS, type DeadLetter, type DeadLetterSink } from '../shared/dead-letters';
import { Supervisor, type Leasing, type Worker, type WorkerRun } from '../shared/supervisor';

export const CONSUMERS = Symbol('Consumers');
/** Events a consumer has handled, by id: Kafka delivers at least once, so a redelivery is recognised here. */
export const HANDLED = 'consumer_handled';

const checkpointOf = (consumer: string) => `consumer:${consumer}`;
/** The supervised worker of a consumer, as /health and /metrics name it. */
export const consumerWorker = (consumer: string) => `consumer:${consumer}`;

/**
 * Runs every consumer from its checkpoint on the log, one event at a time in log
 * order: fold, carry out the effect (retried with doubling backoff), then write
 * the consumer's documents with the checkpoint. A crash between the effect and
 * that write repeats the effect once on restart, which is why effects carry an
 * idempotency key where the other side takes one (Stripe) — at-least-once.
 *
 * Each consumer runs as a supervised worker: any error of the log, the read store
 * or Kafka (an effect's own failures are retried, then dead-lettered, below) stops
 * it and the supervisor starts it again from its checkpoint after a jittered,
 * doubling wait, forever. Kafka consumer groups connect inside that start, in the
 * background: a broker that is down delays consuming, never the service's start.
 */
@Injectable()
export class ConsumerRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('consumers');
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly failures = new Map<string, number>();
  private running = true;
  /** Kafka mode: each consumer's group, and per partition the next offset it will handle. */
  private readonly groups = new Map<string, { consumer?: BusConsumer; next: Map<number, bigint>; position: Position }>();
  /** Restarts each consumer after any failure. */
  readonly supervisor: Supervisor;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(CONSUMERS) private readonly consumers: Consumer[],
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly settings: Settings,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus | null,
    @Optional() @Inject(DEAD_LETTER_SINK) private readonly sink?: DeadLetterSink,
    @Optional() @Inject(LEASING) leasing?: Leasing,
    @Optional() @Inject(PERSONAL_DATA) private readonly personal?: PersonalData,
  ) {
    this.supervisor = new Supervisor(this.logger, clock);
    // Only consumers that follow the log take leases: on Kafka, the consumer group shares the work out.
    this.supervisor.leasing = leasing;
  }

  /** The supervised workers, one per consumer (none with CONSUMERS=off). */
  workers(): Worker[] {
    return this.supervisor.all();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.readStore.ensureIndexes([{ collection: DEAD_LETTERS, fields: ['status', 'failedAt', 'id'] }]);
    if (this.settings.CONSUMERS === 'off') return;
    const bus = this.bus;
    if (bus) {
      // A broker that is down must not hold up the service's start: then in the background.
      const reachable = await bus.reach().then(() => true, () => false);
      for (const consumer of this.consumers) {
        await this.supervisor.supervise(
          {
            name: consumerWorker(consumer.name),
            start: (fail) => this.followBus(bus, consumer, fail),
            position: () => this.groups.get(consumer.name)?.position ?? 0n,
            filter: { types: consumer.handles },
            backlog: () => this.groupBacklog(bus, consumer.name),
          },
          { background: !reachable },
        );
      }
      return;
    }
    for (const consumer of this.consumers) {
      await this.supervisor.supervise({
        name: consumerWorker(consumer.name),
        start: async (fail) => {
          const from = await this.readStore.checkpoint(checkpointOf(consumer.name));
          const subscription = this.store.subscribe((events, next) => this.deliverBatch(consumer, events, next), {
            from,
            filter: { types: consumer.handles },
            batchSize: 100,
            onError: fail,
          });
          this.subscriptions.set(consumer.name, subscription);
          return subscription;
        },
        position: () => this.subscriptions.get(consumer.name)?.checkpoint ?? 0n,
        filter: { types: consumer.handles },
        lease: consumerWorker(consumer.name),
      });
    }
  }

  /** With Kafka configured, consumers read `gatehouse.events` (the design); without, the log itself. */
  get fromKafka(): boolean {
    return !!this.bus;
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.supervisor.stop();
    await Promise.all([...this.subscriptions.values()].map((s) => s.stop()));
    await Promise.all([...this.groups.values()].map((g) => g.consumer?.close()));
    this.groups.clear();
  }

  /**
   * One consumer group per consumer on `gatehouse.events`. Offsets are committed
   * after a message is handled; a message delivered again (a rebalance, a crash
   * before the commit) is recognised by its event id and not handled twice.
   */
  private async followBus(bus: MessageBus, consumer: Consumer, fail: (error: unknown) => void): Promise<WorkerRun> {
    // Its position (for its lag): the last event it recorded, until the group delivers more.
    const state: { consumer?: BusConsumer; next: Map<number, bigint>; position: Position } = { next: new Map(), position: 0n };
    const stop = async () => {
      if (this.groups.get(consumer.name) === state) this.groups.delete(consumer.name);
      await state.consumer?.close();
    };
    try {
      await bus.reach();
      await bus.ensureTopics();
      state.position = await this.readStore.checkpoint(`consumer:${consumer.name}@kafka`);
      this.groups.set(consumer.name, state);
      state.consumer = await bus.consume({
        group: this.groupOf(consumer.name),
        topic: bus.topics.events,
        onFailure: fail,
        handle: async ({ partition, offset, value, headers }, heartbeat) => {
          const type = headers['gatehouse-event-type'];
          if (type === undefined || (isEventType(type) && consumer.handles.includes(type))) {
            let event: Recorded | undefined;
            try {
              event = fromEnvelope(value);
            } catch (error) {
              await this.poison(bus, consumer, partition, offset, value, error);
            }
            // Personal data travels sealed: opened as the log's own readers open it (erased reads as erased).
            // A key store that fails here fails the run, which the supervisor restarts; the message is not poison.
            if (event && this.personal) [event] = await this.personal.open([event]);
            if (event && consumer.handles.includes(event.type)) await this.deliver(consumer, event, heartbeat);
          }
          const position = /^\d+$/.test(headers['gatehouse-position'] ?? '') ? BigInt(headers['gatehouse-position']) : 0n;
          if (position > state.position) state.position = position;
          state.next.set(partition, offset + 1n);
        },
      });
    } catch (error) {
      await stop();
      throw error;
    }
    this.logger.log({ message: 'consumer follows Kafka', consumer: consumer.name, topic: bus.topics.events });
    return { stop };
  }

  /** Behind since: per consumer, when its group was first seen with messages left to read. */
  private readonly behindSince = new Map<string, Date>();

  /**
   * What the consumer's group (all replicas together) has not read on `gatehouse.events`: the same
   * answer from every replica, whichever partitions this one was given.
   */
  private async groupBacklog(bus: MessageBus, consumer: string): Promise<{ events: number; behindSince?: Date }> {
    const [ends, committed] = await Promise.all([bus.endOffsets(bus.topics.events), bus.committedOffsets(this.groupOf(consumer), bus.topics.events)]);
    const read = this.groups.get(consumer)?.next;
    let events = 0n;
    for (const [partition, end] of ends) {
      const mine = read?.get(partition) ?? 0n;
      const group = committed.get(partition) ?? 0n;
      const at = mine > group ? mine : group;
      if (end > at) events += end - at;
    }
    if (events === 0n) this.behindSince.delete(consumer);
    else if (!this.behindSince.has(consumer)) this.behindSince.set(consumer, this.clock());
    return { events: Number(events), behindSince: this.behindSince.get(consumer) };
  }

  private groupOf(consumer: string): string {
    return `${this.bus!.topics.groupPrefix}.consumer.${consumer}`;
  }

  /** A message on gatehouse.events that is no event: kept as a dead letter, and the consumer goes on. */
  private async poison(bus: MessageBus, consumer: Consumer, partition: number, offset: bigint, value: string, error: unknown): Promise<void> {
    const now = this.clock().toISOString();
    const events = bus.topics.events;
    const letter: DeadLetter = { id: `${consumer.name}:kafka-${partition}-${offset}`, consumer: consumer.name, eventId: '', eventType: 'malformed', stream: `${events}/${partition}`, position: offset.toString(), reason: `malformed message: ${reasonOf(error)}`, tries: 1, failedAt: now, status: 'dead', raw: value.slice(0, 10_000) };
    await writeAll(this.readStore, { puts: [{ collection: DEAD_LETTERS, doc: letter }], deletes: [] }, { projection: `consumer:${consumer.name}@kafka`, position: 0n });
    this.logger.error({ message: 'malformed message dead-lettered', consumer: consumer.name, partition, offset: offset.toString(), error: errorName(error) });
    await this.sink?.publishDeadLetter(letter.stream, { source: events, ...letter }).catch(() => undefined);
  }

  /**
   * Resolves once every consumer has handled the whole log, including what the
   * consumers themselves appended meanwhile (a seat change's record), so the log
   * is quiet as far as they are concerned (tests and the CLI).
   */
  async settled(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const head = await this.store.headPosition();
      await this.reach(head, until);
      if ((await this.store.headPosition()) === head) return;
    }
  }

  private async reach(head: Position, until: number): Promise<void> {
    const wait = async (done: () => boolean | Promise<boolean>) => {
      while (!(await done())) {
        if (Date.now() > until) throw new Error('consumers did not reach the head of the log in time');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    if (!this.bus || this.groups.size === 0) return wait(() => ![...this.subscriptions.values()].some((s) => s.checkpoint < head));
    // Kafka: published up to the head, then every partition read up to its end.
    await wait(() => (this.sink?.position ?? 0n) >= head);
    const ends = await this.bus.endOffsets(this.bus.topics.events);
    for (const [name, group] of this.groups) {
      const committed = await this.bus.committedOffsets(this.groupOf(name), this.bus.topics.events);
      await wait(() => [...ends].every(([partition, end]) => (group.next.get(partition) ?? committed.get(partition) ?? 0n) >= end));
    }
  }

  status(): Array<{ consumer: string; source: 'log' | 'kafka'; position: string; failures: number }> {
    if (this.groups.size > 0) return [...this.groups].map(([consumer, g]) => ({ consumer, source: 'kafka' as const, position: g.position.toString(), failures: this.failures.get(consumer) ?? 0 }));
    return [...this.subscriptions].map(([consumer, s]) => ({ consumer, source: 'log' as const, position: s.checkpoint.toString(), failures: this.failures.get(consumer) ?? 0 }));
  }

  private async deliverBatch(consumer: Consumer, events: Recorded[], next: Position): Promise<void> {
    for (const event of events) {
      if (!this.running) throw new Error('stopping');
      await this.deliver(consumer, event);
      // Effects of other consumers' events wait for none of these: give requests a turn.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await writeAll(this.readStore, { puts: [], deletes: [] }, { projection: checkpointOf(consumer.name), position: next });
  }

  private async deliver(consumer: Consumer, event: Recorded, heartbeat?: () => Promise<void>): Promise<void> {
    const maxTries = this.settings.CONSUMER_MAX_TRIES;
    const handledId = `${consumer.name}:${event.eventId}`;
    const kafka = heartbeat !== undefined;
    const checkpoint = { projection: kafka ? `consumer:${consumer.name}@kafka` : checkpointOf(consumer.name), position: event.position };
    // Recorded from either source, so a deployment that moves between the log and Kafka sends nothing twice.
    const handled = [{ collection: HANDLED, doc: { id: handledId, at: this.clock().toISOString() } }];
    if ((await this.readStore.getMany(HANDLED, [handledId])).has(handledId)) return;
    for (let tries = 1; ; tries++) {
      await heartbeat?.().catch(() => undefined);
      const scope = new ConsumerScope(this.readStore, event);
      let failure: unknown;
      try {
        const effect = await consumer.handle(event, scope, false);
        if (effect) await effect();
      } catch (error) {
        failure = error;
      }
      if (failure === undefined) {
        await writeAll(this.readStore, scope.changes(handled), checkpoint);
        return;
      }
      const permanent = failure instanceof PermanentFailure;
      // Gatehouse's own stores down (a database restart): not the effect's failure, so no try is
      // spent on it and nothing is dead-lettered; the worker stops and is restarted from its checkpoint.
      if (!permanent && !(await this.storesAnswer())) throw failure;
      this.failures.set(consumer.name, (this.failures.get(consumer.name) ?? 0) + 1);
      if (!permanent && tries < maxTries && this.running) {
        const delay = Math.min(this.settings.CONSUMER_RETRY_MS * 2 ** (tries - 1), 60_000);
        this.logger.warn({ message: 'effect failed, retrying', consumer: consumer.name, eventId: event.eventId, eventType: event.type, tries, retryInMs: delay, error: errorName(failure) });
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      if (!this.running) throw failure;
      // Its documents are folded all the same: later events build on them.
      const letter = deadLetter(consumer.name, event, failure, tries, this.clock());
      await writeAll(this.readStore, scope.changes([...handled, { collection: DEAD_LETTERS, doc: letter }]), checkpoint);
      this.logger.error({ message: 'effect dead-lettered', consumer: consumer.name, eventId: event.eventId, eventType: event.type, tries, permanent, error: errorName(failure) });
      await this.sink?.publish(letter).catch((error) => this.logger.error({ message: 'dead letter not published', eventId: event.eventId, error: errorName(error) }));
      return;
    }
  }

  private async storesAnswer(): Promise<boolean> {
    return Promise.all([this.store.ping(), this.readStore.ping()]).then(
      () => true,
      () => false,
    );
  }

  async list(limit = 100): Promise<DeadLetter[]> {
    return this.readStore.find<DeadLetter>({ collection: DEAD_LETTERS, where: { status: 'dead' }, orderBy: [['failedAt', 'desc'], ['id', 'desc']], limit });
  }

  /** R-BILL-3: an operator tries a dead letter's effect again, once; it stays dead (with the new reason) if that fails too. */
  async redrive(id: string): Promise<DeadLetter | undefined> {
    const letter = (await this.readStore.getMany<DeadLetter>(DEAD_LETTERS, [id])).get(id);
    if (!letter) return undefined;
    if (letter.status !== 'dead') return letter;
    const consumer = this.consumers.find((c) => c.name === letter.consumer);
    // A projection's letter is mended at the source, then by a rebuild (R-SEC-5); a malformed message holds no event.
    if (!consumer) throw new DomainError('not_redrivable', 'a projection fault is fixed at the source and then by a rebuild of the projection');
    if (!letter.event) throw new DomainError('not_redrivable', 'a malformed message holds no event to handle again');
    const { type, data, ...stored } = letter.event;
    const event = recorded({ ...stored, position: BigInt(stored.position), recordedAt: new Date(stored.recordedAt) }, type, data);
    const scope = new ConsumerScope(this.readStore, event);
    const now = this.clock().toISOString();
    let updated: DeadLetter;
    try {
      const effect = await consumer.handle(event, scope, true);
      if (effect) await effect();
      updated = { ...letter, tries: letter.tries + 1, status: 'redriven', redrivenAt: now };
    } catch (error) {
      updated = { ...letter, tries: letter.tries + 1, reason: reasonOf(error), failedAt: now };
    }
    await writeAll(this.readStore, scope.changes([{ collection: DEAD_LETTERS, doc: updated }]), { projection: 'consumer-redrives', position: event.position });
    this.logger.log({ message: 'dead letter re-driven', consumer: letter.consumer, eventId: letter.eventId, status: updated.status });
    return updated;
  }
}

function deadLetter(consumer: string, event: Recorded, error: unknown, tries: number, now: Date): DeadLetter {
  return {
    id: `${consumer}:${event.eventId}`,
    consumer,
    eventId: event.eventId,
    eventType: event.type,
    stream: event.stream,
    position: event.position.toString(),
    ...(event.orgId ? { orgId: event.orgId } : {}),
    reason: reasonOf(error),
    tries,
    failedAt: now.toISOString(),
    status: 'dead',
    event: { ...event, position: event.position.toString(), recordedAt: event.recordedAt.toISOString() },
  };
}

/** For operators, stored with the letter: the other side's message may name an address, so it is not logged. */
function reasonOf(error: unknown): string {
  const e = error as { message?: string; code?: string | number; statusCode?: number };
  return [e.statusCode ? `HTTP ${e.statusCode}` : '', e.code !== undefined ? `code ${e.code}` : '', e.message ?? String(error)].filter(Boolean).join(': ').slice(0, 1000);
}

/**
 * A consumer's documents and checkpoint are small and its own: one the store
 * refuses (see ReadStore.write) would hold the checkpoint back for good, so it is
 * an error, retried by the supervisor and shown on /health, never a silent stall.
 */
async function writeAll(readStore: ReadStore, changes: Changes, checkpoint: { projection: string; position: bigint }): Promise<void> {
  const { refused } = await readStore.write(changes, checkpoint);
  if (refused.length > 0) throw new Error(`the read store refused ${refused.length} document(s) of ${checkpoint.projection}: ${refused[0].reason}`);
}
