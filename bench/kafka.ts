/**
 * Events out to Kafka: how long an event takes from its commit to a consumer of
 * `gatehouse.events` while create-member commands arrive at a fixed rate, and how fast
 * the publisher catches up on a log it has never published. Commands in over Kafka:
 * commands/s and round trip of request/reply on `gatehouse.commands`, closed loop and
 * open loop, beside the same command through HTTP inject.
 *
 *   npm run bench:kafka                       # print the report (markdown): about 4 minutes on 2 cores
 *   npm run bench:kafka -- --write            # and replace the results block in BENCHMARKS.md
 *   options: --rates 200,500 --seconds 10 --runs 3 --catchup-events 50000 --catchup-runs 3 --brokers host:port
 *            --command-outstanding 1,16,64 --command-rates 50,200 (0: no open loop) --command-seconds 5
 *   KAFKA_BROKERS=host:port   use that broker (as --brokers); otherwise the bench starts one from the cached jars
 */
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { EventStore } from '../infra/eventstore/port';
import { SqliteEventStore } from '../infra/eventstore/sqlite';
import { SqliteReadStore } from '../infra/readstore/sqlite';
import { createApp } from '../src/app';
import { loadSettings } from '../src/config/config';
import { COMMANDS_TOPIC, EVENTS_TOPIC, KafkaBus } from '../infra/messaging/kafka';
import { KafkaPublisher } from '../src/messaging/kafka-publisher';
import { ProjectionRunner } from '../src/readmodels/projection-runner';
import { eventRegistry } from '../domain/events';
import { EVENT_STORE } from '../src/shared/tokens';
import { cleanupOnExit } from '../scripts/rig/cleanup';
import { addMembers, seedOrg } from './support/dataset';
import { kafkaTarget, type KafkaTarget } from './support/servers';
import type { CallerCommand, CallerReport, CallerRequest } from './support/kafka-caller';
import { ms, percentiles, type Percentiles } from './support/latency';
import { machineFacts } from './support/machine';
import { spread } from './support/measure';
import { num, writeSection } from './support/report';

interface Options {
  write: boolean;
  rates: number[];
  seconds: number;
  runs: number;
  catchupEvents: number;
  catchupRuns: number;
  brokers?: string;
  /** Requests kept outstanding by the closed-loop command runs. */
  commandOutstanding: number[];
  /** Commands/s of the open-loop runs over Kafka; none if empty. */
  commandRates: number[];
  commandSeconds: number;
}

const MARKS = {
  start: '<!-- bench/kafka.ts results: generated, `npm run bench:kafka -- --write` replaces this block -->',
  end: '<!-- end of bench/kafka.ts results -->',
};

/** Events per member in the catch-up seed (bench/support/dataset.ts: the four events of a create-member command). */
const EVENTS_PER_COMMAND = 4;

const log = (line: string) => process.stderr.write(`[bench] ${new Date().toISOString().slice(11, 19)} ${line}\n`);
const int = (n: number) => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ' ');

