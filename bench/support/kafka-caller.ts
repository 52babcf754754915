/**
 * A caller of commands over Kafka for bench/kafka.ts, in its own process (as another
 * service would be): kafkajs, the request/reply headers Nest's Kafka transport reads
 * (as test/api/kafka-commands.spec.ts's Caller), replies on a fresh one-partition topic.
 * Each request gets a random message key, so requests spread over the partitions of
 * `gatehouse.commands` (the topic is its second argument, after the brokers). Forked by
 * the bench and driven over IPC:
 *   → { type: 'ready' }                                   once its reply consumer has joined
 *   ← { type: 'closed', outstanding, seconds, command }   `outstanding` loops of send → await reply until `seconds` pass
 *   ← { type: 'open', rate, seconds, command }            request i sent at start + i/rate, whatever happened to the others
 *   → { type: 'done', sent, ok, failed, errors, latencies, seconds }
 *   ← { type: 'stop' }
 * latency = send (closed loop) or scheduled send (open loop) → reply received, in ms;
 * seconds = start → last reply.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';

/** What to send: a members.create in `org` with a fresh email per request, as `token`'s holder. */
export interface CallerCommand {
  org: string;
  token: string;
  tag: string;
}

export type CallerRequest =
  | { type: 'closed'; outstanding: number; seconds: number; command: CallerCommand }
  | { type: 'open'; rate: number; seconds: number; command: CallerCommand }
  | { type: 'stop' };

export interface CallerReport {
  sent: number;
  ok: number;
  failed: number;
  /** The first few failures, for the log. */
  errors: string[];
  latencies: number[];
  seconds: number;
}

const REPLY_TIMEOUT_MS = 60_000;

interface Reply {
  ok: boolean;
  error?: { code: string; message: string };
}

class Requests {
  private readonly pending = new Map<string, (reply: Reply) => void>();
  private count = 0;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly replyTopic: string,
  ) {}

  answer(id: string, reply: Reply): void {
    this.pending.get(id)?.(reply);
    this.pending.delete(id);
  }

  /** One members.create; resolves to the reply, or to a failure if none came in time. */
  send(command: CallerCommand): Promise<Reply> {
    const id = randomUUID();
    const n = this.count++;
    const value = { type: 'members.create', payload: { org: command.org, email: `kc.${command.tag}.${n}@example.org`, firstName: 'Kafka', lastName: `Caller ${n}`, mode: 'setup-email' } };
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, error: { code: 'no_reply', message: `no reply in ${REPLY_TIMEOUT_MS} ms` } });
      }, REPLY_TIMEOUT_MS);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.producer
        .send({
          topic: this.topic,
          messages: [
            {
              key: randomUUID(),
              value: JSON.stringify(value),
              headers: { authorization: `Bearer ${command.token}`, kafka_correlationId: id, kafka_replyTopic: this.replyTopic, kafka_replyPartition: '0' },
            },
          ],
        })
        .catch((error: Error) => this.answer(id, { ok: false, error: { code: 'send_failed', message: error.message } }));
    });
  }
}

class Tally {
  readonly latencies: number[] = [];
  readonly errors: string[] = [];
  sent = 0;
  failed = 0;
  lastAt = 0;

  record(reply: Reply, from: number): void {
    this.lastAt = performance.now();
    if (reply.ok) this.latencies.push(this.lastAt - from);
    else if (++this.failed <= 3) this.errors.push(JSON.stringify(reply.error));
  }

  report(start: number): CallerReport {
    return { sent: this.sent, ok: this.latencies.length, failed: this.failed, errors: this.errors, latencies: this.latencies, seconds: ((this.lastAt || performance.now()) - start) / 1000 };
  }
}

async function closedLoop(requests: Requests, outstanding: number, seconds: number, command: CallerCommand): Promise<CallerReport> {
  const tally = new Tally();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const sentAt = performance.now();
      tally.sent++;
      tally.record(await requests.send(command), sentAt);
    }
  };
  await Promise.all(Array.from({ length: outstanding }, loop));
  return tally.report(start);
}

async function openLoop(requests: Requests, rate: number, seconds: number, command: CallerCommand): Promise<CallerReport> {
  const tally = new Tally();
  const total = Math.max(1, Math.round(rate * seconds));
  const inflight: Array<Promise<void>> = [];
  const start = performance.now() + 20;
  const one = async (scheduledAt: number) => tally.record(await requests.send(command), scheduledAt);
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (tally.sent < total && start + (tally.sent * 1000) / rate <= now) {
        inflight.push(one(start + (tally.sent * 1000) / rate));
        tally.sent++;
      }
      if (tally.sent >= total) resolve();
      else setTimeout(tick, Math.max(0, start + (tally.sent * 1000) / rate - performance.now()));
    };
    setTimeout(tick, 20);
  });
  await Promise.all(inflight);
  return tally.report(start);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('kafka-caller runs as a child of bench/kafka.ts (it needs the IPC channel)');
  const [brokers, topic] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: 'gatehouse-bench-caller', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const replyTopic = `gatehouse-bench.replies.${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: replyTopic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: `gatehouse-bench-caller-${randomUUID()}` });
  const requests = new Requests(producer, topic, replyTopic);
  consumer.on(consumer.events.GROUP_JOIN, () => process.send!({ type: 'ready' }));
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topic: replyTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const id = message.headers?.kafka_correlationId?.toString();
      if (id && message.value) requests.answer(id, JSON.parse(message.value.toString()) as Reply);
    },
  });

  process.on('message', (message: CallerRequest) => {
    switch (message.type) {
      case 'closed':
        void closedLoop(requests, message.outstanding, message.seconds, message.command).then((report) => process.send!({ type: 'done', ...report }));
        break;
      case 'open':
        void openLoop(requests, message.rate, message.seconds, message.command).then((report) => process.send!({ type: 'done', ...report }));
        break;
      case 'stop':
        void Promise.all([producer.disconnect(), consumer.disconnect()]).finally(() => process.exit(0));
        setTimeout(() => process.exit(0), 5_000).unref();
        break;
    }
  });
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`kafka-caller: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
