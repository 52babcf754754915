import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { startKafka, type RunningKafka } from '../../scripts/rig/kafka';

// Retries long enough to ride out a broker restart (RIG.md: 0 lost, 0 duplicated this way).
const RETRY = { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 };

function client(brokers: string): Kafka {
  return new Kafka({
    clientId: 'gatehouse-rig-test',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: RETRY,
  });
}

function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Reads `topic` from the beginning until `count` messages arrived; returns their values in order of arrival. */
async function consumeAll(kafka: Kafka, topic: string, count: number, timeoutMs = 30_000): Promise<string[]> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('rig-group') });
  const values: string[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${values.length} of ${count} messages arrived within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ message }) => {
            values.push(message.value?.toString() ?? '');
            if (values.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch((err) => {
          clearTimeout(timer);
          reject(err);
        });
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

async function createTopic(kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

describe('test rig: Kafka (KRaft broker, or KAFKA_BROKERS)', () => {
  it('produces and consumes a message on the shared broker', async () => {
    const brokers = process.env.KAFKA_BROKERS;
    if (!brokers) {
      throw new Error(
        'KAFKA_BROKERS is not set: run the tests through jest with jest.config.js ' +
          '(its globalSetup starts Kafka), or set KAFKA_BROKERS yourself.',
      );
    }
    const kafka = client(brokers);
    const topic = uniqueName('rig-roundtrip');
    await createTopic(kafka, topic, 1);

    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ key: 'org-1', value: 'MemberAdded' }] });
    } finally {
      await producer.disconnect();
    }

    expect(await consumeAll(kafka, topic, 1)).toEqual(['MemberAdded']);
  });

  it('hands out the broker from KAFKA_BROKERS, which it refuses to kill or restart', async () => {
    const saved = process.env.KAFKA_BROKERS;
    process.env.KAFKA_BROKERS = '127.0.0.1:1';
    try {
      const shared = await startKafka();
      expect(shared).toMatchObject({ brokers: '127.0.0.1:1', started: false });
      await expect(shared.kill()).rejects.toThrow(/startKafka\(\{ own: true \}\)/);
      await expect(shared.restart()).rejects.toThrow(/cannot kill or restart/);
    } finally {
      process.env.KAFKA_BROKERS = saved;
    }
  });

  describe('a broker of its own', () => {
    let broker: RunningKafka | undefined;
    let producer: Producer | undefined;

    afterAll(async () => {
      await producer?.disconnect().catch(() => undefined);
      await broker?.stop();
    });

    it('loses and duplicates nothing an idempotent producer sent across a SIGKILL and restart', async () => {
      broker = await startKafka({ own: true });
      expect(broker.started).toBe(true);
      const kafka = client(broker.brokers);
      const topic = uniqueName('rig-restart');
      await createTopic(kafka, topic, 2);

      producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const batch = (from: number, count: number) =>
        Array.from({ length: count }, (_, i) => ({ key: `k${(from + i) % 7}`, value: String(from + i) }));

      await producer.send({ topic, messages: batch(0, 500) });

      await broker.kill();
      // Sent while the broker is down: kafkajs retries until it is back.
      const sentDuringOutage = producer.send({ topic, messages: batch(500, 500) });
      sentDuringOutage.catch(() => undefined); // awaited below; not unhandled meanwhile
      await broker.restart();
      await sentDuringOutage;
      await producer.send({ topic, messages: batch(1_000, 500) });

      // One offset per message (no transactions, so no control records): a duplicate would show here.
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
      expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(1_500);

      const received = await consumeAll(kafka, topic, 1_500);
      expect(received).toHaveLength(1_500);
      expect(new Set(received).size).toBe(1_500);
      expect(received.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 1_500 }, (_, i) => i));
    }, 120_000);
  });
});
