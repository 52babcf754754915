/**
 * Read models at scale: how fast the projection runner catches up into the embedded
 * read store (and, as a small sample, into FerretDB); members-list and quick-search
 * latency through the HTTP stack for an org of 100 000 members and for the same org in
 * a deployment of 1 000 000; and how long a created member takes to show in the list
 * while commands arrive at 500/s.
 *
 *   npm run bench:readmodels                  # print the report (markdown): about 11 min on 2 cores, ~4 GB in the temp dir
 *   npm run bench:readmodels -- --write       # and replace the results block in BENCHMARKS.md
 *   npm run bench:readmodels -- --quick       # 10 000 / 100 000 members, fewer requests: about 1½ min
 *   options: --org-members 100000 --deployment-members 1000000 (0: none) --catchup-runs 2 --big-batch 10000
 *            --requests 500 --query-cap 10 --rate 500 --seconds 10 --cv-runs 3 --cv-clients 64 --mongo-members 500
 *   MONGODB_URL=...   run the Mongo sample against that server (a fresh database, dropped after)
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EventStore } from '../infra/eventstore/port';
import { SqliteEventStore } from '../infra/eventstore/sqlite';
import type { ReadStore } from '../infra/readstore/port';
import { MongoReadStore } from '../infra/readstore/mongo';
import { SqliteReadStore } from '../infra/readstore/sqlite';
import { createApp } from '../src/app';
import { loadSettings } from '../src/config/config';
import { ProjectionRunner } from '../src/readmodels/projection-runner';
import { eventRegistry } from '../domain/events';
import { fold } from '../projections/projection';
import { cleanupOnExit } from '../scripts/rig/cleanup';
import { Worker } from 'node:worker_threads';
import { addMembers, DATASET_NAMES, loadOrg, seedOrg, type SeededOrg } from './support/dataset';
import type { GenerateJob } from './support/generate-worker';
import { mongoTarget, type MongoTarget } from './support/servers';
import { ms, percentiles, sleep, type Percentiles } from './support/latency';
import { machineFacts } from './support/machine';
import { spread } from './support/measure';
import { num, writeSection } from './support/report';

interface Options {
  quick: boolean;
  write: boolean;
  orgMembers: number;
  deploymentMembers: number;
  catchupRuns: number;
  requests: number;
  rate: number;
  seconds: number;
  cvRuns: number;
  mongoMembers: number;
  /** Clients of the closed-loop command run. */
  cvClients: number;
  /** A second batch size for the catch-up runs (and the deployment's catch-up); 0: only the default. */
  bigBatch: number;
  /** Seconds one query row may take in all; a slow row stops early with fewer requests. */
  queryCap: number;
}

const MARKS = {
  start: '<!-- bench/readmodels.ts results: generated, `npm run bench:readmodels -- --write` replaces this block -->',
  end: '<!-- end of bench/readmodels.ts results -->',
};

