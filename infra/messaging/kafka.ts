import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { connect } from 'node:net';
import { topicsOf, type BusConsumer, type BusProducer, type ConsumeOptions, type IncomingMessage, type MessageBus, type Topics } from './port';

/** The topics' names under the default prefix. */
export const EVENTS_TOPIC = topicsOf('gatehouse').events;
export const COMMANDS_TOPIC = topicsOf('gatehouse').commands;
export const DEAD_LETTERS_TOPIC = topicsOf('gatehouse').deadLetters;

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

/** A broker restart takes seconds: keep trying (RIG.md: 0 lost, 0 duplicated across a kill). */
const RETRY = { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 };
const ADMIN_ATTEMPTS = 6;

export function kafkaOptions(connection: KafkaConnection, clientId: string): KafkaConfig {
  return { clientId, ...connectionOptions(connection), logLevel: logLevel.NOTHING, retry: RETRY };
}

/** The message bus on Kafka (kafkajs): acks from all in-sync replicas, an idempotent producer with one request in flight. */
export class KafkaBus implements MessageBus {
  readonly topics: Topics;
  private readonly kafka: Kafka;
  private readonly partitions: number;

  constructor(
    private readonly connection: KafkaConnection,
    options: { topicPrefix: string; partitions: number; clientId?: string },
  ) {
    this.topics = topicsOf(options.topicPrefix);
    this.partitions = options.partitions;
    this.kafka = new Kafka(kafkaOptions(connection, options.clientId ?? 'gatehouse'));
  }

  /**
   * A TCP connection to any one broker, within 2 s. Supervised starts ask this first, so a broker
   * that is down makes them wait out their backoff (and a shutdown never waits out kafkajs's own
   * long connect retries) instead of hanging in a connect.
   */
  async reach(timeoutMs = 2_000): Promise<void> {
    const tries = this.connection.brokers.split(',').map((broker) => {
      const at = broker.trim().lastIndexOf(':');
      const host = broker.trim().slice(0, at).replace(/^\[|\]$/g, '');
      const port = Number(broker.trim().slice(at + 1));
      return new Promise<void>((resolve, reject) => {
        const socket = connect({ host, port });
        const done = (error?: Error) => {
          socket.destroy();
          if (error) reject(error);
          else resolve();
        };
        socket.setTimeout(timeoutMs, () => done(Object.assign(new Error('no broker answered in time'), { code: 'ETIMEDOUT' })));
        socket.once('connect', () => done());
        socket.once('error', (error) => done(error));
      });
    });
    await Promise.any(tries).catch((error: AggregateError) => {
      throw error.errors?.[0] ?? error;
    });
  }

  async ensureTopics(): Promise<void> {
    await this.withAdmin(async (admin) => {
      const existing = new Set(await admin.listTopics());
      const topics = [this.topics.events, this.topics.commands, this.topics.deadLetters].filter((t) => !existing.has(t));
      if (topics.length === 0) return;
      await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: this.partitions })) }).catch((error: { type?: string }) => {
        if (error.type !== 'TOPIC_ALREADY_EXISTS') throw error;
      });
    });
  }

  async producer(): Promise<BusProducer> {
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: RETRY });
    await producer.connect();
    return {
      send: async (topic, messages) => {
        await producer.send({ topic, acks: -1, messages });
      },
      close: () => producer.disconnect().catch(() => undefined),
    };
  }

  async consume({ group, topic, handle, onFailure }: ConsumeOptions): Promise<BusConsumer> {
    const consumer = this.kafka.consumer({ groupId: group, retry: RETRY });
    const close = () => consumer.disconnect().catch(() => undefined);
    // kafkajs restarts a group itself after a retriable crash; any other crash ends it.
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) onFailure(payload.error);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message, heartbeat }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).flatMap(([k, v]) => (v === undefined ? [] : [[k, v.toString()]])));
          const incoming: IncomingMessage = { partition, offset: BigInt(message.offset), value: message.value?.toString() ?? '', headers, ...(message.key ? { key: message.key.toString() } : {}) };
          await handle(incoming, heartbeat);
        },
      });
    } catch (error) {
      await close();
      throw error;
    }
    return { close };
  }

  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    return this.withAdmin(async (admin) => new Map((await admin.fetchTopicOffsets(topic)).map(({ partition, high }) => [partition, BigInt(high)])));
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, bigint>> {
    return this.withAdmin(async (admin) => {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return new Map((committed?.partitions ?? []).filter((p) => p.offset !== '-1').map((p) => [p.partition, BigInt(p.offset)]));
    });
  }

  /**
   * A topic just made by another process (ensureTopics raced it) may have no leader yet: the
   * broker answers NOT_LEADER_OR_FOLLOWER, which kafkajs marks retriable but its admin does not retry.
   */
  private async withAdmin<T>(work: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      for (let attempt = 1; ; attempt++) {
        try {
          return await work(admin);
        } catch (error) {
          if (!(error as { retriable?: boolean }).retriable || attempt >= ADMIN_ATTEMPTS) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
      }
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
