import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import { ensureTopics, kafkaClient, partitionKey, toEnvelope, topicsOf } from '../../infra/messaging/kafka';
import type { EventStore, Subscription } from '../../infra/eventstore/port';
import type { Position } from '../../domain/shared/envelope';
import type { Recorded } from '../../domain/events';
import type { ReadStore } from '../../infra/readstore/port';
import { Settings } from '../config/config';
import { EVENT_STORE, READ_STORE } from '../shared/tokens';
import { errorName } from './consumer';
import type { DeadLetter, DeadLetterSink } from './dead-letters';

const CHECKPOINT = 'publisher:kafka';

/**
 * Publishes every event to Kafka in log order from a stored checkpoint: the
 * checkpoint moves only after Kafka acknowledged the batch (acks from all
 * in-sync replicas, idempotent producer, one request in flight), so a crash or a
 * broker outage delays publication but never loses or reorders an event. A
 * crash between the ack and the checkpoint publishes that batch again:
 * consumers see duplicates (same event id), never gaps.
 */
@Injectable()
export class KafkaPublisher implements OnApplicationBootstrap, OnApplicationShutdown, DeadLetterSink {
  private readonly logger = new Logger('kafka-publisher');
  private producer?: Producer;
  private subscription?: Subscription;
  private running = true;
  private published = 0;
  private lastPublishedAt?: Date;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    private readonly settings: Settings,
  ) {}

  get enabled(): boolean {
    return !!this.settings.KAFKA_BROKERS && this.settings.CONSUMERS === 'on';
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    const kafka = kafkaClient(this.settings.kafka, 'gatehouse-publisher');
    await ensureTopics(kafka, this.settings.KAFKA_TOPIC_PREFIX, this.settings.KAFKA_PARTITIONS);
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } });
    await this.producer.connect();
    const from = await this.readStore.checkpoint(CHECKPOINT);
    this.subscription = this.store.subscribe((events, next) => this.publishEvents(events, next), {
      from,
      batchSize: 500,
      onError: (error) => this.running && this.logger.error({ message: 'publisher stopped', error: errorName(error) }),
    });
    this.logger.log({ message: 'publishing events to Kafka', topic: topicsOf(this.settings.KAFKA_TOPIC_PREFIX).events, from: from.toString() });
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.subscription?.stop();
    await this.producer?.disconnect().catch(() => undefined);
  }

  /** Where publication stands: the last position Kafka acknowledged. */
  get position(): Position {
    return this.subscription?.checkpoint ?? 0n;
  }

  status() {
    return { enabled: this.enabled, position: this.position.toString(), published: this.published, lastPublishedAt: this.lastPublishedAt?.toISOString() };
  }

  /** R-BILL-3: a dead letter also goes to `gatehouse.dead-letters`, for operators' tools (the event's data stays home). */
  async publish(letter: DeadLetter): Promise<void> {
    const { event: _event, _pos, ...summary } = letter;
    await this.publishDeadLetter(letter.orgId ?? letter.stream, { source: topicsOf(this.settings.KAFKA_TOPIC_PREFIX).events, ...summary });
  }

  /** Anything that could not be handled, with its reason (a malformed command or event, a failed effect). */
  async publishDeadLetter(key: string, record: Record<string, unknown>): Promise<void> {
    if (!this.producer) return;
    await this.producer.send({ topic: topicsOf(this.settings.KAFKA_TOPIC_PREFIX).deadLetters, acks: -1, messages: [{ key, value: JSON.stringify(record) }] });
  }

  private async publishEvents(events: Recorded[], next: Position): Promise<void> {
    const messages = events.map((event) => ({
      key: partitionKey(event),
      value: JSON.stringify(toEnvelope(event)),
      headers: { 'gatehouse-event-id': event.eventId, 'gatehouse-event-type': event.type, 'gatehouse-position': event.position.toString() },
    }));
    // The producer retries on its own; past that (a long outage) this batch is tried again, never skipped.
    for (let attempt = 1; ; attempt++) {
      if (!this.running) throw new Error('stopping');
      try {
        await this.producer!.send({ topic: topicsOf(this.settings.KAFKA_TOPIC_PREFIX).events, acks: -1, messages });
        break;
      } catch (error) {
        const delay = Math.min(200 * 2 ** attempt, 5_000);
        this.logger.warn({ message: 'publishing failed, trying again', events: events.length, attempt, retryInMs: delay, error: errorName(error) });
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    await this.readStore.write({ puts: [], deletes: [] }, { projection: CHECKPOINT, position: next });
    this.published += events.length;
    this.lastPublishedAt = new Date();
  }
}
