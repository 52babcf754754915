/**
 * Sign-ins per second per core with the app's argon2id parameters, and the
 * latency of a session check among 10 000 live sessions, warm and cold.
 *
 *   npm run bench:signin                  # print the tables (markdown)
 *   npm run bench:signin -- --write       # and replace the results block in BENCHMARKS.md
 *   npm run bench:signin -- --quick       # one short run of everything (about 40 s), a smoke test
 *   options: --runs 3 --seconds 5 --check-seconds 3 --argon-runs 5 --argon-seconds 1
 *            --members 64 --sessions 10000 --concurrency 4,16 --check-concurrency 1,16
 *            --quiet-wait 0   (a shared machine: before each measured row, wait for other
 *                              processes to leave the cores idle, at most this long in all)
 *
 * The app runs as in production (createApp, embedded SQLite, synchronous=FULL) in
 * its own process (bench/support/signin-server.ts), listening on 127.0.0.1; the
 * bench is the client, over keep-alive HTTP/1.1. Everything it starts or writes
 * lives in one temp dir, removed at the end (also on Ctrl-C, a failure or the watchdog).
 */
import { randomBytes, randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hashPassword, verifyPassword } from '../infra/crypto/passwords';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../infra/eventstore/sqlite';
import { physicalCollection } from '../infra/readstore/port';
import { SqliteReadStore } from '../infra/readstore/sqlite';
import { directory } from '../projections/directory';
import { MEMBERS, type MemberRow } from '../projections/members';
import { ORGS } from '../projections/orgs';
import { sessionStream } from '../domain/session/session';
import { userStream } from '../domain/user/user';
import { hashToken } from '../infra/crypto/secrets';
import { Sessions } from '../src/auth/sessions.service';
import { loadSettings } from '../src/config/config';
import { eventRegistry } from '../domain/events';
import { Streams } from '../src/shared/streams';
import { cleanupOnExit } from '../scripts/rig/cleanup';
import { machineFacts } from './support/machine';
import { spread } from './support/measure';
import { num, writeSection } from './support/report';
import { AppProcess, Client, drive, type HttpSample, type Response } from './support/signin-client';
import { seedSessions, type SeededSession } from './support/signin-seed';
import { NameKeys } from '../infra/crypto/name-keys';
import { openSecretBox } from '../src/shared/event-store.provider';

interface Options {
  runs: number;
  seconds: number;
  checkSeconds: number;
  argonRuns: number;
  argonSeconds: number;
  members: number;
  sessions: number;
  concurrency: number[];
  checkConcurrency: number[];
  /** Before each measured row, wait for the rest of the machine to go quiet: at most this many seconds in all. */
  quietWait: number;
  quick: boolean;
  write: boolean;
}

const PASSWORD = 'correct horse battery staple';
/** The app's own bound (infra/crypto/passwords.ts), computed the same way, for the report. */
const APP_BOUND = Math.max(1, Number(process.env.UV_THREADPOOL_SIZE ?? 4) - 1);
/** Callers for the "app's bound" argon2 rows: more than the bound, so the bound is what limits. */
const ARGON_CALLERS = 16;
const MARKS = {
  start: '<!-- bench/signin.ts results: generated, `npm run bench:signin -- --write` replaces this block -->',
  end: '<!-- end of bench/signin.ts results -->',
};

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
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
  const list = (name: string, fallback: number[]) => {
    const text = raw(name);
    if (text === undefined) return fallback;
    const values = text.split(',').map(Number);
    if (values.some((n) => !Number.isInteger(n) || n < 1 || n > 256)) throw new Error(`--${name} must be a comma-separated list of integers from 1 to 256, got ${text}`);
    return values;
  };
  const options: Options = {
    runs: Math.round(value('runs', quick ? 1 : 3, 1, 11)),
    seconds: value('seconds', quick ? 2 : 5, 0.5, 60),
    checkSeconds: value('check-seconds', quick ? 1 : 3, 0.5, 60),
    argonRuns: Math.round(value('argon-runs', quick ? 1 : 5, 1, 21)),
    argonSeconds: value('argon-seconds', quick ? 0.5 : 1, 0.2, 30),
    members: Math.round(value('members', 64, 1, 10_000)),
    sessions: Math.round(value('sessions', quick ? 2_000 : 10_000, 100, 1_000_000)),
    concurrency: list('concurrency', [4, 16]),
    checkConcurrency: list('check-concurrency', [1, 16]),
    quietWait: value('quiet-wait', 0, 0, 600),
    quick,
    write: argv.includes('--write'),
  };
  if (options.members < Math.max(...options.concurrency)) throw new Error('--members must be at least the largest --concurrency: each concurrent worker signs in its own members');
  return options;
}

