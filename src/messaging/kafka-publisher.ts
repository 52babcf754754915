import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { BusProducer, MessageBus } from '../../infra/messaging/port';
import { partitionKey, toEnvelope } from '../../infra/messaging/wire';
import type { EventStore, Subscription } from '../../infra/eventstore/port';
import type { Position } from '../../domain/shared/envelope';
import type { Recorded } from '../../domain/events';
import type { ReadStore } from '../../infra/readstore/port';
import { Settings } from '../config/config';
import { EVENT_STORE, LEASING, MESSAGE_BUS, READ_STORE } from '../shared/tokens';
import { errorName } from '../shared/logging';
import type { DeadLetter, DeadLetterSink } from '../shared/dead-letters';
import { Supervisor, type Leasing, type Worker, type WorkerRun } from '../shared/supervisor';
import { traceHeaders, traced } from '../shared/tracing';
import { storedEvents } from '../../infra/personal/encrypting-event-store';

const CHECKPOINT = 'publisher:kafka';
/** The publisher's supervised worker, as /health and /metrics name it. */
export const PUBLISHER_WORKER = 'publisher';

/**
 * Publishes every event to Kafka in log order from a stored checkpoint: the
 * checkpoint moves only after Kafka acknowledged the batch (acks from all
 * in-sync replicas, idempotent producer, one request in flight), so a crash or a
 * broker outage delays publication but never loses or reorders an event. A
 * crash between the ack and the checkpoint publishes that batch again:
 * consumers see duplicates (same event id), never gaps.
 *
 * It runs as a supervised worker, started in the background: connecting to the
 * brokers is part of its start, so a broker that is down at start (or any later
 * error of the log, the read store or Kafka) delays publication and shows in
 * /health, but never holds up the service's start or stops publication for good.
 */
@Injectable()
export class KafkaPublisher implements OnApplicationBootstrap, OnApplicationShutdown, DeadLetterSink {
  private readonly logger = new Logger('kafka-publisher');
  private producer?: BusProducer;
  private subscription?: Subscription;
  private running = true;
  private published = 0;
  private lastPublishedAt?: Date;
  /** Where the last run started (the stored checkpoint), until a subscription runs. */
  private from: Position = 0n;
  /** Restarts the publisher after any failure. */
  readonly supervisor = new Supervisor(this.logger);

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    private readonly settings: Settings,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus | null,
    @Optional() @Inject(LEASING) leasing?: Leasing,
  ) {
    this.supervisor.leasing = leasing;
  }

  /** The supervised worker (none when publication is off). */
  workers(): Worker[] {
    return this.supervisor.all();
  }

  get enabled(): boolean {
    return !!this.bus && this.settings.CONSUMERS === 'on';
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    // A broker that answers: started before the service takes requests (its topics exist then, for the
    // command transport too). One that is down must not hold up the service's start: in the background.
    const bus = this.bus!;
    const reachable = await bus.reach().then(() => true, () => false);
    await this.supervisor.supervise({ name: PUBLISHER_WORKER, start: (fail) => this.start(bus, fail), position: () => this.position, lease: PUBLISHER_WORKER }, { background: !reachable });
  }

  /** One run: topics, producer, then the log from the checkpoint. */
  private async start(bus: MessageBus, fail: (error: unknown) => void): Promise<WorkerRun> {
    let producer: BusProducer | undefined;
    let subscription: Subscription | undefined;
    const stop = async () => {
      await subscription?.stop();
      if (this.producer === producer) this.producer = undefined;
      await producer?.close();
    };
    try {
      this.from = await this.readStore.checkpoint(CHECKPOINT);
      await bus.reach();
      await bus.ensureTopics();
      producer = await bus.producer();
      this.producer = producer;
      // Personal data leaves sealed, as stored (SPEC 5.1): an erasure reaches every copy on the topic too.
      subscription = storedEvents(this.store).subscribe((events, next) => this.publishEvents(bus, events, next), { from: this.from, batchSize: 500, onError: fail });
      this.subscription = subscription;
    } catch (error) {
      await stop();
      throw error;
    }
    this.logger.log({ message: 'publishing events to Kafka', topic: bus.topics.events, from: this.from.toString() });
    return { stop, caughtUp: subscription.caughtUp };
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.supervisor.stop();
    await this.subscription?.stop();
    await this.producer?.close();
  }

  /** Where publication stands: the last position Kafka acknowledged. */
  get position(): Position {
    return this.subscription?.checkpoint ?? this.from;
  }

  status() {
    const worker = this.supervisor.get(PUBLISHER_WORKER);
    return { enabled: this.enabled, state: worker?.state ?? 'stopped', position: this.position.toString(), published: this.published, lastPublishedAt: this.lastPublishedAt?.toISOString() };
  }

  /** R-BILL-3: a dead letter also goes to `gatehouse.dead-letters`, for operators' tools (the event's data stays home). */
  async publish(letter: DeadLetter): Promise<void> {
    const { event: _event, _pos, ...summary } = letter;
    await this.publishDeadLetter(letter.orgId ?? letter.stream, { source: this.bus?.topics.events, ...summary });
  }

  /** Anything that could not be handled, with its reason (a malformed command or event, a failed effect). */
  async publishDeadLetter(key: string, record: Record<string, unknown>): Promise<void> {
    if (!this.producer || !this.bus) return;
    await this.producer.send(this.bus.topics.deadLetters, [{ key, value: JSON.stringify(record) }]);
  }

  private publishEvents(bus: MessageBus, events: Recorded[], next: Position): Promise<void> {
    return traced('kafka publish', { 'messaging.system': 'kafka', 'messaging.destination.name': bus.topics.events, 'messaging.batch.message_count': events.length }, () => this.publishBatch(bus, events, next));
  }

  private async publishBatch(bus: MessageBus, events: Recorded[], next: Position): Promise<void> {
    const trace = traceHeaders(); // the publish span's traceparent, on every message
    const messages = events.map((event) => ({
      key: partitionKey(event),
      value: JSON.stringify(toEnvelope(event)),
      headers: { 'gatehouse-event-id': event.eventId, 'gatehouse-event-type': event.type, 'gatehouse-position': event.position.toString(), ...trace },
    }));
    // The producer retries on its own; past that (a long outage) this batch is tried again, never skipped.
    for (let attempt = 1; ; attempt++) {
      if (!this.running) throw new Error('stopping');
      try {
        await this.producer!.send(bus.topics.events, messages);
        break;
      } catch (error) {
        const delay = Math.min(200 * 2 ** attempt, 5_000);
        this.logger.warn({ message: 'publishing failed, trying again', events: events.length, attempt, retryInMs: delay, error: errorName(error) });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    const { refused } = await this.readStore.write({ puts: [], deletes: [] }, { projection: CHECKPOINT, position: next });
    // Nothing to refuse but the checkpoint itself: were it held back, the publisher would say so rather than stall.
    if (refused.length > 0) throw new Error(`the read store refused the publisher's checkpoint: ${refused[0].reason}`);
    this.published += events.length;
    this.lastPublishedAt = new Date();
  }
}
