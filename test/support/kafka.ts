import { Kafka, logLevel } from 'kafkajs';
import { randomUUID } from 'node:crypto';

export interface ReadMessage {
  key: string | null;
  partition: number;
  offset: string;
  headers: Record<string, string>;
  value: string;
}

/** Reads `topic` from its start, in a fresh consumer group, until `done` says enough was seen (or the time is up). */
export async function readTopic(brokers: string, topic: string, done: (seen: ReadMessage[]) => boolean, timeoutMs = 60_000): Promise<ReadMessage[]> {
  const kafka = new Kafka({ clientId: 'test-reader', brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } });
  const consumer = kafka.consumer({ groupId: `test-${randomUUID()}` });
  const seen: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${seen.length} messages read from ${topic} in ${timeoutMs} ms`)), timeoutMs);
      void consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
            seen.push({ key: message.key?.toString() ?? null, partition, offset: message.offset, headers, value: message.value?.toString() ?? '' });
            if (done(seen)) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return seen;
}

/** Puts raw messages on a topic (a poison message, say). */
export async function produce(brokers: string, topic: string, messages: Array<{ key?: string; value: string; headers?: Record<string, string> }>): Promise<void> {
  const kafka = new Kafka({ clientId: 'test-producer', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}