// ---------------------------------------------------------------------------------------------
// Small statistics

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Milliseconds with sensible digits: 0.123 → "0.12", 12.34 → "12.3", 1234 → "1 234". */
function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value < 1 ? value.toFixed(2) : num(value);
}

/** Median over runs, with [min–max] when there is more than one run. */
function med(values: number[], format: (n: number) => string = num): string {
  const s = spread(values);
  return values.length > 1 ? `${format(s.median)} [${format(s.min)}–${format(s.max)}]` : format(s.median);
}

function median(values: number[]): number {
  return spread(values).median;
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat; undefined where there is none. */
function machineBusySeconds(): number | undefined {
  try {
    const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return (user + nice + system + irq + softirq + (steal ?? 0)) / 100;
  } catch {
    return undefined;
  }
}

function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// Rows

interface ArgonRow {
  operation: 'hash' | 'verify';
  parallel: string;
  callers: number;
  runs: Array<{ rate: number; cores: number; others: number; p50: number }>;
}

interface HttpRow {
  label: string;
  cache?: string;
  concurrency: number;
  /** `flood`: sign-ins per second running beside the row's requests (their CPU is in the app's, so no CPU per request). */
  runs: Array<HttpSample & { rate: number; p50: number; p99: number; others: number; flood?: number }>;
}

function httpRun(sample: HttpSample, others: number) {
  const sorted = [...sample.latencies].sort((a, b) => a - b);
  return { ...sample, rate: sample.requests / sample.seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99), others };
}

/** `drive`, with how busy the rest of the machine was meanwhile (cores, beside the app and the bench). */
async function measured(app: AppProcess, workers: number, seconds: number, expected: number, send: (w: number, i: number) => Promise<Response> | undefined) {
  const busy = machineBusySeconds();
  const sample = await drive(app, workers, seconds, expected, send);
  const after = machineBusySeconds();
  const others = busy === undefined || after === undefined ? NaN : Math.max(0, (after - busy) / sample.seconds - sample.serverCores - sample.clientCores);
  return httpRun(sample, others);
}

/** Cores busy outside this process and `app` over `seconds`. */
async function otherLoad(app: AppProcess | undefined, seconds: number): Promise<number> {
  const busy = machineBusySeconds();
  const own = ownCpuSeconds();
  const appCpu = app ? await app.cpuSeconds() : 0;
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = machineBusySeconds();
  if (busy === undefined || after === undefined) return 0;
  const elapsed = (performance.now() - start) / 1000;
  const appAfter = app ? await app.cpuSeconds() : 0;
  return Math.max(0, (after - busy - (ownCpuSeconds() - own) - (appAfter - appCpu)) / elapsed);
}

