import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { EventStore, Position, RecordedEvent, Subscription } from '../../infra/eventstore/port';
import type { ReadStore } from '../../infra/readstore/port';
import type { Doc } from '../../projections/projection';
import { Settings } from '../config/config';
import { CLOCK, EVENT_STORE, READ_STORE, type Clock } from '../shared/tokens';
import { ConsumerScope, PermanentFailure, type Consumer } from './consumer';

export const CONSUMERS = Symbol('Consumers');
export const DEAD_LETTER_SINK = Symbol('DeadLetterSink');
export const DEAD_LETTERS = 'dead_letters';

/** Where dead letters go besides the read store: the `gatehouse.dead-letters` topic when Kafka is configured. */
export interface DeadLetterSink {
  publish(letter: DeadLetter): Promise<void>;
}

/** An event whose effect failed every try (R-BILL-3): kept with the reason until an operator re-drives it. */
export interface DeadLetter extends Doc {
  consumer: string;
  eventId: string;
  eventType: string;
  stream: string;
  position: string;
  orgId?: string;
  reason: string;
  tries: number;
  failedAt: string;
  status: 'dead' | 'redriven';
  redrivenAt?: string;
  /** The event itself, so a re-drive needs nothing else. */
  event: Omit<RecordedEvent, 'position' | 'recordedAt'> & { position: string; recordedAt: string };
}

const checkpointOf = (consumer: string) => `consumer:${consumer}`;

/**
 * Runs every consumer from its checkpoint on the log, one event at a time in log
 * order: fold, carry out the effect (retried with doubling backoff), then write
 * the consumer's documents with the checkpoint. A crash between the effect and
 * that write repeats the effect once on restart, which is why effects carry an
 * idempotency key where the other side takes one (Stripe) — at-least-once.
 */
@Injectable()
export class ConsumerRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('consumers');
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly failures = new Map<string, number>();
  private running = true;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(CONSUMERS) private readonly consumers: Consumer[],
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly settings: Settings,
    @Optional() @Inject(DEAD_LETTER_SINK) private readonly sink?: DeadLetterSink,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.readStore.ensureIndexes([{ collection: DEAD_LETTERS, fields: ['status', 'failedAt', 'id'] }]);
    if (this.settings.CONSUMERS === 'off') return;
    for (const consumer of this.consumers) {
      const from = await this.readStore.checkpoint(checkpointOf(consumer.name));
      this.subscriptions.set(
        consumer.name,
        this.store.subscribe((events, next) => this.deliverBatch(consumer, events, next), {
          from,
          filter: { types: consumer.handles },
          batchSize: 100,
          onError: (error) => this.running && this.logger.error({ message: 'consumer stopped', consumer: consumer.name, error: errorName(error) }),
        }),
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await Promise.all([...this.subscriptions.values()].map((s) => s.stop()));
  }

  /** Resolves once every consumer has handled the log up to its head as it is now (tests and the CLI). */
  async settled(timeoutMs = 10_000): Promise<void> {
    const head = await this.store.headPosition();
    const until = Date.now() + timeoutMs;
    while ([...this.subscriptions.values()].some((s) => s.checkpoint < head)) {
      if (Date.now() > until) throw new Error('consumers did not reach the head of the log in time');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  status(): Array<{ consumer: string; position: string; failures: number }> {
    return [...this.subscriptions].map(([consumer, s]) => ({ consumer, position: s.checkpoint.toString(), failures: this.failures.get(consumer) ?? 0 }));
  }

  private async deliverBatch(consumer: Consumer, events: RecordedEvent[], next: Position): Promise<void> {
    for (const event of events) {
      if (!this.running) throw new Error('stopping');
      await this.deliver(consumer, event);
      // Effects of other consumers' events wait for none of these: give requests a turn.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.readStore.write({ puts: [], deletes: [] }, { projection: checkpointOf(consumer.name), position: next });
  }

  private async deliver(consumer: Consumer, event: RecordedEvent): Promise<void> {
    const maxTries = this.settings.CONSUMER_MAX_TRIES;
    for (let tries = 1; ; tries++) {
      const scope = new ConsumerScope(this.readStore, event);
      let failure: unknown;
      try {
        const effect = await consumer.handle(event, scope, false);
        if (effect) await effect();
      } catch (error) {
        failure = error;
      }
      if (failure === undefined) {
        await this.readStore.write(scope.changes(), { projection: checkpointOf(consumer.name), position: event.position });
        return;
      }
      this.failures.set(consumer.name, (this.failures.get(consumer.name) ?? 0) + 1);
      const permanent = failure instanceof PermanentFailure;
      if (!permanent && tries < maxTries && this.running) {
        const delay = Math.min(this.settings.CONSUMER_RETRY_MS * 2 ** (tries - 1), 60_000);
        this.logger.warn({ message: 'effect failed, retrying', consumer: consumer.name, eventId: event.eventId, eventType: event.type, tries, retryInMs: delay, error: errorName(failure) });
        await new Promise((resolve) => setTimeout(resolve, delay));
        continue;
      }
      if (!this.running) throw failure;
      // Its documents are folded all the same: later events build on them.
      const letter = deadLetter(consumer.name, event, failure, tries, this.clock());
      await this.readStore.write(scope.changes([{ collection: DEAD_LETTERS, doc: letter }]), { projection: checkpointOf(consumer.name), position: event.position });
      this.logger.error({ message: 'effect dead-lettered', consumer: consumer.name, eventId: event.eventId, eventType: event.type, tries, permanent, error: errorName(failure) });
      await this.sink?.publish(letter).catch((error) => this.logger.error({ message: 'dead letter not published', eventId: event.eventId, error: errorName(error) }));
      return;
    }
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
    if (!consumer) throw new Error(`no consumer ${letter.consumer}`);
    const event: RecordedEvent = { ...letter.event, position: BigInt(letter.event.position), recordedAt: new Date(letter.event.recordedAt) };
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
    await this.readStore.write(scope.changes([{ collection: DEAD_LETTERS, doc: updated }]), { projection: 'consumer-redrives', position: event.position });
    this.logger.log({ message: 'dead letter re-driven', consumer: letter.consumer, eventId: letter.eventId, status: updated.status });
    return updated;
  }
}

function deadLetter(consumer: string, event: RecordedEvent, error: unknown, tries: number, now: Date): DeadLetter {
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

/** For logs: the kind of failure, never its message (which may carry personal data). */
export function errorName(error: unknown): string {
  const e = error as { name?: string; code?: string | number; statusCode?: number; type?: string };
  return [e.name ?? 'Error', e.type, e.statusCode, e.code].filter((x) => x !== undefined && x !== '').join(' ');
}