function parseOptions(argv: string[]): Options {
  const raw = (name: string) => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    return argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
  };
  const value = (name: string, fallback: number, min: number, max: number) => {
    const text = raw(name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got ${text}`);
    return n;
  };
  const rates = (raw('rates') ?? '200,500').split(',').map(Number);
  if (rates.some((r) => !Number.isFinite(r) || r < 1 || r > 10_000)) throw new Error('--rates must be commands/s from 1 to 10000, comma-separated');
  const commandOutstanding = (raw('command-outstanding') ?? '1,16,64').split(',').map(Number);
  if (commandOutstanding.some((n) => !Number.isInteger(n) || n < 1 || n > 1_000)) throw new Error('--command-outstanding must be whole numbers from 1 to 1000, comma-separated');
  const commandRates = (raw('command-rates') ?? '50,200').split(',').map(Number).filter((r) => r !== 0);
  if (commandRates.some((r) => !Number.isFinite(r) || r < 1 || r > 10_000)) throw new Error('--command-rates must be commands/s from 1 to 10000, comma-separated (0 for none)');
  return {
    write: argv.includes('--write'),
    rates,
    seconds: value('seconds', 10, 1, 120),
    runs: Math.round(value('runs', 3, 1, 9)),
    catchupEvents: Math.round(value('catchup-events', 50_000, 0, 5_000_000)),
    catchupRuns: Math.round(value('catchup-runs', 3, 1, 9)),
    brokers: raw('brokers'),
    commandOutstanding,
    commandRates,
    commandSeconds: value('command-seconds', 5, 1, 120),
  };
}

function withTimeout<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, overdue]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- the consumer process

interface ConsumerReport {
  count: number;
  latencies: number[];
  firstAt: number;
  lastAt: number;
}

class Consumer {
  private constructor(private readonly child: ChildProcess) {}

  static async start(brokers: string, logFile: string): Promise<Consumer> {
    const out = fs.openSync(logFile, 'a');
    const child = fork(path.join(__dirname, 'support', 'kafka-consumer.js'), [brokers, EVENTS_TOPIC, `gatehouse-bench-${randomBytes(4).toString('hex')}`], { stdio: ['ignore', out, out, 'ipc'] });
    fs.closeSync(out);
    const consumer = new Consumer(child);
    await withTimeout(consumer.next('ready'), 60, 'the consumer joining its group');
    return consumer;
  }

  next<T>(type: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { type: string }) => {
        if (message.type !== type) return;
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        resolve(message as T);
      };
      const onExit = (code: number | null) => reject(new Error(`the consumer process exited (${code}) while the bench waited for '${type}'`));
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }

  async window(from: bigint): Promise<void> {
    const answer = this.next('windowed');
    this.child.send({ type: 'window', from: from.toString() });
    await answer;
  }

  async report(expect: number, timeoutMs: number): Promise<ConsumerReport> {
    const answer = this.next<ConsumerReport>('report');
    this.child.send({ type: 'report', expect, timeoutMs });
    return answer;
  }

  stop(): void {
    if (this.child.connected) this.child.send({ type: 'stop' });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- latency under load

interface LoadRun {
  rate: number;
  sent: number;
  accepted: number;
  failed: number;
  /** Scheduled send → 201. */
  post: Percentiles;
  /** Events the run added to the log (the commands' and those the app's consumers appended after them). */
  committed: number;
  /** Of those, received by the consumer. */
  received: number;
  latency: Percentiles;
  /** Received events ÷ (first scheduled send → last event at the consumer). */
  publishedPerSecond: number;
}

async function inject(app: NestFastifyApplication, method: 'GET' | 'POST', url: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await app.inject({ method, url, headers, payload: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : undefined };
}

/** Open loop: command i is sent at start + i/rate whatever happened to the others; then waits until the consumer has every event. */
async function loadRun(app: NestFastifyApplication, store: EventStore, publisher: KafkaPublisher, consumer: Consumer, target: { orgId: string; token: string }, rate: number, seconds: number, tag: string): Promise<LoadRun> {
  const from = await store.headPosition();
  await consumer.window(from);
  const total = Math.max(1, Math.round(rate * seconds));
  const post: number[] = [];
  let failed = 0;
  const inflight: Array<Promise<void>> = [];
  const one = async (i: number, scheduledAt: number) => {
    const reply = await inject(app, 'POST', `/v1/orgs/${target.orgId}/members`, target.token, { email: `k.${tag}.${i}@example.org`, firstName: 'Kafka', lastName: `Load ${i}`, mode: 'setup-email' });
    if (reply.status === 201) post.push(performance.now() - scheduledAt);
    else if (++failed <= 3) log(`command ${i}: ${reply.status} ${JSON.stringify(reply.body)}`);
  };
  const start = performance.now() + 20;
  const startEpoch = performance.timeOrigin + start;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + (next * 1000) / rate <= now) {
        inflight.push(one(next, start + (next * 1000) / rate));
        next++;
      }
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, start + (next * 1000) / rate - performance.now()));
    };
    setTimeout(tick, 20);
  });
  await withTimeout(Promise.all(inflight), seconds * 10 + 120, 'open-loop command run');
  // The log's head once it stops moving (the app's consumers append after the commands, e.g. for the link email), published.
  const deadline = Date.now() + 120_000;
  let head = await store.headPosition();
  for (;;) {
    while (publisher.position < head && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    const now = await store.headPosition();
    if (now === head || Date.now() > deadline) break;
    head = now;
  }
  const committed = Number(head - from); // SQLite positions are consecutive
  const report = await consumer.report(committed, 60_000);
  return {
    rate,
    sent: total,
    accepted: post.length,
    failed,
    post: percentiles(post),
    committed,
    received: report.count,
    latency: percentiles(report.latencies),
    publishedPerSecond: report.count / ((report.lastAt - startEpoch) / 1000),
  };
}

// ---------------------------------------------------------------- catch-up

interface CatchUpRun {
  events: number;
  seconds: number;
  onTopic: number;
}

/** The app's KafkaPublisher alone on a seeded log, from checkpoint 0 (a fresh read store): start → Kafka acknowledged the head. */
async function catchUpRun(store: EventStore, brokers: string, dir: string, run: number): Promise<CatchUpRun> {
  const settings = loadSettings({ DATA_DIR: dir, KAFKA_BROKERS: brokers });
  const readStoreFile = path.join(dir, `publisher-checkpoint-${run}.db`);
  const readStore = new SqliteReadStore(readStoreFile);
  const admin = new Kafka({ clientId: 'gatehouse-bench-admin', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const onTopic = async () => {
    const topics = await admin.listTopics();
    if (!topics.includes(EVENTS_TOPIC)) return 0;
    return (await admin.fetchTopicOffsets(EVENTS_TOPIC)).reduce((sum, p) => sum + Number(p.high), 0);
  };
  const before = await onTopic();
  const head = await store.headPosition();
  const events = Number(head); // positions of the seeded SQLite log are 1…n
  const publisher = new KafkaPublisher(store, readStore, settings, new KafkaBus(settings.kafka, { topicPrefix: settings.KAFKA_TOPIC_PREFIX, partitions: settings.KAFKA_PARTITIONS }));
  const started = performance.now();
  await publisher.onApplicationBootstrap();
  const deadline = Date.now() + 600_000;
  while (publisher.position < head && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - started) / 1000;
  if (publisher.position < head) throw new Error(`catch-up: the publisher reached ${publisher.position} of ${head} in 600 s`);
  await publisher.onApplicationShutdown();
  const after = await onTopic();
  await admin.disconnect();
  await readStore.close();
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(readStoreFile + suffix, { force: true });
  return { events, seconds, onTopic: after - before };
}

// ---------------------------------------------------------------- commands over Kafka

/** The kafkajs caller of `gatehouse.commands` in its own process (bench/support/kafka-caller.ts). */
class Caller {
  private constructor(private readonly child: ChildProcess) {}

  static async start(brokers: string, logFile: string): Promise<Caller> {
    const out = fs.openSync(logFile, 'a');
    const child = fork(path.join(__dirname, 'support', 'kafka-caller.js'), [brokers, COMMANDS_TOPIC], { stdio: ['ignore', out, out, 'ipc'] });
    fs.closeSync(out);
    const caller = new Caller(child);
    await withTimeout(caller.next('ready'), 60, 'the caller joining its reply group');
    return caller;
  }

  private next<T>(type: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { type: string }) => {
        if (message.type !== type) return;
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        resolve(message as T);
      };
      const onExit = (code: number | null) => reject(new Error(`the caller process exited (${code}) while the bench waited for '${type}'`));
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }

  run(request: Exclude<CallerRequest, { type: 'stop' }>): Promise<CallerReport> {
    const answer = this.next<CallerReport>('done');
    this.child.send(request);
    return withTimeout(answer, request.seconds * 10 + 120, `the caller's ${request.type}-loop run`);
  }

  stop(): void {
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies CallerRequest);
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** One command run: over Kafka (the caller's report) or HTTP inject (the same shape, measured here). */
interface CommandRun extends CallerReport {
  via: 'kafka' | 'http';
  /** Outstanding requests (closed loop), or 0 for the open loop. */
  outstanding: number;
  rate: number;
  /** CPU time of the app's process (user + system) during the run, ms; the Kafka caller runs in a process of its own. */
  cpuMs: number;
}

/** A run with the app process's CPU time around it. */
async function withCpu<T>(run: () => Promise<T>): Promise<T & { cpuMs: number }> {
  const before = process.cpuUsage();
  const result = await run();
  const used = process.cpuUsage(before);
  return { ...result, cpuMs: (used.user + used.system) / 1000 };
}

const cpuPerCommand = (run: CommandRun) => run.cpuMs / Math.max(1, run.ok);

const commandsPerSecond = (run: CommandRun) => run.ok / run.seconds;

/** The caller's closed loop, through `app.inject` in the bench's (the app's) process: send → 201 is the round trip. */
async function httpClosedLoop(app: NestFastifyApplication, command: CallerCommand, outstanding: number, seconds: number): Promise<CallerReport> {
  const latencies: number[] = [];
  const errors: string[] = [];
  let sent = 0;
  let failed = 0;
  let lastAt = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const n = sent++;
      const sentAt = performance.now();
      const reply = await inject(app, 'POST', `/v1/orgs/${command.org}/members`, command.token, { email: `kh.${command.tag}.${n}@example.org`, firstName: 'Http', lastName: `Caller ${n}`, mode: 'setup-email' });
      lastAt = performance.now();
      if (reply.status === 201) latencies.push(lastAt - sentAt);
      else if (++failed <= 3) errors.push(`${reply.status} ${JSON.stringify(reply.body)}`);
    }
  };
  await Promise.all(Array.from({ length: outstanding }, loop));
  return { sent, ok: latencies.length, failed, errors, latencies, seconds: (lastAt - start) / 1000 };
}

