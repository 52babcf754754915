import { randomUUID } from 'node:crypto';
import type { IncomingMessage, MessageBus } from '../../infra/messaging/port';

/** Waits until `done` holds, or fails after `timeoutMs`. */
async function until(done: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The message bus port's contract: what the publisher and the consumers rely on,
 * the same on every adapter. `open(prefix)` gives a bus whose topics live under that prefix.
 */
export function messageBusContract(name: string, open: (topicPrefix: string) => Promise<MessageBus>, unreachable: () => MessageBus): void {
  describe(`MessageBus contract: ${name}`, () => {
    let bus: MessageBus;

    beforeAll(async () => {
      bus = await open(`contract-${randomUUID().slice(0, 8)}`);
      await bus.reach();
    }, 60_000);

    it('creates its three topics, also when several processes race to it', async () => {
      await Promise.all([bus.ensureTopics(), bus.ensureTopics(), bus.ensureTopics()]);
      for (const topic of [bus.topics.events, bus.topics.commands, bus.topics.deadLetters]) {
        const ends = await bus.endOffsets(topic);
        expect(ends.size).toBeGreaterThan(0);
        expect([...ends.values()].every((end) => end === 0n)).toBe(true);
      }
    }, 60_000);

    it('delivers what was sent with its key and headers, in order per key, and counts it in the end offsets', async () => {
      await bus.ensureTopics();
      const producer = await bus.producer();
      const sent = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 4}`, value: JSON.stringify({ i }), headers: { 'gatehouse-position': String(i + 1) } }));
      try {
        for (let i = 0; i < sent.length; i += 15) await producer.send(bus.topics.events, sent.slice(i, i + 15));
      } finally {
        await producer.close();
      }
      const ends = await bus.endOffsets(bus.topics.events);
      expect([...ends.values()].reduce((a, b) => a + b, 0n)).toBe(60n);

      const seen: IncomingMessage[] = [];
      const consumer = await bus.consume({ group: `${bus.topics.groupPrefix}.contract-a`, topic: bus.topics.events, handle: async (m) => void seen.push(m), onFailure: () => undefined });
      try {
        await until(() => seen.length >= 60);
      } finally {
        await consumer.close();
      }
      expect(seen).toHaveLength(60);
      for (const key of ['k0', 'k1', 'k2', 'k3']) {
        const mine = seen.filter((m) => m.key === key).map((m) => (JSON.parse(m.value) as { i: number }).i);
        expect(mine).toEqual(sent.map((m, i) => (m.key === key ? i : -1)).filter((i) => i >= 0));
      }
      expect(seen.every((m) => m.headers['gatehouse-position'] === String((JSON.parse(m.value) as { i: number }).i + 1))).toBe(true);
      // Offsets are per partition, counting from 0 without gaps.
      for (const [partition, end] of ends) {
        const offsets = seen.filter((m) => m.partition === partition).map((m) => m.offset);
        expect(offsets).toEqual(Array.from({ length: Number(end) }, (_, i) => BigInt(i)));
      }
    }, 120_000);

    it('commits a message once it is handled: the group goes on after the last one, not from the start', async () => {
      await bus.ensureTopics();
      const group = `${bus.topics.groupPrefix}.contract-b`;
      const first: IncomingMessage[] = [];
      const consumer = await bus.consume({ group, topic: bus.topics.events, handle: async (m) => void first.push(m), onFailure: () => undefined });
      const before = [...(await bus.endOffsets(bus.topics.events)).values()].reduce((a, b) => a + b, 0n);
      try {
        await until(() => BigInt(first.length) >= before);
      } finally {
        await consumer.close();
      }
      const committed = await bus.committedOffsets(group, bus.topics.events);
      const ends = await bus.endOffsets(bus.topics.events);
      for (const [partition, end] of ends) if (end > 0n) expect(committed.get(partition)).toBe(end);

      const producer = await bus.producer();
      await producer.send(bus.topics.events, [{ key: 'later', value: 'after-restart' }]);
      await producer.close();
      const second: IncomingMessage[] = [];
      const again = await bus.consume({ group, topic: bus.topics.events, handle: async (m) => void second.push(m), onFailure: () => undefined });
      try {
        await until(() => second.length >= 1);
        await new Promise((resolve) => setTimeout(resolve, 500));
      } finally {
        await again.close();
      }
      expect(second.map((m) => m.value)).toEqual(['after-restart']);
      expect(await bus.committedOffsets(`${bus.topics.groupPrefix}.never-ran`, bus.topics.events)).toEqual(new Map());
    }, 120_000);

    it('says within seconds that no broker answers, rather than hanging', async () => {
      const started = Date.now();
      await expect(unreachable().reach()).rejects.toBeDefined();
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });
}
