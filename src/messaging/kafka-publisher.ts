import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { EventStore, Subscription } from '../../infra/eventstore/port';
import type { Position } from '../../domain/shared/envelope';
import type { Recorded } from '../../domain/events';
import type { ReadStore } from '../../infra/readstore/port';
import { Settings } from '../config/config';
import { EVENT_STORE, READ_STORE } from '../shared/tokens';
import { errorName } from './consumer';
import type { DeadLetter, DeadLetterSink } from './consumer-runner';

/** The topics' names under the default prefix. */
export const EVENTS_TOPIC = 'gatehouse.events';
export const COMMANDS_TOPIC = 'gatehouse.commands';
export const DEAD_LETTERS_TOPIC = 'gatehouse.dead-letters';

/** SPEC 3.2's topics: `gatehouse.events`, `gatehouse.commands`, `gatehouse.dead-letters` under the default prefix. */
export function topicsOf(settings: Settings) {
  const prefix = settings.KAFKA_TOPIC_PREFIX;
  return { events: `${prefix}.events`, commands: `${prefix}.commands`, deadLetters: `${prefix}.dead-letters`, groupPrefix: prefix };
}
const CHECKPOINT = 'publisher:kafka';

/**
 * Fields that never leave Gatehouse: hashes an attacker could try offline, and
 * sealed secrets no other service needs. (A link email's sealed token does leave,
 * sealed: only Gatehouse's key opens it.)
 */
const WITHHELD = new Set(['passwordHash', 'backupCodeHashes', 'codeHash', 'tokenHash', 'secretHash', 'subjectHash', 'sealedSecret']);

/** The envelope on `gatehouse.events` (SPEC 3.2): R-AUD-1's fields, positions as decimal strings. */
export function envelope(event: Recorded): Record<string, unknown> {
  const data = Object.fromEntries(Object.entries(event.data as Record<string, unknown>).filter(([k]) => !WITHHELD.has(k)));
  return { ...event, data, position: event.position.toString(), recordedAt: event.recordedAt.toISOString() };
}

/** Key = org id, or the user id for events of no org: one org's events stay in one partition, in order. */
export function partitionKey(event: Recorded): string {
  const data = event.data as { orgId?: string; userId?: string };
  return event.orgId ?? data.orgId ?? data.userId ?? event.stream;
}

export function kafkaClient(settings: Settings, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: settings.KAFKA_BROKERS!.split(',').map((b) => b.trim()),
    logLevel: logLevel.NOTHING,
    // A broker restart takes seconds: keep trying (RIG.md: 0 lost, 0 duplicated across a kill).
    retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
}

/** Creates Gatehouse's topics when missing; several processes (or two services of one) may race to it. */
export async function ensureTopics(kafka: Kafka, settings: Settings): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const { events, commands, deadLetters } = topicsOf(settings);
    const topics = [events, commands, deadLetters].filter((t) => !existing.has(t));
    if (topics.length > 0) {
      await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: settings.KAFKA_PARTITIONS })) }).catch((error: { type?: string }) => {
        if (error.type !== 'TOPIC_ALREADY_EXISTS') throw error;
      });
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** An event as it travels on `gatehouse.events`, back in the log's shape (withheld fields stay absent). */
export function fromEnvelope(value: string): Recorded {
  const parsed = JSON.parse(value) as Record<string, unknown>;
  if (typeof parsed.eventId !== 'string' || typeof parsed.type !== 'string' || typeof parsed.position !== 'string' || typeof parsed.data !== 'object' || parsed.data === null) {
    throw new Error('not an event envelope');
  }
  return { ...(parsed as unknown as Recorded), position: BigInt(parsed.position), recordedAt: new Date(String(parsed.recordedAt)) };
}

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
    const kafka = kafkaClient(this.settings, 'gatehouse-publisher');
    await ensureTopics(kafka, this.settings);
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } });
    await this.producer.connect();
    const from = await this.readStore.checkpoint(CHECKPOINT);
    this.subscription = this.store.subscribe((events, next) => this.publishEvents(events, next), {
      from,
      batchSize: 500,
      onError: (error) => this.running && this.logger.error({ message: 'publisher stopped', error: errorName(error) }),
    });
    this.logger.log({ message: 'publishing events to Kafka', topic: topicsOf(this.settings).events, from: from.toString() });
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
    await this.publishDeadLetter(letter.orgId ?? letter.stream, { source: topicsOf(this.settings).events, ...summary });
  }

  /** Anything that could not be handled, with its reason (a malformed command or event, a failed effect). */
  async publishDeadLetter(key: string, record: Record<string, unknown>): Promise<void> {
    if (!this.producer) return;
    await this.producer.send({ topic: topicsOf(this.settings).deadLetters, acks: -1, messages: [{ key, value: JSON.stringify(record) }] });
  }

  private async publishEvents(events: Recorded[], next: Position): Promise<void> {
    const messages = events.map((event) => ({
      key: partitionKey(event),
      value: JSON.stringify(envelope(event)),
      headers: { 'gatehouse-event-id': event.eventId, 'gatehouse-event-type': event.type, 'gatehouse-position': event.position.toString() },
    }));
    // The producer retries on its own; past that (a long outage) this batch is tried again, never skipped.
    for (let attempt = 1; ; attempt++) {
      if (!this.running) throw new Error('stopping');
      try {
        await this.producer!.send({ topic: topicsOf(this.settings).events, acks: -1, messages });
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