const log = (line: string) => process.stderr.write(`[bench] ${new Date().toISOString().slice(11, 19)} ${line}\n`);

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const value = (name: string, fallback: number, min: number, max: number) => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return fallback;
    const raw = argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got ${raw}`);
    return n;
  };
  const orgMembers = Math.round(value('org-members', quick ? 10_000 : 100_000, 100, 5_000_000));
  const options: Options = {
    quick,
    write: argv.includes('--write'),
    orgMembers,
    deploymentMembers: Math.round(value('deployment-members', quick ? 100_000 : 1_000_000, 0, 20_000_000)),
    catchupRuns: Math.round(value('catchup-runs', quick ? 1 : 2, 0, 9)),
    requests: Math.round(value('requests', quick ? 200 : 500, 10, 100_000)),
    rate: value('rate', 500, 1, 10_000),
    seconds: value('seconds', quick ? 5 : 10, 1, 120),
    cvRuns: Math.round(value('cv-runs', quick ? 1 : 3, 0, 9)),
    mongoMembers: Math.round(value('mongo-members', quick ? 150 : 500, 0, 100_000)),
    queryCap: value('query-cap', quick ? 5 : 10, 1, 600),
    bigBatch: Math.round(value('big-batch', 10_000, 0, 1_000_000)),
    cvClients: Math.round(value('cv-clients', 64, 1, 4096)),
  };
  if (options.deploymentMembers !== 0 && options.deploymentMembers < options.orgMembers) throw new Error('--deployment-members must be 0 (skip) or at least --org-members');
  return options;
}

// ---------------------------------------------------------------- the app over inject

interface Reply {
  status: number;
  body: any;
}

async function call(app: NestFastifyApplication, method: 'GET' | 'POST', url: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const response = await app.inject({ method, url, headers, payload });
  let body: unknown = response.body;
  try {
    body = response.body ? JSON.parse(response.body) : undefined;
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.statusCode, body };
}

/** The whole Gatehouse on a data dir, as main.ts builds it (embedded stores, SQLite synchronous=FULL: the defaults). */
function startApp(dataDir: string): Promise<NestFastifyApplication> {
  return createApp({ settings: loadSettings({ DATA_DIR: dataDir }), logger: false });
}

function runnerOf(app: NestFastifyApplication): ProjectionRunner {
  return app.get(ProjectionRunner, { strict: false });
}

function withTimeout<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, overdue]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- catch-up

interface CatchUpSample {
  seconds: number;
  /** Events of the log the runner went through (handled or skipped by the type filter). */
  logEvents: number;
  /** Events applied, summed over the projections (an event two projections handle counts twice). */
  handled: number;
}

interface CatchUpRow {
  store: string;
  log: string;
  how: string;
  samples: CatchUpSample[];
  note?: string;
}

/** A runner of its own over `store` into `readStore`, from the read store's checkpoints (`from`: 0 for a fresh store) to the head. */
async function catchUpAlone(store: EventStore, readStore: ReadStore, timeoutSeconds: number, batchSize?: number, from = 0): Promise<CatchUpSample> {
  const head = Number(await store.headPosition()) - from;
  const runner = new ProjectionRunner(store, readStore, () => new Date());
  if (batchSize) runner.batchSize = batchSize;
  const start = performance.now();
  try {
    await runner.onApplicationBootstrap();
    await withTimeout(runner.caughtUp(), timeoutSeconds, 'catch-up');
    const seconds = (performance.now() - start) / 1000;
    const status = await runner.status();
    return { seconds, logEvents: head, handled: status.reduce((n, s) => n + s.eventsApplied, 0) };
  } finally {
    await runner.onApplicationShutdown();
  }
}

/** How the process answered while its runner caught up. */
interface Responsiveness {
  /** Until `createApp` returned (the runner catches up in the background from then on). */
  bootSeconds: number;
  /** From the start until caught up: the longest the event loop kept a 20 ms timer waiting beyond its 20 ms. */
  longestStallMs: number;
  /** GET /health/live every 100 ms from boot until caught up. */
  live: number[];
}

/** Starts the app on `dataDir` and waits until its runner has caught up; the app is left running. */
async function restartAndCatchUp(dataDir: string, from: number, to: number, timeoutSeconds: number): Promise<{ app: NestFastifyApplication; sample: CatchUpSample; responsiveness: Responsiveness }> {
  const start = performance.now();
  let tick = start;
  let longestStallMs = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longestStallMs = Math.max(longestStallMs, now - tick - 20);
    tick = now;
  }, 20);
  ticker.unref();
  const app = await startApp(dataDir);
  const bootSeconds = (performance.now() - start) / 1000;
  try {
    const runner = runnerOf(app);
    let done = false;
    const caughtUp = withTimeout(runner.caughtUp(), timeoutSeconds, 'catch-up in the app').finally(() => (done = true));
    const live: number[] = [];
    while (!done) {
      const asked = performance.now();
      await app.inject({ method: 'GET', url: '/health/live' });
      live.push(performance.now() - asked);
      await sleep(100);
    }
    await caughtUp;
    const seconds = (performance.now() - start) / 1000;
    const status = await runner.status();
    return { app, sample: { seconds, logEvents: to - from, handled: status.reduce((n, s) => n + s.eventsApplied, 0) }, responsiveness: { bootSeconds, longestStallMs, live } };
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  } finally {
    clearInterval(ticker);
  }
}

// ---------------------------------------------------------------- queries

interface QueryRow {
  group: string;
  label: string;
  /** The request path for the i-th request (rows cycle through a few values). */
  url(i: number): string;
  samples: number[];
  spent: number;
}

const LIST_PREFIXES = ['ma', 'sch', 'an', 'lu', 'ber', 'jo'];
const ONE = ['a', 'm', 's', 'j', 'l', 'e', 'k', 'd'];
const TWO = ['ma', 'an', 'ja', 'el', 'sc', 'lu', 'ro', 'he'];
const THREE = ['mar', 'sch', 'and', 'lin', 'kow', 'ber', 'joh', 'mül'];
const NONE = ['zqx', 'xvq', 'qzj', 'vxz'];

function queryRows(orgId: string, deepCursor: string): QueryRow[] {
  const base = `/v1/orgs/${orgId}/members`;
  const row = (group: string, label: string, url: (i: number) => string): QueryRow => ({ group, label, url, samples: [], spent: 0 });
  const q = (s: string) => encodeURIComponent(s);
  return [
    row('members list', 'first page (sort by name, 50)', () => base),
    row('members list', `q= 2–3-letter prefix (${LIST_PREFIXES.join(', ')})`, (i) => `${base}?q=${q(LIST_PREFIXES[i % LIST_PREFIXES.length])}`),
    row('members list', `q= matching nobody (${NONE.join(', ')})`, (i) => `${base}?q=${q(NONE[i % NONE.length])}`),
    row('members list', 'page 90 % deep, by cursor (sort by name)', () => `${base}?cursor=${deepCursor}`),
    row('members list', 'sort=-joined, first page (newest first)', () => `${base}?sort=-joined`),
    row('quick search', `1 letter (${ONE.join(', ')})`, (i) => `${base}/search?q=${q(ONE[i % ONE.length])}`),
    row('quick search', `2 letters (${TWO.join(', ')})`, (i) => `${base}/search?q=${q(TWO[i % TWO.length])}`),
    row('quick search', `3 letters (${THREE.join(', ')})`, (i) => `${base}/search?q=${q(THREE[i % THREE.length])}`),
    row('quick search', `3 letters matching nobody (${NONE.join(', ')})`, (i) => `${base}/search?q=${q(NONE[i % NONE.length])}`),
  ];
}

/**
 * One request at a time, rows interleaved in rounds (so a burst of load elsewhere
 * lands on every row), after a short warm-up. A row stops once it has spent `cap` seconds.
 */
async function measureQueries(app: NestFastifyApplication, token: string, rows: QueryRow[], requests: number, cap: number): Promise<void> {
  const rounds = 5;
  const perRound = Math.ceil(requests / rounds);
  for (const row of rows) {
    const warmupUntil = performance.now() + Math.min(2000, cap * 100);
    for (let i = 0; i < 10 && performance.now() < warmupUntil; i++) await expectOk(app, row.url(i), token);
  }
  let counter = 0;
  for (let round = 0; round < rounds; round++) {
    for (const row of rows) {
      for (let i = 0; i < perRound && row.samples.length < requests && row.spent < cap * 1000; i++) {
        const start = performance.now();
        await expectOk(app, row.url(counter++), token);
        const elapsed = performance.now() - start;
        row.samples.push(elapsed);
        row.spent += elapsed;
      }
    }
  }
}

async function expectOk(app: NestFastifyApplication, url: string, token: string): Promise<any> {
  const reply = await call(app, 'GET', url, { token });
  if (reply.status !== 200) throw new Error(`GET ${url}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/**
 * A cursor 90 % into the org's members by name, made the way the API makes one (the
 * sort key and id of the last row of a page), read from the read store's file. Also
 * returns the id of the row that must come first on that page, to check the API agrees.
 */