/** Partitions of `gatehouse.commands` and the messages on each (high watermarks). */
async function commandPartitions(brokers: string): Promise<number[]> {
  const admin = new Kafka({ clientId: 'gatehouse-bench-admin', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(COMMANDS_TOPIC)).sort((a, b) => a.partition - b.partition).map((p) => Number(p.high));
  } finally {
    await admin.disconnect();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const runId = randomBytes(3).toString('hex');
  const began = performance.now();
  // The app runs without a logger; the publisher made outside it (catch-up) would log to stdout, where the report goes.
  Logger.overrideLogger(['error']);

  const { undo } = cleanupOnExit();
  const watchdog = setTimeout(() => {
    log('watchdog: not finished after 30 min, giving up');
    process.exit(2);
  }, 30 * 60_000);
  watchdog.unref();

  log('machine facts (includes a 1 s fdatasync probe of the temp dir)');
  const machine = machineFacts();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-kafka-run-'));
  undo.push(() => fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));

  log('starting the Kafka broker');
  const target: KafkaTarget | string = await kafkaTarget(options.brokers);
  if (typeof target === 'string') throw new Error(target);
  undo.push(target.stopSync);
  log(`broker: ${target.brokers}`);

  // ---- 1. Commit → consumer under load, through the whole app.
  const dataDir = path.join(tmp, 'data');
  const settings = loadSettings({ DATA_DIR: dataDir, KAFKA_BROKERS: target.brokers });
  const appStarted = performance.now();
  const app = await createApp({ settings, logger: false });
  const appSeconds = (performance.now() - appStarted) / 1000;
  let appOpen = true;
  undo.push(() => {
    if (appOpen) void app.close();
  });
  const store = app.get<EventStore>(EVENT_STORE);
  const publisher = app.get(KafkaPublisher, { strict: false });
  const runner = app.get(ProjectionRunner, { strict: false });
  const created = await inject(app, 'POST', '/v1/orgs', undefined, {
    name: 'Kafka Bench Org',
    preset: 'team',
    owner: { email: `owner.${runId}@example.org`, firstName: 'Olive', lastName: 'Owner', password: 'correct horse battery staple' },
  });
  if (created.status !== 201) throw new Error(`org creation: ${created.status} ${JSON.stringify(created.body)}`);
  const org = { orgId: created.body.orgId as string, token: created.body.token as string };
  await runner.caughtUp();

  log('starting the consumer');
  const consumer = await Consumer.start(target.brokers, path.join(tmp, 'consumer.log'));
  undo.push(() => consumer.kill());
  log('warm-up: 2 s at 100 commands/s');
  const warm = await loadRun(app, store, publisher, consumer, org, 100, 2, `${runId}w`);
  log(`  warm-up: ${warm.received}/${warm.committed} events, p50 ${ms(warm.latency.p50)} ms`);

  const loads = new Map<number, LoadRun[]>(options.rates.map((r) => [r, []]));
  for (let run = 0; run < options.runs; run++) {
    for (const rate of options.rates) {
      log(`load: ${rate} commands/s for ${options.seconds} s, run ${run + 1}/${options.runs}`);
      const result = await loadRun(app, store, publisher, consumer, org, rate, options.seconds, `${runId}r${rate}n${run}`);
      log(`  ${result.accepted}/${result.sent} accepted, ${result.received}/${result.committed} events received, latency p50 ${ms(result.latency.p50)} ms p99 ${ms(result.latency.p99)} ms, ${num(result.publishedPerSecond)} events/s`);
      loads.get(rate)!.push(result);
    }
  }
  consumer.stop();

  // ---- 2. Commands in over Kafka: request/reply on gatehouse.commands, beside HTTP inject.
  log('starting the command caller');
  const caller = await Caller.start(target.brokers, path.join(tmp, 'caller.log'));
  undo.push(() => caller.kill());
  const command = (tag: string): CallerCommand => ({ org: org.orgId, token: org.token, tag: `${runId}${tag}` });
  const logRun = (run: CommandRun) => {
    const latency = percentiles(run.latencies);
    log(`  ${run.via}: ${run.ok}/${run.sent} ok, ${num(commandsPerSecond(run))} commands/s, round trip p50 ${ms(latency.p50)} ms p99 ${ms(latency.p99)} ms, app CPU ${ms(cpuPerCommand(run))} ms per command`);
    for (const error of run.errors) log(`  ${run.via} failure: ${error}`);
  };
  log('warm-up: one command over Kafka, then 2 s at 16 outstanding over Kafka and HTTP');
  const first = await caller.run({ type: 'closed', outstanding: 1, seconds: 0.001, command: command('cw0') });
  if (first.ok !== 1) throw new Error(`the first command over Kafka failed: ${first.errors.join('; ')}`);
  logRun({ ...(await withCpu(() => caller.run({ type: 'closed', outstanding: 16, seconds: 2, command: command('cw') }))), via: 'kafka', outstanding: 16, rate: 0 });
  logRun({ ...(await withCpu(() => httpClosedLoop(app, command('hw'), 16, 2))), via: 'http', outstanding: 16, rate: 0 });
  const commandRuns: CommandRun[] = [];
  for (let run = 0; run < options.runs; run++) {
    for (const outstanding of options.commandOutstanding) {
      log(`commands: ${outstanding} outstanding for ${options.commandSeconds} s, over Kafka then HTTP, run ${run + 1}/${options.runs}`);
      const kafka: CommandRun = { ...(await withCpu(() => caller.run({ type: 'closed', outstanding, seconds: options.commandSeconds, command: command(`ck${outstanding}n${run}`) }))), via: 'kafka', outstanding, rate: 0 };
      logRun(kafka);
      const http: CommandRun = { ...(await withCpu(() => httpClosedLoop(app, command(`ch${outstanding}n${run}`), outstanding, options.commandSeconds))), via: 'http', outstanding, rate: 0 };
      logRun(http);
      commandRuns.push(kafka, http);
    }
    for (const rate of options.commandRates) {
      log(`commands: ${rate}/s over Kafka for ${options.commandSeconds} s, open loop, run ${run + 1}/${options.runs}`);
      const open: CommandRun = { ...(await withCpu(() => caller.run({ type: 'open', rate, seconds: options.commandSeconds, command: command(`co${rate}n${run}`) }))), via: 'kafka', outstanding: 0, rate };
      logRun(open);
      commandRuns.push(open);
    }
  }
  caller.stop();
  const partitions = await commandPartitions(target.brokers);
  await app.close();
  appOpen = false;

  // ---- 3. Catch-up: the publisher alone on a log it has never published.
  const catchUps: CatchUpRun[] = [];
  let seeded = { events: 0, seconds: 0 };
  if (options.catchupEvents > 0) {
    const logFile = path.join(tmp, 'catchup-events.db');
    const seedStore = new SqliteEventStore({ file: logFile, registry: eventRegistry() });
    const members = Math.ceil(options.catchupEvents / EVENTS_PER_COMMAND);
    log(`seeding ${int(members * EVENTS_PER_COMMAND)} events (${int(members)} members) for the catch-up`);
    const t = performance.now();
    const seededOrg = await seedOrg(seedStore, 'Catch-up Org', 0, `c${runId}`);
    await addMembers(seedStore, seededOrg, { first: 1, count: members, tag: `c${runId}` });
    seeded = { events: Number(await seedStore.headPosition()), seconds: (performance.now() - t) / 1000 };
    for (let run = 0; run < options.catchupRuns; run++) {
      log(`catch-up: run ${run + 1}/${options.catchupRuns}`);
      const result = await catchUpRun(seedStore, target.brokers, tmp, run);
      log(`  ${int(result.events)} events in ${num(result.seconds)} s: ${num(result.events / result.seconds)} events/s; ${int(result.onTopic)} new messages on the topic`);
      catchUps.push(result);
    }
    await seedStore.close();
  }

  await target.stop();
  const body = report({ options, machine, broker: target.description, appSeconds, loads, commandRuns, partitions, partitionsSetting: settings.KAFKA_PARTITIONS, catchUps, seeded, minutes: (performance.now() - began) / 60_000 });
  process.stdout.write(`${body}\n`);
  if (options.write) {
    writeSection(path.resolve(__dirname, '..', '..', 'BENCHMARKS.md'), body, MARKS);
    log('BENCHMARKS.md updated');
  }
}

