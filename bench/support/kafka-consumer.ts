/**
 * A consumer of `gatehouse.events` for bench/kafka.ts, in its own process (as another
 * service would be), so its receive times do not wait on the app's event loop. kafkajs,
 * a fresh consumer group, default fetch settings. Forked by the bench and driven over IPC:
 *   → { type: 'ready' }                                 once it has joined its group
 *   ← { type: 'window', from }  → { type: 'windowed' }  count only events after log position `from` from now on
 *   ← { type: 'report', expect, timeoutMs }
 *   → { type: 'report', count, latencies, firstAt, lastAt }  once `expect` events of the window arrived (or the timeout)
 *   ← { type: 'stop' }
 * latency = the wall clock when the consumer got the message − the envelope's recordedAt
 * (same machine, same clock), in ms.
 */
import { Kafka, logLevel } from 'kafkajs';

type Message = { type: 'window'; from: string } | { type: 'report'; expect: number; timeoutMs: number } | { type: 'stop' };

async function main(): Promise<void> {
  if (!process.send) throw new Error('kafka-consumer runs as a child of bench/kafka.ts (it needs the IPC channel)');
  const [brokers, topic, groupId] = process.argv.slice(2);
  const consumer = new Kafka({ clientId: 'gatehouse-bench-consumer', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).consumer({ groupId });
  let from: bigint | undefined;
  let latencies: number[] = [];
  let firstAt = 0;
  let lastAt = 0;
  let waiting: { expect: number; done: () => void } | undefined;

  consumer.on(consumer.events.GROUP_JOIN, () => process.send!({ type: 'ready' }));
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) {
        const now = performance.timeOrigin + performance.now();
        if (from === undefined || !message.value) continue;
        const envelope = JSON.parse(message.value.toString()) as { position: string; recordedAt: string };
        if (BigInt(envelope.position) <= from) continue;
        latencies.push(now - Date.parse(envelope.recordedAt));
        if (!firstAt) firstAt = now;
        lastAt = now;
      }
      if (waiting && latencies.length >= waiting.expect) waiting.done();
    },
  });

  process.on('message', (message: Message) => {
    switch (message.type) {
      case 'window':
        from = BigInt(message.from);
        latencies = [];
        firstAt = lastAt = 0;
        process.send!({ type: 'windowed' });
        break;
      case 'report': {
        let timer: NodeJS.Timeout | undefined;
        const send = () => {
          clearTimeout(timer);
          waiting = undefined;
          process.send!({ type: 'report', count: latencies.length, latencies, firstAt, lastAt });
        };
        if (latencies.length >= message.expect) return send();
        waiting = { expect: message.expect, done: send };
        timer = setTimeout(send, message.timeoutMs);
        break;
      }
      case 'stop':
        void consumer.disconnect().finally(() => process.exit(0));
        setTimeout(() => process.exit(0), 5_000).unref();
        break;
    }
  });
  process.on('disconnect', () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(`kafka-consumer: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