function deepCursor(readModelsFile: string, orgId: string, members: number): { cursor: string; firstId: string } {
  const db = new Database(readModelsFile, { readonly: true });
  try {
    const offset = Math.floor(members * 0.9);
    const rows = db
      .prepare(`SELECT json_extract(doc, '$.nameKey') AS k, id FROM rm_members WHERE json_extract(doc, '$.orgId') = ? ORDER BY json_extract(doc, '$.nameKey'), id LIMIT 2 OFFSET ?`)
      .all(orgId, offset) as Array<{ k: string; id: string }>;
    if (rows.length < 2) throw new Error(`the read store has fewer than ${offset + 2} members of the org`);
    return { cursor: Buffer.from(JSON.stringify([rows[0].k, rows[0].id])).toString('base64url'), firstId: rows[1].id };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- command to visible

interface CvResult {
  label: string;
  /** Commands per second offered (open loop), or undefined for the closed-loop probe. */
  offered?: number;
  sent: number;
  accepted: number;
  /** Accepted commands per second, from the first send to the last 201. */
  acceptedRate: number;
  /** Scheduled send (open loop) or send (closed loop) → 201. */
  post: Percentiles;
  /** 201 → the member is in the list read with Gatehouse-Min-Position. */
  visible: Percentiles;
  notVisible: number;
  failed: number;
  listReads: number;
  /** Answers that showed the member on the first page. */
  seen: number;
  /** Answers after the member's position that did not (newer members first), and how many of those were looked up, and missing. */
  unseen: number;
  checked: number;
  missing: number;
}

const VISIBLE_WITHIN_MS = 30_000;

/**
 * Creates members and, after each 201, reads the first page of the members list, newest
 * first, with Gatehouse-Min-Position set to the command's position (the server holds the
 * read until its read models have reached it).
 */
class CommandFlow {
  readonly post: number[] = [];
  readonly visible: number[] = [];
  notVisible = 0;
  failed = 0;
  listReads = 0;
  sent = 0;
  firstSent = Infinity;
  lastAccepted = 0;
  /** Answered lists that showed the new member on their first page. */
  seen = 0;
  /** Members whose list answer came after their position but did not show them on the first page (newer ones did). */
  private readonly unseen: Array<{ userId: string; nameKey: string }> = [];
  checked = 0;
  missing = 0;

  constructor(
    private readonly app: NestFastifyApplication,
    private readonly token: string,
    private readonly orgId: string,
    private readonly tag: string,
    /** 0, 1, 2…: which run of the bench this is (its members sort after earlier runs'). */
    private readonly run: number,
  ) {}

  async one(i: number, scheduledAt = performance.now()): Promise<void> {
    this.sent++;
    this.firstSent = Math.min(this.firstSent, performance.now());
    const { app, token, orgId } = this;
    // Names that sort after every other member, so the other benchmarks' pages do not move.
    const firstName = `Zz${String.fromCharCode(97 + this.run)}`;
    const lastName = `Visible ${String(i).padStart(6, '0')}`;
    const created = await call(app, 'POST', `/v1/orgs/${orgId}/members`, {
      token,
      body: { email: `cv.${this.tag}.${i}@example.org`, firstName, lastName, mode: 'setup-email' },
    });
    const acceptedAt = performance.now();
    if (created.status !== 201) {
      this.failed++;
      if (this.failed <= 3) log(`command ${i}: ${created.status} ${JSON.stringify(created.body)}`);
      return;
    }
    this.lastAccepted = Math.max(this.lastAccepted, acceptedAt);
    this.post.push(acceptedAt - scheduledAt);
    const userId = created.body.userId as string;
    const headers = { 'gatehouse-min-position': String(created.body.position) };
    // The first page of the list, newest first: its cost does not grow with the org or with a
    // backlog. The answer comes once the read models have reached the command's position (R-LIST-5),
    // so the member is in the list then; if newer members already pushed it off the first page,
    // verify() looks it up afterwards, for a sample.
    while (performance.now() < acceptedAt + VISIBLE_WITHIN_MS) {
      const reply = await call(app, 'GET', `/v1/orgs/${orgId}/members?sort=-joined&limit=20`, { token, headers });
      this.listReads++;
      if (reply.status === 503) continue; // read_model_behind: the server waited its 5 s; ask again while time is left
      if (reply.status !== 200) throw new Error(`list: ${reply.status} ${JSON.stringify(reply.body)}`);
      this.visible.push(performance.now() - acceptedAt);
      if ((reply.body.items as Array<{ userId: string }>).some((item) => item.userId === userId)) this.seen++;
      else this.unseen.push({ userId, nameKey: fold(`${firstName} ${lastName}`) });
      return;
    }
    this.notVisible++;
  }

  /**
   * After the run: up to `sample` of the members not seen on a first page, each looked up at its
   * place in the list (reverse name order, a cursor made the way the API makes one: [sort key, id]
   * of the row before). Not done while commands arrive: on a read store whose cursor reads scan
   * from the end of the index (SQLite before c12bf9d), each would cost more the more came after.
   */
  async verify(sample = 1000): Promise<void> {
    const picks = [...this.unseen].sort(() => Math.random() - 0.5).slice(0, sample);
    for (const { userId, nameKey } of picks) {
      const cursor = Buffer.from(JSON.stringify([nameKey, `${this.orgId}:${userId}\u0001`])).toString('base64url');
      const reply = await call(this.app, 'GET', `/v1/orgs/${this.orgId}/members?sort=-name&limit=1&cursor=${cursor}`, { token: this.token });
      this.checked++;
      if (reply.status !== 200 || reply.body.items[0]?.userId !== userId) this.missing++;
    }
  }

  result(label: string, offered?: number): CvResult {
    return {
      label,
      offered,
      sent: this.sent,
      accepted: this.post.length,
      acceptedRate: this.post.length / ((this.lastAccepted - this.firstSent) / 1000),
      post: percentiles(this.post),
      visible: percentiles(this.visible),
      notVisible: this.notVisible,
      failed: this.failed,
      listReads: this.listReads,
      seen: this.seen,
      unseen: this.unseen.length,
      checked: this.checked,
      missing: this.missing,
    };
  }
}

/** Closed loop: `workers` clients, each creating a member and waiting to see it, then the next. The rate the app sustains. */
async function cvCapacity(app: NestFastifyApplication, token: string, orgId: string, seconds: number, workers: number, tag: string, run: number): Promise<CvResult> {
  const flow = new CommandFlow(app, token, orgId, tag, run);
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  await withTimeout(
    Promise.all(
      Array.from({ length: workers }, async () => {
        while (performance.now() < deadline) await flow.one(n++);
      }),
    ),
    seconds + 120,
    'closed-loop command run',
  );
  await flow.verify();
  return flow.result(`closed loop, ${workers} clients`);
}

/** Open loop: command i is sent at start + i/rate whatever happened to the others. */
async function cvOpenLoop(app: NestFastifyApplication, token: string, orgId: string, rate: number, seconds: number, tag: string, run: number, label: string): Promise<CvResult> {
  const flow = new CommandFlow(app, token, orgId, tag, run);
  const total = Math.max(1, Math.round(rate * seconds));
  const inflight: Array<Promise<void>> = [];
  const start = performance.now() + 20;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + (next * 1000) / rate <= now) {
        inflight.push(flow.one(next, start + (next * 1000) / rate));
        next++;
      }
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, start + (next * 1000) / rate - performance.now()));
    };
    setTimeout(tick, 20);
  });
  await withTimeout(Promise.all(inflight), seconds * 10 + 120, 'open-loop command run');
  await flow.verify();
  return flow.result(label, rate);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const runId = randomBytes(3).toString('hex');
  const registry = eventRegistry();
  const began = performance.now();

  const { undo, undoAll } = cleanupOnExit();
  // Twice the longest run seen here, with room: a hang ends the bench instead of the machine's patience.
  const watchdogMinutes = options.quick ? 20 : 60;
  const watchdog = setTimeout(() => {
    log(`watchdog: not finished after ${watchdogMinutes} min, giving up`);
    process.exit(2);
  }, watchdogMinutes * 60_000);
  watchdog.unref();

  log('machine facts (includes a 1 s fdatasync probe of the temp dir)');
  const machine = machineFacts();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-readmodels-'));
  undo.push(() => fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }));
  const freeGb = fs.statfsSync(tmp).bavail * fs.statfsSync(tmp).bsize / 1e9;
  // Seen here: about 4.5 kB per member across event store and read store, plus 3.5 kB per member of the org for a standalone catch-up's store.
  const neededGb = ((options.deploymentMembers || options.orgMembers) * 4.5e3 + options.orgMembers * 3.5e3) / 1e9;
  if (freeGb < neededGb * 1.2) throw new Error(`the temp dir has ${freeGb.toFixed(1)} GB free; this run needs about ${neededGb.toFixed(1)} GB`);

  const catchUps: CatchUpRow[] = [];
  const generation: string[] = [];

  // ---- 1. The Mongo adapter on a small sample (FerretDB here), beside the embedded store on the same log.
  let mongoNote = '';
  if (options.mongoMembers > 0) {
    const sampleFile = path.join(tmp, 'sample-events.db');
    const sample = new SqliteEventStore({ file: sampleFile, registry });
    const org = await seedOrg(sample, 'Sample Org', 0, `s${runId}`);
    await addMembers(sample, org, { first: 1, count: options.mongoMembers, tag: `s${runId}` });
    const sampleLog = `sample: 1 org, ${int(options.mongoMembers)} members`;
    const embedded: CatchUpRow = { store: 'embedded SQLite', log: sampleLog, how: 'runner alone, fresh store', samples: [] };
    for (let run = 0; run < 3; run++) {
      const file = path.join(tmp, `sample-rm-${run}.db`);
      const readStore = new SqliteReadStore(file);
      embedded.samples.push(await catchUpAlone(sample, readStore, 120));
      await readStore.close();
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
    }
    log(`sample catch-up into embedded SQLite: ${num(median(embedded.samples, rateOf))} events/s`);
    const target = await mongoTarget();
    if (typeof target === 'string') {
      catchUps.push({ store: 'MongoDB adapter', log: sampleLog, how: target, samples: [] });
    } else {
      undo.push(target.stopSync);
      const mongoRow: CatchUpRow = { store: target.isFerretDb ? 'MongoDB adapter on FerretDB (not MongoDB)' : 'MongoDB adapter', log: sampleLog, how: 'runner alone, fresh database', samples: [] };
      const mongoRuns = target.isFerretDb ? 1 : 3;
      for (let run = 0; run < mongoRuns; run++) {
        const database = `gh_bench_${runId}_${run}`;
        const readStore = new MongoReadStore(target.url, database);
        try {
          log(`sample catch-up into ${target.description}, run ${run + 1}/${mongoRuns}`);
          mongoRow.samples.push(await catchUpAlone(sample, readStore, 900));
        } finally {
          await readStore.close();
          await dropDatabase(target, database);
        }
      }
      mongoNote = target.description;
      catchUps.push(mongoRow);
      log(`sample catch-up into ${target.description}: ${num(median(mongoRow.samples, rateOf))} events/s`);
      await target.stop();
    }
    catchUps.push(embedded);
    await sample.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(sampleFile + suffix, { force: true });
  }

  // ---- 2. The big org: created through HTTP, filled straight into its event store.
  const dataDir = path.join(tmp, 'data');
  const eventsFile = path.join(dataDir, 'events.db');
  const readModelsFile = path.join(dataDir, 'readmodels.db');
  log('creating the org through HTTP');
  let app = await startApp(dataDir);
  let appOpen = true;
  undo.push(() => {
    if (appOpen) void app.close();
  });
  const created = await call(app, 'POST', '/v1/orgs', {
    body: { name: 'Bench Org', preset: 'team', owner: { email: `owner.${runId}@example.org`, firstName: 'Olive', lastName: 'Owner', password: 'correct horse battery staple' } },
  });
  if (created.status !== 201) throw new Error(`org creation: ${created.status} ${JSON.stringify(created.body)}`);
  const { orgId, ownerId, token } = created.body as { orgId: string; ownerId: string; token: string };
  await runnerOf(app).caughtUp();
  await app.close();
  appOpen = false;

  let store = new SqliteEventStore({ file: eventsFile, registry });
  const bigOrg: SeededOrg = { orgId, ownerId, state: await loadOrg(store, orgId) };
  const positionBefore = Number(await store.headPosition());
  log(`appending ${int(options.orgMembers)} members to the org`);
  let t = performance.now();
  const orgEvents = await addMembers(store, bigOrg, { first: 1, count: options.orgMembers, tag: `b${runId}`, onProgress: (n) => log(`  ${int(n)} members`) });
  generation.push(`${int(options.orgMembers)} members of the org: ${int(orgEvents)} events in ${num((performance.now() - t) / 1000)} s`);
  const orgLog = `1 org, ${int(options.orgMembers)} members`;

  // The runner's default batch (1 000 events) in every run, and a bigger one in the first, to compare.
  // The constructor only keeps its arguments: a runner that never starts tells its default batch size.
  const defaultBatch = new ProjectionRunner(store, null as unknown as ReadStore, () => new Date()).batchSize;
  const batches = [defaultBatch, ...(options.bigBatch && options.bigBatch !== defaultBatch ? [options.bigBatch] : [])];
  const alone = batches.map((batch): CatchUpRow => ({ store: 'embedded SQLite', log: orgLog, how: `runner alone, fresh store, batchSize ${int(batch)}${batch === defaultBatch ? ' (the default)' : ''}`, samples: [] }));
  for (let run = 0; run < options.catchupRuns; run++) {
    for (const [b, batch] of batches.entries()) {
      // The bigger batch once: it is there to compare with, the default is what the app runs.
      if (b > 0 && run > 0) continue;
      const file = path.join(tmp, `rm-alone-${run}-${batch}.db`);
      log(`catch-up, runner alone, batchSize ${batch}, run ${run + 1}`);
      const readStore = new SqliteReadStore(file);
      alone[b].samples.push(await catchUpAlone(store, readStore, 1800, batch));
      await readStore.close();
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
      log(`  ${num(rateOf(alone[b].samples[alone[b].samples.length - 1]))} log events/s`);
    }
  }
  for (const row of alone) if (row.samples.length) catchUps.push(row);
  const positionAfter = Number(await store.headPosition());
  await store.close();

  log('restarting the app on the data dir: its runner catches up');
  let restarted = await restartAndCatchUp(dataDir, positionBefore, positionAfter, 1800);
  app = restarted.app;
  appOpen = true;
  catchUps.push({ store: 'embedded SQLite', log: orgLog, how: `app restart until caught up (boot included; batchSize ${int(defaultBatch)})`, samples: [restarted.sample] });
  const { bootSeconds, longestStallMs, live } = restarted.responsiveness;
  const liveLatency = percentiles(live);
  const catchUpNote = `App restart on the org's ${int(options.orgMembers)} members not yet projected: \`createApp\` returned after ${num(bootSeconds)} s and the runner caught up in the background (${num(restarted.sample.seconds)} s in all); from the start until caught up the event loop's longest stall was ${ms(longestStallMs)} ms (a 20 ms timer, boot included), and \`GET /health/live\`, asked every 100 ms, answered ${live.length} times, p50 ${ms(liveLatency.p50)} ms, slowest ${ms(Math.max(0, ...live))} ms.`;
  log(`  ${num(rateOf(restarted.sample))} log events/s; ${catchUpNote}`);

  // ---- 3. Query latency on the org.
  const deep = deepCursor(readModelsFile, orgId, options.orgMembers);
  const check = await expectOk(app, `/v1/orgs/${orgId}/members?cursor=${deep.cursor}&limit=1`, token);
  if (`${orgId}:${check.items[0]?.userId}` !== deep.firstId) throw new Error('the deep cursor does not land where the read store says it should');
  log(`query latency, ${int(options.orgMembers)}-member org`);
  const orgRows = queryRows(orgId, deep.cursor);
  await measureQueries(app, token, orgRows, options.requests, options.queryCap);

  // ---- 4. Command to visible: what the app sustains (closed loop), the rate asked for, and a rate it sustains.
  const cv: CvResult[] = [];
  if (options.cvRuns > 0) {
    log(`command to visible: closed loop, ${options.cvClients} clients, ${options.seconds / 2} s`);
    const capacity = await cvCapacity(app, token, orgId, options.seconds / 2, options.cvClients, `${runId}c`, 0);
    cv.push(capacity);
    log(`  ${num(capacity.acceptedRate)} commands/s; visible after 201: p50 ${ms(capacity.visible.p50)} ms, p99 ${ms(capacity.visible.p99)} ms`);
    await sleep(1000);
    // The rate asked for, several runs (unless a run falls far behind); if the app does not keep up
    // with it (median accepted rate under 95 % of it), runs at 80 % of the closed loop's rate too.
    let run = 1;
    const askedRuns: CvResult[] = [];
    for (let i = 0; i < options.cvRuns; i++) {
      await sleep(1000);
      log(`command to visible: open loop at ${options.rate}/s for ${options.seconds} s, run ${i + 1}/${options.cvRuns}`);
      const asked = await cvOpenLoop(app, token, orgId, options.rate, options.seconds, `${runId}a${i}`, run++, `open loop, ${int(options.rate)}/s offered`);
      cv.push(asked);
      askedRuns.push(asked);
      log(`  accepted ${num(asked.acceptedRate)}/s; visible after 201: p50 ${ms(asked.visible.p50)} ms, p99 ${ms(asked.visible.p99)} ms`);
      if (asked.acceptedRate < options.rate * 0.5) break;
    }
    if (spread(askedRuns.map((c) => c.acceptedRate)).median < options.rate * 0.95) {
      const rate = Math.max(10, Math.floor((capacity.acceptedRate * 0.8) / 10) * 10);
      for (let i = 0; i < options.cvRuns; i++) {
        await sleep(1000);
        log(`command to visible: open loop at ${rate}/s for ${options.seconds} s, run ${i + 1}/${options.cvRuns}`);
        const result = await cvOpenLoop(app, token, orgId, rate, options.seconds, `${runId}s${i}`, run++, `open loop, ${int(rate)}/s offered (80 % of the closed loop's rate)`);
        cv.push(result);
        log(`  accepted ${num(result.acceptedRate)}/s; visible after 201: p50 ${ms(result.visible.p50)} ms, p99 ${ms(result.visible.p99)} ms`);
      }
    }
  }
  await app.close();
  appOpen = false;

  // ---- 5. The deployment: more orgs of the same size in the same store, then the org again.
  let deploymentRows: QueryRow[] | undefined;
  let deploymentNote = '';
  let bootNote = '';
  const others = options.deploymentMembers > options.orgMembers ? options.deploymentMembers - options.orgMembers : 0;
  if (others > 0) {
    store = new SqliteEventStore({ file: eventsFile, registry });
    const before = Number(await store.headPosition());
    const orgCount = Math.ceil(others / options.orgMembers);
    deploymentNote = `1 org of ${int(options.orgMembers)} (the one measured, plus the members the command runs added) + ${orgCount} other orgs of ${int(Math.ceil(others / orgCount))}, ${int(others)} members`;
    // The other orgs are written on a worker thread while a runner of its own (the app is stopped)
    // follows the log into the data dir's read store: the two share the two cores, and the
    // deployment is ready in about the time of the slower of the two instead of their sum.
    const batch = options.bigBatch || defaultBatch;
    log(`appending ${int(others)} members in ${orgCount} more orgs (UserRegistered and MemberAdded only) on a worker thread, while a runner (batchSize ${batch}) follows`);
    const readStore = new SqliteReadStore(readModelsFile);
    const runner = new ProjectionRunner(store, readStore, () => new Date());
    runner.batchSize = batch;
    t = performance.now();
    await runner.onApplicationBootstrap();
    const job: GenerateJob = { eventsFile, perOrg: options.orgMembers, members: others, tag: `o${runId}`, events: 'projected' };
    const worker = new Worker(path.join(__dirname, 'support', 'generate-worker.js'), { workerData: job });
    undo.push(() => void worker.terminate());
    const written = await withTimeout(
      new Promise<{ events: number; seconds: number }>((resolve, reject) => {
        worker.on('message', (m: { org?: number; orgs?: number; seconds?: number; done?: boolean; events?: number; error?: string }) => {
          if (m.error) reject(new Error(`generator: ${m.error}`));
          else if (m.done) resolve({ events: m.events!, seconds: m.seconds! });
          else log(`  org ${m.org}/${m.orgs} written (${num(m.seconds!)} s)`);
        });
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`generator exited (${code}) before it was done`)));
      }),
      3600,
      'generating the other orgs',
    );
    generation.push(`${int(others)} members of ${orgCount} other orgs, UserRegistered and MemberAdded only: ${int(written.events)} events in ${num(written.seconds)} s, on a worker thread while the runner followed`);
    const after = Number(await store.headPosition());
    log(`  written; the runner is at ${runner.position()} of ${after}`);
    if (!(await runner.waitFor(BigInt(after), 3_600_000))) throw new Error('the runner did not catch up with the other orgs within an hour');
    const seconds = (performance.now() - t) / 1000;
    const handled = (await runner.status()).reduce((n, st) => n + st.eventsApplied, 0);
    await runner.onApplicationShutdown();
    await readStore.close();
    await store.close();
    catchUps.push({
      store: 'embedded SQLite',
      log: `+${int(others)} members in ${orgCount} orgs, onto the org's read models`,
      how: `runner alone, batchSize ${int(batch)}${batch === defaultBatch ? ' (the default)' : ''}, following the log while a worker thread wrote it (so both cores busy; the time is until the last event was applied)`,
      samples: [{ seconds, logEvents: after - before, handled }],
    });
    log(`  caught up after ${num(seconds)} s: ${num((after - before) / seconds)} log events/s`);

    log('restarting the app on the deployment');
    const bootStart = performance.now();
    app = await startApp(dataDir);
    appOpen = true;
    await withTimeout(runnerOf(app).caughtUp(), 600, 'catch-up in the app');
    bootNote = `App start on the ${int(options.deploymentMembers)}-member deployment, read models already caught up: ${num((performance.now() - bootStart) / 1000)} s to serve with the runner caught up.`;
    log(`  ${bootNote}`);
    log(`query latency, the same org in the ${int(options.deploymentMembers)}-member deployment`);
    const deepAgain = deepCursor(readModelsFile, orgId, options.orgMembers);
    deploymentRows = queryRows(orgId, deepAgain.cursor);
    await measureQueries(app, token, deploymentRows, options.requests, options.queryCap);
    await app.close();
    appOpen = false;
  }

  const totalMinutes = (performance.now() - began) / 60_000;
  const sqliteVersion = (new Database(':memory:').prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  const body = report({ options, machine, sqliteVersion, catchUps, catchUpNote, orgRows, deploymentRows, deploymentNote, bootNote, cv, generation, mongoNote, totalMinutes });
  process.stdout.write(`${body}\n`);
  if (options.write) {
    // Compiled to dist/bench/readmodels.js: the repository root is two levels up.
    writeSection(path.resolve(__dirname, '..', '..', 'BENCHMARKS.md'), body, MARKS);
    log('BENCHMARKS.md updated');
  }
  undoAll();
}

