import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import type { Recorded } from '../../domain/events';
import type { Envelope } from '../../domain/shared/envelope';
import { recorded } from '../eventstore/port';

/** The topics' names under the default prefix. */
export const EVENTS_TOPIC = 'gatehouse.events';
export const COMMANDS_TOPIC = 'gatehouse.commands';
export const DEAD_LETTERS_TOPIC = 'gatehouse.dead-letters';

/** SPEC 3.2's topics: `gatehouse.events`, `gatehouse.commands`, `gatehouse.dead-letters` under the default prefix. */
export function topicsOf(prefix: string) {
  return { events: `${prefix}.events`, commands: `${prefix}.commands`, deadLetters: `${prefix}.dead-letters`, groupPrefix: prefix };
}

/** Where the brokers are and how to reach them: TLS (optionally with a CA of its own) and SASL, as managed clusters ask. */
export interface KafkaConnection {
  brokers: string;
  ssl?: true | { ca: string[] };
  sasl?: SaslCredentials;
}

/** kafkajs's SASL options for the mechanisms managed clusters use (not OAuth or AWS IAM). */
export type SaslCredentials = { username: string; password: string } & ({ mechanism: 'plain' } | { mechanism: 'scram-sha-256' } | { mechanism: 'scram-sha-512' });

/** The part of every kafkajs client's options that says where and how to connect. */
export function connectionOptions(connection: KafkaConnection): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  return {
    brokers: connection.brokers.split(',').map((b) => b.trim()),
    ...(connection.ssl ? { ssl: connection.ssl } : {}),
    ...(connection.sasl ? { sasl: connection.sasl } : {}),
  };
}

export function kafkaClient(connection: KafkaConnection, clientId: string): Kafka {
  return new Kafka(kafkaOptions(connection, clientId));
}

export function kafkaOptions(connection: KafkaConnection, clientId: string): KafkaConfig {
  return {
    clientId,
    ...connectionOptions(connection),
    logLevel: logLevel.NOTHING,
    // A broker restart takes seconds: keep trying (RIG.md: 0 lost, 0 duplicated across a kill).
    retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 },
  };
}

/** Creates Gatehouse's topics when missing; several processes (or two services of one) may race to it. */
export async function ensureTopics(kafka: Kafka, prefix: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const { events, commands, deadLetters } = topicsOf(prefix);
    const topics = [events, commands, deadLetters].filter((t) => !existing.has(t));
    if (topics.length > 0) {
      await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: partitions })) }).catch((error: { type?: string }) => {
        if (error.type !== 'TOPIC_ALREADY_EXISTS') throw error;
      });
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Fields that never leave Gatehouse: hashes an attacker could try offline, and
 * sealed secrets no other service needs. (A link email's sealed token does leave,
 * sealed: only Gatehouse's key opens it.)
 */
const WITHHELD = new Set(['passwordHash', 'backupCodeHashes', 'codeHash', 'tokenHash', 'secretHash', 'subjectHash', 'sealedSecret']);

/** The envelope on `gatehouse.events` (SPEC 3.2): R-AUD-1's fields, positions as decimal strings. */
export function toEnvelope(event: Recorded): Record<string, unknown> {
  const data = Object.fromEntries(Object.entries(event.data).filter(([k]) => !WITHHELD.has(k)));
  return { ...event, data, position: event.position.toString(), recordedAt: event.recordedAt.toISOString() };
}

/** Key = org id, or the user id for events of no org: one org's events stay in one partition, in order. */
export function partitionKey(event: Recorded): string {
  const data = event.data;
  return event.orgId ?? ('orgId' in data ? data.orgId : undefined) ?? ('userId' in data ? data.userId : undefined) ?? event.stream;
}

/** An event as it travels on `gatehouse.events`, back in the log's shape (withheld fields stay absent). */
export function fromEnvelope(value: string): Recorded {
  const parsed: unknown = JSON.parse(value);
  if (!isEnvelope(parsed)) throw new Error('not an event envelope');
  const { type, data, position, recordedAt, ...rest } = parsed;
  return recorded({ ...rest, position: BigInt(position), recordedAt: new Date(recordedAt) }, type, data);
}

type Wire = Omit<Envelope, 'position' | 'recordedAt'> & { type: string; data: object; position: string; recordedAt: string };

function isEnvelope(value: unknown): value is Wire {
  if (typeof value !== 'object' || value === null) return false;
  const v: Partial<Record<keyof Wire, unknown>> = value;
  return typeof v.eventId === 'string' && typeof v.type === 'string' && typeof v.position === 'string' && typeof v.recordedAt === 'string' && typeof v.data === 'object' && v.data !== null;
}