// ---------------------------------------------------------------- report

interface ReportInput {
  options: Options;
  machine: ReturnType<typeof machineFacts>;
  broker: string;
  appSeconds: number;
  loads: Map<number, LoadRun[]>;
  commandRuns: CommandRun[];
  /** Messages on each partition of gatehouse.commands at the end of the command runs. */
  partitions: number[];
  partitionsSetting: number;
  catchUps: CatchUpRun[];
  seeded: { events: number; seconds: number };
  minutes: number;
}

function report(r: ReportInput): string {
  const { options, machine } = r;
  const range = (values: number[], format: (n: number) => string) => {
    const s = spread(values);
    return values.length > 1 ? `${format(s.median)} [${format(s.min)}–${format(s.max)}]` : format(s.median);
  };
  const lines = [
    `### Kafka, ${machine.date}`,
    '',
    `- Machine: ${machine.nproc} cores (nproc), ${machine.cpuModel.replace(/ \d+-Core Processor$/, '')}, Node ${machine.node}, ${machine.kernel}, load average at start ${machine.loadAverage}; temp dir ${machine.tempFs}, ${int(machine.fdatasyncPerSecond)} fdatasync/s. Whole run: ${num(r.minutes)} min.`,
    `- Broker: ${r.broker}; on the same machine, so it shares the 2 cores with the app, the consumer and the command caller. \`${EVENTS_TOPIC}\` created by the publisher with KAFKA_PARTITIONS = 6; one org, so every event of the load runs goes to one partition (key = org id).`,
    `- App: \`createApp\` with \`loadSettings({ DATA_DIR, KAFKA_BROKERS })\` and nothing else set: SQLite event store (WAL, synchronous=FULL), embedded read store, the KafkaPublisher (idempotent producer, acks all, one request in flight, batches of up to 500 events, checkpoint in the read store), the Kafka command consumer, and the email and seat consumers reading \`${EVENTS_TOPIC}\` (a consumer group each, every event fetched by both, each handled event id recorded in the read store) on. Start with Kafka: ${num(r.appSeconds)} s.`,
    `- Consumer: kafkajs 2.2.4 in its own process (\`bench/support/kafka-consumer.ts\`), a fresh consumer group, default fetch settings. Latency = the consumer's wall clock when it got the message − the envelope's \`recordedAt\` (the commit's time, millisecond resolution, so up to 1 ms is truncation), same machine clock.`,
    '',
    `#### Commit → consumer, under load`,
    '',
    `Create-member commands (\`POST /v1/orgs/{org}/members\`, setup-email mode) through Fastify's \`inject\` in the app's process, open loop: command i sent at start + i/rate whatever happened to the others, ${options.seconds} s a run; runs interleaved across rates after a 2 s warm-up at 100/s. "Log events per command" = events the runs added to the log ÷ commands accepted (the command's own events and any the app's consumers append after it). "Published events/s" = events the consumer received ÷ (first scheduled send → last event at the consumer). Each figure: median of ${options.runs} runs, [min–max] of those runs.`,
    '',
    '| Offered commands/s | Log events per command | Commands accepted (of sent) | POST p50 ms (scheduled → 201) | Events received / committed | Latency p50 ms | Latency p99 ms | Latency max ms | Published events/s |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const [rate, runs] of r.loads) {
    const sent = runs.reduce((s, x) => s + x.sent, 0);
    const accepted = runs.reduce((s, x) => s + x.accepted, 0);
    const received = runs.reduce((s, x) => s + x.received, 0);
    const committed = runs.reduce((s, x) => s + x.committed, 0);
    lines.push(
      `| ${int(rate)} | ${num(committed / accepted)} | ${int(accepted)} of ${int(sent)} | ${range(runs.map((x) => x.post.p50), ms)} | ${int(received)} / ${int(committed)} | ${range(runs.map((x) => x.latency.p50), ms)} | ${range(runs.map((x) => x.latency.p99), ms)} | ${range(runs.map((x) => x.latency.max), ms)} | ${range(runs.map((x) => x.publishedPerSecond), num)} |`,
    );
  }
  if (r.catchUps.length > 0) {
    const rates = r.catchUps.map((c) => c.events / c.seconds);
    lines.push(
      '',
      '#### Catch-up: a log never published',
      '',
      `The app's \`KafkaPublisher\` alone (no HTTP, no projections) on a SQLite log of ${int(r.seeded.events)} events (1 org, each member the four events \`bench/support/dataset.ts\` writes (EmailReserved, UserRegistered, MemberAdded, LinkIssued), appended straight to the store with the domain's deciders in ${num(r.seeded.seconds)} s), from checkpoint 0 (a fresh read store each run). Time = from \`onApplicationBootstrap\` (producer connect and topic check included) until Kafka acknowledged the log's head; afterwards the topic's offsets were checked to have grown by every event. Median of ${r.catchUps.length} runs, [min–max].`,
      '',
      '| Events in the log | Seconds | Events/s | New messages on the topic (per run) |',
      '|--:|--:|--:|--:|',
      `| ${int(r.catchUps[0].events)} | ${range(r.catchUps.map((c) => c.seconds), num)} | ${range(rates, num)} | ${r.catchUps.map((c) => int(c.onTopic)).join(', ')} |`,
    );
  }
  if (r.commandRuns.length > 0) {
    const kafkaRuns = r.commandRuns.filter((x) => x.via === 'kafka');
    lines.push(
      '',
      '#### Commands over Kafka: request/reply',
      '',
      `The same create-member command (\`members.create\`, setup-email mode, no idempotency key) as a message on \`${COMMANDS_TOPIC}\` from a kafkajs 2.2.4 caller in its own process (\`bench/support/kafka-caller.ts\`: default producer, acks all; a random message key per request; replies on a one-partition topic of its own, which its consumer reads), and, for comparison, as \`POST /v1/orgs/{org}/members\` through Fastify's \`inject\` in the app's process (HTTP's whole stack in the app — routing, body parsing, hooks, serialization — without a socket). \`${COMMANDS_TOPIC}\`: ${r.partitions.length} partitions (KAFKA_PARTITIONS = ${r.partitionsSetting}), read by the app's Kafka command server (\`src/messaging/kafka-command-server.ts\`: one consumer group, kafkajs \`eachBatch\` with \`partitionsConsumedConcurrently\` = KAFKA_PARTITIONS; a batch's commands run side by side, in order within a message key, each through its controller method's Nest pipeline (guards, pipes, interceptors, the API's error filter) as \`src/messaging/command-routes.ts\` builds it; replies ready together leave in one produce request, plain producer, not idempotent); messages per partition at the end: ${r.partitions.map(int).join(', ')}. The bench's events consumer above was stopped; the publisher, the projections and the app's email and seat consumers (which read every event back from \`${EVENTS_TOPIC}\`) ran. Closed loop: that many requests outstanding, each sent when the one before it was answered, ${options.commandSeconds} s a run; round trip = send → reply received (Kafka) or → 201 (HTTP). Open loop: request i sent at start + i/rate whatever happened to the others; round trip from the scheduled send. Commands/s = answered ÷ (start → last answer). "Kafka ÷ HTTP" = a Kafka run's commands/s ÷ those of the HTTP run right after it at the same load, median of the pairs. App CPU = user + system CPU time of the app's process during the run ÷ commands answered (for HTTP it includes the in-process client; the Kafka caller runs in its own process). Runs interleaved (Kafka then HTTP for each outstanding count, then the open-loop rates) after a 2 s warm-up at 16 outstanding each way. Each figure: median of ${options.runs} runs, [min–max].`,
      '',
      '| Via | Load | Answered ok (of sent) | Commands/s | Kafka ÷ HTTP | App CPU ms per command | Round trip p50 ms | Round trip p99 ms | Round trip max ms |',
      '|:--|:--|--:|--:|--:|--:|--:|--:|--:|',
    );
    const loads = [...options.commandOutstanding.map((o) => ({ outstanding: o, rate: 0 })), ...options.commandRates.map((rate) => ({ outstanding: 0, rate }))];
    for (const load of loads) {
      for (const via of ['kafka', 'http'] as const) {
        const runs = r.commandRuns.filter((x) => x.via === via && x.outstanding === load.outstanding && x.rate === load.rate);
        if (runs.length === 0) continue;
        const latency = runs.map((x) => percentiles(x.latencies));
        const ok = runs.reduce((s, x) => s + x.ok, 0);
        const sent = runs.reduce((s, x) => s + x.sent, 0);
        // Each Kafka run with the HTTP run that followed it at the same load.
        const pairs = via === 'kafka' && load.outstanding > 0 ? runs.map((k) => (100 * commandsPerSecond(k)) / commandsPerSecond(r.commandRuns[r.commandRuns.indexOf(k) + 1])) : [];
        const ratio = pairs.length > 0 ? range(pairs, (x) => `${Math.round(x)} %`) : '';
        lines.push(
          `| ${via === 'kafka' ? 'Kafka' : 'HTTP inject'} | ${load.rate ? `open loop, ${int(load.rate)}/s` : `closed, ${load.outstanding} outstanding`} | ${int(ok)} of ${int(sent)} | ${range(runs.map(commandsPerSecond), num)} | ${ratio} | ${range(runs.map(cpuPerCommand), ms)} | ${range(latency.map((l) => l.p50), ms)} | ${range(latency.map((l) => l.p99), ms)} | ${range(latency.map((l) => l.max), ms)} |`,
        );
      }
    }
    const failed = kafkaRuns.reduce((s, x) => s + x.failed, 0);
    if (failed > 0) lines.push('', `${int(failed)} Kafka requests failed or had no reply in 60 s (the first of each run are in the bench's log).`);
  }
  return lines.join('\n');
}

main().catch((error) => {
  log(`failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