/** Waits (at most `limit` s) until other processes use less than a third of a core; returns the seconds waited. */
async function quiet(app: AppProcess | undefined, limit: number, log: (line: string) => void): Promise<number> {
  if (limit <= 0) return 0;
  const start = performance.now();
  let load = await otherLoad(app, 0.3);
  while (load > 0.33 && (performance.now() - start) / 1000 < limit) {
    load = await otherLoad(app, 1);
  }
  const waited = (performance.now() - start) / 1000;
  if (waited > 1.5) log(`waited ${waited.toFixed(0)} s for other processes to go quiet (now ${load.toFixed(2)} cores busy outside the bench)`);
  return waited;
}

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const tag = randomBytes(3).toString('hex');

  // Everything started here is undone here, also on Ctrl-C, a failure or the watchdog.
  const { undo, undoAll } = cleanupOnExit();

  const checkRowsPerRun = 3 + options.checkConcurrency.length * 4; // cold ×2 (by token budget), warm, 401, live, flood
  const plannedSeconds =
    1 +
    4 * (options.argonRuns * options.argonSeconds + 0.3) +
    options.concurrency.length * (options.runs * options.seconds + 1) +
    15 +
    options.runs * (8 + checkRowsPerRun * options.checkSeconds) +
    5 +
    options.quietWait;
  let waited = 0;
  /** Before a measured row: wait for a quiet machine, from one budget of --quiet-wait seconds for the whole run. */
  const gate = async (app?: AppProcess) => {
    if (options.quietWait - waited > 0) waited += await quiet(app, options.quietWait - waited, log);
  };
  const watchdog = setTimeout(() => {
    log(`watchdog: not finished after ${Math.round(plannedSeconds * 2 + 180)} s, giving up`);
    process.exit(2);
  }, (plannedSeconds * 2 + 180) * 1000);
  watchdog.unref();
  log(`about ${Math.round(plannedSeconds)} s planned (${options.quick ? 'quick: one short run of each, a smoke test' : `${options.runs} runs of each HTTP row`})`);

  log('machine facts (includes a 1 s fdatasync probe of the temp dir)');
  const machine = machineFacts();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-signin-'));
  undo.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'app.log');

  // ---- 1. argon2id alone, in this process, through the app's own functions -------------------
  const knownHash = await hashPassword(PASSWORD);
  const argonRows: ArgonRow[] = [];
  for (const operation of ['hash', 'verify'] as const) {
    argonRows.push({ operation, parallel: '1 (one caller)', callers: 1, runs: [] });
    argonRows.push({ operation, parallel: `app's bound: ${APP_BOUND} at once (${ARGON_CALLERS} callers)`, callers: ARGON_CALLERS, runs: [] });
  }
  const argonOnce = async (row: ArgonRow, seconds: number) => {
    const op = row.operation === 'hash' ? () => hashPassword(PASSWORD) : () => verifyPassword(knownHash, PASSWORD).then((ok) => {
      if (!ok) throw new Error('verifyPassword refused the right password');
    });
    const latencies: number[] = [];
    const busy = machineBusySeconds();
    const cpu = ownCpuSeconds();
    const start = performance.now();
    const deadline = start + seconds * 1000;
    await Promise.all(
      Array.from({ length: row.callers }, async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          await op();
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    const cores = (ownCpuSeconds() - cpu) / elapsed;
    const after = machineBusySeconds();
    const others = busy === undefined || after === undefined ? NaN : Math.max(0, (after - busy) / elapsed - cores);
    return { rate: latencies.length / elapsed, cores, others, p50: percentile(latencies.sort((a, b) => a - b), 50) };
  };
  log(`argon2id: ${argonRows.length} rows × ${options.argonRuns} runs × ${options.argonSeconds} s`);
  for (const row of argonRows) await argonOnce(row, 0.3);
  for (let run = 1; run <= options.argonRuns; run++) {
    for (const row of argonRows) {
      await gate();
      const sample = await argonOnce(row, options.argonSeconds);
      row.runs.push(sample);
      log(`run ${run}/${options.argonRuns} ${row.operation}, ${row.parallel}: ${num(sample.rate)}/s, ${sample.cores.toFixed(2)} cores`);
    }
  }

  // ---- 2. sign-ins over HTTP --------------------------------------------------------------------
  log('starting the app on a fresh data dir');
  let app = await AppProcess.start(dataDir, logFile);
  undo.push(() => app.killSync());
  let client = new Client(app.port);
  const threadpool = app.threadpool || '4 (libuv default; UV_THREADPOOL_SIZE unset)';
  const org = await client.json<{ orgId: string; ownerId: string; token: string }>('POST', '/v1/orgs', 201, {
    body: { name: `Sign-in bench ${tag}`, preset: 'team', owner: { email: `owner.${tag}@example.org`, firstName: 'Olive', lastName: 'Owner', password: PASSWORD } },
  });
  const memberEmails = Array.from({ length: options.members }, (_, i) => `signin${i}.${tag}@example.org`);
  const createStart = performance.now();
  let nextMember = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = nextMember++; i < memberEmails.length; i = nextMember++) {
        await client.json('POST', `/v1/orgs/${org.orgId}/members`, 201, {
          token: org.token,
          body: { email: memberEmails[i], firstName: 'Bench', lastName: `Person${i}`, mode: 'set-password', password: PASSWORD },
        });
      }
    }),
  );
  log(`created the org and ${options.members} members (set-password) over HTTP in ${((performance.now() - createStart) / 1000).toFixed(1)} s`);

  const signInRows: HttpRow[] = options.concurrency.map((c) => ({ label: 'POST /v1/sessions', concurrency: c, runs: [] }));
  /** Tokens from sign-ins, to warm the code paths of later processes without touching the seeded sessions. */
  const spareTokens: string[] = [];
  const signIns = (row: HttpRow) => {
    // Worker w signs in members w, w+c, w+2c, ...: no two requests in flight are for the same account.
    const turn = new Array<number>(row.concurrency).fill(0);
    const perWorker = Math.floor(options.members / row.concurrency);
    return (w: number) => {
      const email = memberEmails[w + row.concurrency * (turn[w]++ % perWorker)];
      return client.request('POST', '/v1/sessions', { body: { email, password: PASSWORD } }).then((response) => {
        if (response.status === 201 && spareTokens.length < 2_000) spareTokens.push((JSON.parse(response.text) as { token: string }).token);
        return response;
      });
    };
  };
  log(`sign-ins: ${signInRows.length} rows × ${options.runs} runs × ${options.seconds} s`);
  await app.settle();
  for (const row of signInRows) await drive(app, row.concurrency, 1, 201, signIns(row));
  for (let run = 1; run <= options.runs; run++) {
    for (const row of signInRows) {
      await app.settle(); // the projections' share of the previous row is not counted in this one
      await gate(app);
      const sample = await measured(app, row.concurrency, options.seconds, 201, signIns(row));
      row.runs.push(sample);
      log(`run ${run}/${options.runs} sign-ins, ${row.concurrency} concurrent: ${num(sample.rate)}/s, p50 ${ms(sample.p50)} ms, p99 ${ms(sample.p99)} ms, app ${sample.serverCores.toFixed(2)} cores`);
    }
  }
  client.close();
  await app.stop();

  // ---- 3. live sessions, appended straight to the event store -----------------------------------
  log(`seeding ${num(options.sessions)} live sessions (one new member each) into the event store`);
  const seedStart = performance.now();
  const settings = loadSettings({ DATA_DIR: dataDir });
  const store = new SqliteEventStore({ file: path.join(dataDir, 'events.db'), registry: eventRegistry() });
  const seeded = await seedSessions(store, { orgId: org.orgId, ownerId: org.ownerId, count: options.sessions, passwordHash: knownHash, sessionTtlHours: settings.SESSION_TTL_HOURS, tag, names: new NameKeys(openSecretBox(settings)) });
  const eventCount = Number(await store.headPosition());
  await store.close();
  log(`seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s; the log now holds ${num(eventCount)} events`);

  // ---- 4. session checks: each run a fresh process (cold), then the same process (warm) ---------
  const checkRows: HttpRow[] = [];
  const row = (label: string, cache: string | undefined, concurrency: number) => {
    let found = checkRows.find((r) => r.label === label && r.cache === cache && r.concurrency === concurrency);
    if (!found) checkRows.push((found = { label, cache, concurrency, runs: [] }));
    return found;
  };
  const me = (token?: string) => client.request('GET', '/v1/me', token ? { token } : {});
  /** Per run: from fork to listening with every projection caught up. */
  const bootMs: number[] = [];
  // One token is spent on a sanity check of the first process; the rest are the ones measured.
  const [sanity, ...tokens] = seeded;
  for (let run = 1; run <= options.runs; run++) {
    app = await AppProcess.start(dataDir, logFile);
    client = new Client(app.port);
    const settleStart = performance.now();
    await app.settle();
    bootMs.push(app.startMs + performance.now() - settleStart);
    if (run === 1) {
      const check = await client.json<{ userId: string; memberships: unknown[] }>('GET', '/v1/me', 200, { token: sanity.token });
      if (check.userId !== sanity.userId || check.memberships.length !== 1) throw new Error(`GET /v1/me answered for the wrong person: ${JSON.stringify(check).slice(0, 200)}`);
    }
    // Warm the code paths (JIT, sockets) without touching a seeded session: tokens from the sign-in rows.
    const warmup = Math.max(...options.checkConcurrency);
    await drive(app, warmup, 1, 200, () => me(spareTokens[randomInt(spareTokens.length)]));
    await drive(app, warmup, 0.3, 401, () => me());
    await drive(app, warmup, 0.3, 200, () => client.request('GET', '/health/live'));

    // Cold: the first touch of each token in this process; half the tokens at most for each concurrency.
    const order = shuffled(tokens);
    let cursor = 0;
    const share = Math.floor(order.length / options.checkConcurrency.length);
    for (const c of options.checkConcurrency) {
      const end = cursor + share;
      await gate(app);
      const sample = await measured(app, c, options.checkSeconds, 200, () => (cursor < end ? me(order[cursor++].token) : undefined));
      cursor = end;
      row('GET /v1/me', 'cold (first touch of the token in a fresh process)', c).runs.push(sample);
      log(`run ${run}/${options.runs} cold, ${c} concurrent: ${num(sample.requests)} tokens, ${num(sample.rate)}/s, p50 ${ms(sample.p50)} ms, p99 ${ms(sample.p99)} ms`);
    }
    // Every token once, so that the warm rows run in a process that has seen them all.
    let rest = 0;
    await drive(app, 16, 120, 200, () => (rest < order.length ? me(order[rest++].token) : undefined));

    for (const c of options.checkConcurrency) {
      await gate(app);
      const warm = await measured(app, c, options.checkSeconds, 200, () => me(tokens[randomInt(tokens.length)].token));
      row('GET /v1/me', 'warm (the process has seen every token)', c).runs.push(warm);
      await gate(app);
      const denied = await measured(app, c, options.checkSeconds, 401, () => me());
      row('GET /v1/me without a token (401)', undefined, c).runs.push(denied);
      await gate(app);
      const live = await measured(app, c, options.checkSeconds, 200, () => client.request('GET', '/health/live'));
      row('GET /health/live (no auth)', undefined, c).runs.push(live);
      log(`run ${run}/${options.runs} ${c} concurrent: warm ${num(warm.rate)}/s p50 ${ms(warm.p50)} ms, 401 ${num(denied.rate)}/s, live ${num(live.rate)}/s`);
    }
    // The same warm check, one client, while the largest sign-in concurrency keeps argon2id busy:
    // what a flood of sign-ins does to everyone else (passwords.ts bounds the hashing for this).
    await gate(app);
    const flooders = Math.max(...options.concurrency);
    const signIn = signIns({ label: 'flood', concurrency: flooders, runs: [] });
    let flooding = true;
    let floodSignIns = 0;
    const flood = Promise.all(
      Array.from({ length: flooders }, async (_, w) => {
        while (flooding) {
          const response = await signIn(w);
          if (response.status !== 201) throw new Error(`sign-in during the flood: ${response.status} ${response.text.slice(0, 200)}`);
          floodSignIns++;
        }
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const floodStart = performance.now();
    const underFlood = await measured(app, 1, options.checkSeconds, 200, () => me(tokens[randomInt(tokens.length)].token)).finally(() => {
      flooding = false;
    });
    const floodRate = floodSignIns / ((performance.now() - floodStart) / 1000 + 0.5);
    await flood;
    row('GET /v1/me', `warm, during a sign-in flood (${flooders} clients signing in)`, 1).runs.push({ ...underFlood, flood: floodRate });
    log(`run ${run}/${options.runs} warm during a sign-in flood: ${num(underFlood.rate)}/s p50 ${ms(underFlood.p50)} ms p99 ${ms(underFlood.p99)} ms; ${num(floodRate)} sign-ins/s meanwhile`);
    client.close();
    await app.stop();
  }

  // ---- 5. where a check's time goes: Sessions.authenticate alone, in this process ---------------
  log('authenticate() alone, in this process (no HTTP)');
  const probeStore = new SqliteEventStore({ file: path.join(dataDir, 'events.db'), registry: eventRegistry() });
  const streams = new Streams(probeStore);
  const sessions = new Sessions(streams, settings, () => new Date());
  const probeTokens = shuffled(tokens).slice(0, Math.min(tokens.length, 5_000));
  const timeEach = async (items: SeededSession[], fn: (s: SeededSession) => Promise<unknown>) => {
    const times: number[] = [];
    for (const s of items) {
      const t0 = performance.now();
      await fn(s);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return { mean: (times.reduce((a, b) => a + b, 0) / times.length) * 1000, p50: percentile(times, 50) * 1000, p99: percentile(times, 99) * 1000 };
  };
  const authenticate = async (s: SeededSession) => {
    const principal = await sessions.authenticate(s.token);
    if (principal?.actor.id !== s.userId) throw new Error('authenticate() did not find a seeded session');
  };
  // Compile the code path first on other tokens, so the cold figure is the cache's, not the JIT's.
  await timeEach(shuffled(tokens).slice(0, 200), authenticate);
  const fresh = new Streams(probeStore);
  const coldSessions = new Sessions(fresh, settings, () => new Date());
  const probe = {
    cold: await timeEach(probeTokens, async (s) => {
      if ((await coldSessions.authenticate(s.token))?.actor.id !== s.userId) throw new Error('authenticate() did not find a seeded session');
    }),
    warm: await (async () => {
      await timeEach(probeTokens, authenticate);
      return timeEach(probeTokens, authenticate);
    })(),
    readSession: await timeEach(probeTokens, (s) => probeStore.readStream(sessionStream(hashToken(s.token)))),
    readUser: await timeEach(probeTokens, (s) => probeStore.readStream(userStream(s.userId))),
    readNothing: await timeEach(probeTokens, (s) => probeStore.readStream(sessionStream(hashToken(s.token)), 1)),
  };
  await probeStore.close();
  // What GET /v1/me does after the guard: the member rows of the user and their orgs, from the read model.
  const readStore = new SqliteReadStore(path.join(dataDir, 'readmodels.db'));
  const generation = await readStore.generation(directory.name);
  const membersOf = (userId: string) => readStore.find<MemberRow>({ collection: physicalCollection(MEMBERS, generation), where: { userId }, orderBy: [['orgId', 'asc'], ['id', 'asc']], limit: 1000 });
  const meQueries = async (s: SeededSession) => {
    const rows = await membersOf(s.userId);
    if (rows.length !== 1) throw new Error(`read model: ${rows.length} member rows for a seeded user`);
    await readStore.getMany(physicalCollection(ORGS, generation), rows.map((r) => r.orgId));
  };
  await timeEach(probeTokens.slice(0, 200), meQueries);
  const readModel = {
    both: await timeEach(probeTokens, meQueries),
    find: await timeEach(probeTokens, (s) => membersOf(s.userId)),
  };
  await readStore.close();
  // The same SELECT as that find, prepared once and reused, against preparing it for each call as SqliteReadStore.find does.
  const raw = new Database(path.join(dataDir, 'readmodels.db'), { readonly: true });
  const sql = `SELECT doc FROM rm_${physicalCollection(MEMBERS, generation)} WHERE json_extract(doc, '$.userId') = ? ORDER BY json_extract(doc, '$.orgId') ASC, id ASC LIMIT ?`;
  const statement = raw.prepare(sql);
  const prepared = {
    prepareOnly: await timeEach(probeTokens, async () => raw.prepare(sql)),
    reused: await timeEach(probeTokens, async (s) => (statement.all(s.userId, 1000) as Array<{ doc: string }>).map((r) => JSON.parse(r.doc))),
  };
  raw.close();

  // ---- report -------------------------------------------------------------------------------------
  const cores = Number(machine.nproc) || os.availableParallelism();
  const argonTable = [
    '| argon2id | At once | Per second: median [min–max] | Latency p50 ms (with the wait for a slot) | Cores used (CPU s / s) | Per core (÷ cores used) | Per core (÷ min(at once, cores)) |',
    '|---|---|--:|--:|--:|--:|--:|',
    ...argonRows.map((r) => {
      const rates = r.runs.map((s) => s.rate);
      const used = median(r.runs.map((s) => s.cores));
      const nominal = Math.min(r.callers === 1 ? 1 : APP_BOUND, cores);
      return `| ${r.operation} | ${r.parallel} | ${med(rates)} | ${ms(median(r.runs.map((s) => s.p50)))} | ${used.toFixed(2)} | ${num(median(r.runs.map((s) => s.rate / s.cores)))} | ${num(median(rates) / nominal)} |`;
    }),
  ].join('\n');

  const signInTable = [
    '| Concurrent clients | Sign-ins/s: median [min–max] | p50 ms | p99 ms | App cores used (CPU s / s) | Sign-ins per app CPU second | Other load (cores) |',
    '|--:|--:|--:|--:|--:|--:|--:|',
    ...signInRows.map((r) => {
      const rates = r.runs.map((s) => s.rate);
      return `| ${r.concurrency} | ${med(rates)} | ${med(r.runs.map((s) => s.p50), ms)} | ${med(r.runs.map((s) => s.p99), ms)} | ${median(r.runs.map((s) => s.serverCores)).toFixed(2)} | ${num(median(r.runs.map((s) => s.rate / s.serverCores)))} | ${median(r.runs.map((s) => s.others)).toFixed(2)} |`;
    }),
  ].join('\n');

  const rank = (r: HttpRow) => (r.cache?.startsWith('cold') ? 0 : r.cache?.includes('flood') ? 2 : r.cache ? 1 : r.label.includes('401') ? 3 : 4);
  const checkTable = [
    '| Request | Token | Concurrent clients | Requests/s: median [min–max] | p50 ms | p99 ms | App CPU per request (µs) | Client cores | Other load (cores) |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
    ...[...checkRows].sort((a, b) => rank(a) - rank(b) || a.concurrency - b.concurrency).map((r) => {
      const rates = r.runs.map((s) => s.rate);
      const flood = r.runs[0].flood !== undefined;
      const cpuPerRequest = flood ? '–' : num(median(r.runs.map((s) => (s.serverCores / s.rate) * 1e6)));
      const detail = r.cache?.startsWith('cold') ? `, ${num(median(r.runs.map((s) => s.requests)))} tokens/run` : flood ? `, ${num(median(r.runs.map((s) => s.flood!)))} sign-ins/s meanwhile` : '';
      const tokens = r.cache ? `${r.cache}${detail}` : '–';
      return `| ${r.label} | ${tokens} | ${r.concurrency} | ${med(rates)} | ${med(r.runs.map((s) => s.p50), ms)} | ${med(r.runs.map((s) => s.p99), ms)} | ${cpuPerRequest} | ${median(r.runs.map((s) => s.clientCores)).toFixed(2)} | ${median(r.runs.map((s) => s.others)).toFixed(2)} |`;
    }),
  ].join('\n');

  const us = (t: { mean: number; p50: number; p99: number }) => `${num(t.mean)} | ${num(t.p50)} | ${num(t.p99)}`;
  const probeTable = [
    '| In the bench process, no HTTP | µs mean | µs p50 | µs p99 |',
    '|---|--:|--:|--:|',
    `| \`Sessions.authenticate\`, cold (new \`Streams\` cache) | ${us(probe.cold)} |`,
    `| \`Sessions.authenticate\`, warm (both streams cached) | ${us(probe.warm)} |`,
    `| \`readStream\` of a session stream (1 event) | ${us(probe.readSession)} |`,
    `| \`readStream\` of a user stream (3 events) | ${us(probe.readUser)} |`,
    `| \`readStream\` past a stream's end (0 rows: what a cached load reads) | ${us(probe.readNothing)} |`,
    `| GET /v1/me's read-model queries (\`find\` member rows by userId + \`getMany\` orgs) | ${us(readModel.both)} |`,
    `| … the \`find\` alone | ${us(readModel.find)} |`,
    `| … its \`db.prepare(sql)\` alone (SqliteReadStore prepares on every call) | ${us(prepared.prepareOnly)} |`,
    `| … the same SELECT on a statement prepared once | ${us(prepared.reused)} |`,
  ].join('\n');

  const warmMe = checkRows.find((r) => r.cache?.startsWith('warm') && r.concurrency === options.checkConcurrency[0]);
  const denied = checkRows.find((r) => r.label.includes('401') && r.concurrency === options.checkConcurrency[0]);
  const cpuOf = (r?: HttpRow) => (r ? median(r.runs.map((s) => (s.serverCores / s.rate) * 1e6)) : NaN);
  const bestSignIn = Math.max(...signInRows.map((r) => median(r.runs.map((s) => s.rate))));

  const body = [
    `### Sign-ins and session checks, ${machine.date}${options.quick ? ' (--quick: one short run, a smoke test, not for comparison)' : ''}`,
    '',
    `- Machine: ${machine.nproc} cores (nproc), ${machine.cpuModel}, Node ${machine.node}, ${machine.kernel}, load average at start ${machine.loadAverage}. "Other load": cores busy outside the app and the bench during a run (/proc/stat), median of the runs.`,
    `- argon2id as the app uses it (infra/crypto/passwords.ts: m=19 456 KiB, t=2, p=1, @node-rs/argon2 on the libuv pool, at most UV_THREADPOOL_SIZE − 1 = ${APP_BOUND} at once), called in the bench process. "Cores used" is the process's CPU time over wall time; "per core" divides by it.`,
    `- App: createApp as main.ts builds it, in its own process, embedded SQLite (WAL, synchronous=FULL, the default) in a temp dir on ${machine.tempFs}, UV_THREADPOOL_SIZE ${threadpool}; listening on 127.0.0.1, driven by this bench over keep-alive HTTP/1.1 (node:http, one socket per client). "App cores used" and "app CPU per request" count all of the app's threads, argon2 included.`,
    `- Sign-ins: POST /v1/sessions with email and password for ${options.members} members created over HTTP (POST /v1/orgs/{org}/members, set-password); each concurrent client signs in its own members in turn (never two at once for one account). Each run of ${options.seconds} s starts with the projections caught up; a 1 s warm-up per row first.`,
    `- Session checks: ${num(options.sessions)} live sessions, one per member, appended straight to the event store with known tokens (src/auth/sessions.service.ts reads \`session-<hash>\` and the user's stream), ${num(eventCount)} events in the log. Each run is a fresh app process on that data dir: after a 1 s warm-up of the code paths with other tokens, "cold" is the first touch of each token (shuffled, at most ${num(Math.floor(options.sessions / options.checkConcurrency.length))} per row, ${options.checkSeconds} s at most), then every token is touched once, then "warm" picks tokens at random for ${options.checkSeconds} s; "during a sign-in flood": the same warm check from one client while ${Math.max(...options.concurrency)} clients sign in (no CPU per request: the sign-ins' CPU is in the app's). GET /v1/me: the session guard, the user's stream, and the read model (members, orgs).`,
    `- Each figure: median of ${options.runs} runs (argon2id: ${options.argonRuns} runs of ${options.argonSeconds} s), [min–max] of those runs; runs interleaved across rows${options.quietWait > 0 ? `; before each row the bench waited for other processes to leave the cores idle (${Math.round(waited)} s of at most ${options.quietWait} s in all)` : ''}. App start to listening with the projections caught up (not counted): ${bootMs.map((b) => `${(b / 1000).toFixed(1)} s`).join(', ')}; the first one also projects the seeded events.`,
    '',
    argonTable,
    '',
    signInTable,
    '',
    checkTable,
    '',
    probeTable,
    '',
    `Sign-ins: ${num(bestSignIn)}/s at best, ${num(median(signInRows[signInRows.length - 1].runs.map((s) => s.rate / s.serverCores)))} per app CPU second. ` +
      `A warm session check (GET /v1/me) costs the app ${num(cpuOf(warmMe))} µs of CPU against ${num(cpuOf(denied))} µs for the 401 answer; authenticate() alone takes ${num(probe.warm.mean)} µs warm and ${num(probe.cold.mean)} µs cold.`,
  ].join('\n');

  process.stdout.write(`${body}\n`);
  if (options.write) {
    // Compiled to dist/bench/signin.js: the repository root is two levels up.
    writeSection(path.resolve(__dirname, '..', '..', 'BENCHMARKS.md'), body, MARKS);
    log('BENCHMARKS.md updated');
  }
  undoAll();
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