async function dropDatabase(target: MongoTarget, database: string): Promise<void> {
  const client = new MongoClient(target.url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.connect();
    await client.db(database).dropDatabase();
  } catch (error) {
    log(`could not drop database ${database}: ${(error as Error).message}`);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** A count: 12345 → "12 345". */
const int = (value: number) => String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
const rateOf = (s: CatchUpSample) => s.logEvents / s.seconds;
const handledRateOf = (s: CatchUpSample) => s.handled / s.seconds;
const median = (samples: CatchUpSample[], f: (s: CatchUpSample) => number) => spread(samples.map(f)).median;

// ---------------------------------------------------------------- report

interface ReportInput {
  options: Options;
  machine: ReturnType<typeof machineFacts>;
  sqliteVersion: string;
  catchUps: CatchUpRow[];
  catchUpNote: string;
  orgRows: QueryRow[];
  deploymentRows?: QueryRow[];
  deploymentNote: string;
  bootNote: string;
  cv: CvResult[];
  generation: string[];
  mongoNote: string;
  totalMinutes: number;
}

function report(r: ReportInput): string {
  const { options, machine } = r;
  const lines: string[] = [
    `### Read models, ${machine.date}${options.quick ? ' (--quick)' : ''}`,
    '',
    `- Machine: ${machine.nproc} cores (nproc), ${machine.cpuModel}, Node ${machine.node}, ${machine.kernel}, load average at start ${machine.loadAverage}; temp dir ${machine.tempFs}, ${num(machine.fdatasyncPerSecond)} fdatasync/s. Whole run: ${r.totalMinutes.toFixed(1)} min.`,
    `- Data: the measured org was created through HTTP (\`POST /v1/orgs\`), then ${int(options.orgMembers)} members were appended straight to the app's SQLite event store (\`appendMany\`, 250 members per call), each member the four events the create-member command commits in setup-email mode (EmailReserved, UserRegistered, MemberAdded, LinkIssued), decided by the domain's own deciders; names from ${DATASET_NAMES.first} first × ${DATASET_NAMES.last} last names, some accented. ${r.generation.join('; ')}.`,
    `- Stores: event store SQLite ${r.sqliteVersion} (WAL, synchronous=FULL: the app's default); read store the embedded SQLite one (WAL, synchronous=NORMAL) in the same data dir. The app is \`createApp\` with \`loadSettings({ DATA_DIR })\` and nothing else set, as in production.`,
    '',
    '#### Catch-up',
    '',
    '"Log events" are all the events the runner went through, including those its type filter skips (EmailReserved and LinkIssued, half of the org\'s log; the other orgs were written without them); "handled" counts each event once per projection that applied it (MemberAdded twice). Every runner here writes the same read models as the app\'s (directory and permission history).',
    '',
    '| Read store | Log | How | Log events | Handled | Seconds: median [min–max] | Log events/s | Handled events/s |',
    '|---|---|---|--:|--:|--:|--:|--:|',
  ];
  for (const row of r.catchUps) {
    if (row.samples.length === 0) {
      lines.push(`| ${row.store} | ${row.log} | ${row.how} | | | | | |`);
      continue;
    }
    const seconds = spread(row.samples.map((s) => s.seconds));
    const range = row.samples.length > 1 ? ` [${num(seconds.min)}–${num(seconds.max)}]` : '';
    lines.push(
      `| ${row.store} | ${row.log} | ${row.how}${row.samples.length > 1 ? `, ${row.samples.length} runs` : ''} | ${int(row.samples[0].logEvents)} | ${int(row.samples[0].handled)} | ${num(seconds.median)}${range} | ${num(median(row.samples, rateOf))} | ${num(median(row.samples, handledRateOf))} |`,
    );
  }
  lines.push('', r.catchUpNote);
  if (r.mongoNote) lines.push('', `The MongoDB adapter row ran on ${r.mongoNote}${r.mongoNote.startsWith('FerretDB') ? ': FerretDB is not MongoDB, and its speed (RIG.md: ~90 upserts/s on its SQLite backend, falling as collections grow) says nothing about MongoDB\'s. The row shows that the adapter catches up correctly end to end, and what a FerretDB deployment would get' : ''}.`);

  lines.push(
    '',
    '#### Query latency (ms), through the HTTP stack',
    '',
    `Each request goes through Fastify's \`inject\` (the whole Nest stack: session guard, validation pipe, access check from the write side, controller, read store; no sockets, so no network noise) as the org's Owner, one at a time; rows interleaved in 5 rounds after 10 warm-up requests each. Up to ${int(options.requests)} requests per row; a row stops after ${options.queryCap} s in all, so a slow row has fewer (n).${r.deploymentRows ? ` Deployment: ${r.deploymentNote}.` : ''}`,
    '',
    r.deploymentRows
      ? `| Query | Request | ${int(options.orgMembers)}-member org: p50 | p99 | n | in the ${int(options.deploymentMembers)}-member deployment: p50 | p99 | n |`
      : `| Query | Request | ${int(options.orgMembers)}-member org: p50 | p99 | n |`,
    r.deploymentRows ? '|---|---|--:|--:|--:|--:|--:|--:|' : '|---|---|--:|--:|--:|',
  );
  r.orgRows.forEach((row, i) => {
    const a = percentiles(row.samples);
    const cells = [row.group, row.label, ms(a.p50), ms(a.p99), String(a.n)];
    if (r.deploymentRows) {
      const b = percentiles(r.deploymentRows[i].samples);
      cells.push(ms(b.p50), ms(b.p99), String(b.n));
    }
    lines.push(`| ${cells.join(' | ')} |`);
  });

  if (r.bootNote) lines.push('', r.bootNote);

  if (r.cv.length) {
    lines.push(
      '',
      `#### Command accepted → visible in the list (${int(options.rate)} commands/s asked for)`,
      '',
      `Create-member commands (\`POST /v1/orgs/{org}/members\`, setup-email mode: 4 events and a mailbox file each) on the ${int(options.orgMembers)}-member org, through the same \`inject\` in the same process as the app. After each 201 the client reads the first page of the members list, newest first, 20 rows, with \`Gatehouse-Min-Position\` set to the command's position: the server holds the read until its read models have reached that position (R-LIST-5), so "visible" is 201 → that answer; those reads are part of the load. The member was on that page in the "on page 1" share of the answers; when newer members had pushed it off, up to 1 000 of those members per run were looked up at their place in the list after the run ("missing" would be a bug). Closed loop (${options.seconds / 2} s): ${options.cvClients} clients, each sending its next command once it has seen its last one: the rate the app sustains. Open loop (${options.seconds} s a run): commands sent on schedule whatever the server does; "POST" is scheduled send → 201, so it includes any lag in keeping the schedule (queueing when the rate is not sustained).`,
      '',
      '| Load | Commands sent | Accepted | Accepted/s | POST p50 (ms) | POST p99 | 201 → visible p50 (ms) | 201 → visible p99 | On page 1 | Looked up after / missing | No answer in 30 s |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const c of r.cv) {
      const onPage = c.seen + c.unseen ? `${Math.round((100 * c.seen) / (c.seen + c.unseen))} %` : '–';
      lines.push(`| ${c.label} | ${int(c.sent)} | ${int(c.accepted)}${c.failed ? ` (${c.failed} failed)` : ''} | ${num(c.acceptedRate)} | ${ms(c.post.p50)} | ${ms(c.post.p99)} | ${ms(c.visible.p50)} | ${ms(c.visible.p99)} | ${onPage} | ${int(c.checked)} / ${c.missing} | ${c.notVisible} |`);
    }
    for (const rate of new Set(r.cv.map((c) => c.offered).filter((o) => o !== undefined))) {
      const runs = r.cv.filter((c) => c.offered === rate);
      if (runs.length < 2) continue;
      const med = (f: (c: CvResult) => number) => spread(runs.map(f)).median;
      lines.push(`| **median of the ${runs.length} runs at ${int(rate!)}/s** | | | ${num(med((c) => c.acceptedRate))} | ${ms(med((c) => c.post.p50))} | ${ms(med((c) => c.post.p99))} | ${ms(med((c) => c.visible.p50))} | ${ms(med((c) => c.visible.p99))} | | | |`);
    }
  }
  return lines.join('\n');
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
