/**
 * Capabilities at a time (SPEC 5.2, issue 15): how long `GET …/members/{user}/capabilities?at=`
 * takes for a member with 10 000 events of history, at four times (now, just before its last
 * event, the middle of the history, its first hour), beside what it cannot be faster than in the same run: reading the
 * member's stream alone, and the HTTP stack's floor; and beside the live check it replays
 * (`POST …/authorize`, served from the cache of folded state).
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/capabilities.js            # print the report (markdown): about 6 min on 2 busy cores
 *   npx tsc -p bench/tsconfig.json && node dist/bench/capabilities.js --write    # and replace the results block in BENCHMARKS.md
 *   options: --events 10000 --runs 5 --requests 50 --quick (2 000 events, 2 runs of 20)
 *
 * The app is createApp as main.ts builds it, in this process, on embedded SQLite
 * (WAL, synchronous=FULL, the default) in a temp dir removed at the end; requests go
 * through Fastify's inject (the whole Nest/Fastify stack, no socket). The history is made
 * through the API by the Owner with a clock the bench moves (one minute per command), so
 * every event is one the deciders decided.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { membership, membershipStream } from '../domain/membership/membership';
import { orgStream } from '../domain/organization/organization';
import type { EventStore } from '../infra/eventstore/port';
import { createApp } from '../src/app';
import { capabilitiesAt, foldUntil, readCapabilities } from '../src/audit/capabilities';
import { loadSettings } from '../src/config/config';
import { EVENT_STORE } from '../src/shared/tokens';
import { cleanupOnExit } from '../scripts/rig/cleanup';
import { ms, percentiles } from './support/latency';
import { machineFacts } from './support/machine';
import { spread } from './support/measure';
import { num, writeSection } from './support/report';
import { argsOf, log } from './support/args';

const MARKS = {
  start: '<!-- bench/capabilities.ts results: generated, `node dist/bench/capabilities.js --write` replaces this block -->',
  end: '<!-- end of bench/capabilities.ts results -->',
};
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const PASSWORD = 'correct horse battery staple';


interface Options {
  events: number;
  runs: number;
  requests: number;
  write: boolean;
}

function parseOptions(argv: string[]): Options {
  const args = argsOf(argv);
  const quick = args.flag('quick');
  const value = args.int;
  return {
    events: value('events', quick ? 2_000 : 10_000, 100, 1_000_000),
    runs: value('runs', quick ? 2 : 5, 1, 21),
    requests: value('requests', quick ? 20 : 50, 5, 100_000),
    write: argv.includes('--write'),
  };
}

/** A clock the bench moves: one minute per command, so the history spans days and grants expire inside it. */
function benchClock(start: Date) {
  let now = start.getTime();
  const clock = () => new Date(now);
  clock.advance = (by: number) => {
    now += by;
  };
  return clock;
}

/** Small deterministic generator (mulberry32): every run builds the same history. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function call(app: NestFastifyApplication, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token?: string, body?: unknown) {
  const response = await app.inject({ method, url, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, payload: body ? JSON.stringify(body) : undefined });
  if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.statusCode} ${response.body}`);
  return response.body ? JSON.parse(response.body) : undefined;
}

/** Waits until this process leaves the cores idle (the projections have caught up with the seeding), at most `limit` seconds. */
async function settle(limit = 120): Promise<void> {
  const until = Date.now() + limit * 1000;
  for (;;) {
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 1000));
    const used = process.cpuUsage(before);
    if ((used.user + used.system) / 1e6 < 0.05 || Date.now() > until) return;
  }
}

interface Row {
  what: string;
  /** Per run: the latencies of its requests, in ms. */
  runs: number[][];
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const cleanup = cleanupOnExit();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-capabilities-'));
  cleanup.undo.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const machine = machineFacts();
  const clock = benchClock(new Date('2026-01-05T08:00:00.000Z'));
  const settings = loadSettings({ DATA_DIR: dataDir });
  const app = await createApp({ settings, logger: false, clock });
  const store: EventStore = app.get(EVENT_STORE);

  // One org (studio preset, two locations) and one member whose history the Owner makes.
  const ownerEmail = 'owner@bench.example';
  const created = await call(app, 'POST', '/v1/orgs', undefined, { name: 'Bench studio', preset: 'studio', owner: { email: ownerEmail, firstName: 'Olive', lastName: 'Owner', password: PASSWORD } });
  const orgId: string = created.orgId;
  let token: string = created.token;
  const locations: string[] = [];
  for (const name of ['North studio', 'South studio']) locations.push((await call(app, 'POST', `/v1/orgs/${orgId}/locations`, token, { name })).locationId);
  const member: string = (await call(app, 'POST', `/v1/orgs/${orgId}/members`, token, { email: 'mia@bench.example', firstName: 'Mia', lastName: 'Member', mode: 'set-password', password: PASSWORD })).userId;
  const stream = membershipStream(orgId, member);
  const members = `/v1/orgs/${orgId}/members/${member}`;

  const started = clock();
  const seedStart = performance.now();
  const random = seeded(15);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const permanent: string[] = [];
  let disabled = false;
  let banned = false;
  let pending = false;
  let role = 'user';
  let commands = 0;
  log(`building a history of ${num(options.events)} events for one member through the API`);
  for (let version = (await store.readStream(stream)).length; version < options.events; ) {
    clock.advance(MINUTE);
    // Sessions last hours, the history days: sign the Owner in again each simulated hour.
    if (commands % 60 === 59) token = (await call(app, 'POST', '/v1/sessions', undefined, { email: ownerEmail, password: PASSWORD })).token;
    const roll = random();
    if (roll < 0.3) {
      const next = pick(['user', 'staff', 'admin'].filter((r) => r !== role));
      await call(app, 'PUT', `${members}/role`, token, { role: next, ...(next === 'staff' && random() < 0.5 ? { locations: [pick(locations)] } : {}) });
      role = next;
    } else if (roll < 0.55) {
      // Mostly grants that expire within hours; a few permanent ones, revoked again below.
      const expires = random() < 0.85;
      const grant = await call(app, 'POST', `${members}/grants`, token, {
        permission: pick(['users.list.any', 'tickets.view.any', 'bookings.manage.location', 'credits.adjust.any', 'schedules.manage.location']),
        reason: 'cover',
        ...(random() < 0.3 ? { location: pick(locations) } : {}),
        ...(expires ? { expiresAt: new Date(clock().getTime() + (1 + Math.floor(random() * 8)) * HOUR).toISOString() } : {}),
      });
      if (!expires) permanent.push(grant.grantId);
    } else if (roll < 0.62 && permanent.length > 0) {
      await call(app, 'DELETE', `${members}/grants/${permanent.shift()}`, token);
    } else if (roll < 0.77) {
      await call(app, 'POST', `${members}/${disabled ? 'enable' : 'disable'}`, token);
      disabled = !disabled;
    } else if (roll < 0.88) {
      await call(app, 'POST', `${members}/${banned ? 'unban' : 'ban'}`, token);
      banned = !banned;
    } else {
      await call(app, 'POST', `${members}/${pending ? 'approve' : 'pending'}`, token);
      pending = !pending;
    }
    commands++;
    // The expiry sweep adds PermissionExpired events of its own: count what the stream holds.
    if (commands % 250 === 0) {
      version = (await store.readStream(stream)).length;
      if (commands % 2500 === 0) log(`  ${num(version)} events`);
    } else version++;
  }
  // End as an ordinary member, so the answer at now lists something.
  if (disabled) await call(app, 'POST', `${members}/enable`, token);
  if (banned) await call(app, 'POST', `${members}/unban`, token);
  if (pending) await call(app, 'POST', `${members}/approve`, token);
  const seedSeconds = (performance.now() - seedStart) / 1000;
  const history = await store.readStream(stream);
  const orgEvents = await store.readStream(orgStream(orgId));
  const ended = clock();
  log(`${num(history.length)} events in ${seedSeconds.toFixed(0)} s (${commands} commands); waiting for the projections to settle`);
  await settle();
  token = (await call(app, 'POST', '/v1/sessions', undefined, { email: ownerEmail, password: PASSWORD })).token;

  const middle = history[Math.floor(history.length / 2)].recordedAt;
  const early = new Date(started.getTime() + HOUR);
  const foldedBy = (at: Date) => history.filter((e) => e.recordedAt.getTime() <= at.getTime()).length;
  const now = ended.toISOString();
  const answerNow = await readCapabilities({ store }, orgId, member, ended);
  const capabilities = (at: Date | string) => `${members}/capabilities?at=${encodeURIComponent(typeof at === 'string' ? at : at.toISOString())}`;

  const beforeLast = new Date(history[history.length - 1].recordedAt.getTime() - 1);
  const replay = { store };
  const rows: Array<Row & { op: () => Promise<unknown> }> = [
    { what: `GET …/capabilities?at=now: nothing recorded since, so the command path's folded state (${num(foldedBy(ended))} events) and one event read`, runs: [], op: () => call(app, 'GET', capabilities(now), token) },
    { what: `GET …/capabilities?at=1 ms before the last event: ${num(foldedBy(beforeLast))} events replayed`, runs: [], op: () => call(app, 'GET', capabilities(beforeLast), token) },
    { what: `GET …/capabilities?at=the middle of the history: ${num(foldedBy(middle))} events replayed`, runs: [], op: () => call(app, 'GET', capabilities(middle), token) },
    { what: `GET …/capabilities?at=its first hour: ${num(foldedBy(early))} events replayed (the whole stream still read)`, runs: [], op: () => call(app, 'GET', capabilities(early), token) },
    { what: 'POST …/authorize for the same member (live: cached folded state), one permission', runs: [], op: () => call(app, 'POST', `/v1/orgs/${orgId}/authorize`, token, { principal: member, permission: 'users.list.any' }) },
    { what: 'GET /health/live (the HTTP stack alone, no auth): floor', runs: [], op: () => call(app, 'GET', '/health/live') },
    { what: `no HTTP: \`readCapabilities\` at now, replaying (no live cache): reads both streams, folds, lists`, runs: [], op: () => readCapabilities(replay, orgId, member, ended) },
    { what: `no HTTP: \`store.readStream\` of the member's ${num(history.length)} events alone: ceiling (the read a replay cannot skip)`, runs: [], op: () => store.readStream(stream) },
    { what: 'no HTTP: fold and list alone, events already read (`capabilitiesAt`)', runs: [], op: async () => capabilitiesAt(orgId, member, ended, orgEvents, history) },
    { what: "no HTTP: the fold alone, the membership's evolve over the events already read (`foldUntil`)", runs: [], op: async () => foldUntil(membership, history, ended) },
  ];

  for (const row of rows) for (let i = 0; i < 5; i++) await row.op(); // warm-up
  for (let run = 0; run < options.runs; run++) {
    log(`run ${run + 1} of ${options.runs}`);
    for (const row of rows) {
      const samples: number[] = [];
      for (let i = 0; i < options.requests; i++) {
        const start = performance.now();
        await row.op();
        samples.push(performance.now() - start);
      }
      row.runs.push(samples);
    }
  }
  await app.close();

  const lines = [
    `### Capabilities at a time, ${machine.date}`,
    '',
    `- Machine: ${machine.nproc} cores (nproc), ${machine.cpuModel}, Node ${machine.node}, ${machine.kernel}, load average at start ${machine.loadAverage}; temp dir on ${machine.tempFs}.`,
    `- App: createApp as main.ts builds it, in the bench process, embedded SQLite (WAL, synchronous=FULL), requests through Fastify's inject (the whole stack, no socket), one at a time.`,
    `- History: one member of a studio org (two locations), ${num(history.length)} events in its membership stream (${commands} commands by the Owner through the API, one simulated minute apart, plus the PermissionExpired events the expiry sweep recorded): role changes (staff sometimes scoped to a location), grants (85 % expiring within 1–8 h, some in one location), revokes, disables/enables, bans/unbans, approvals; the org stream holds ${orgEvents.length} events. At the end the member holds ${answerNow.permissions.length} permission entries. Built in ${seedSeconds.toFixed(0)} s.`,
    `- Each figure: the median over ${options.runs} runs of that run's p50 (and p99) of ${options.requests} sequential requests, [min–max] over the runs; rows interleaved in every run, after a warm-up.`,
    '',
    '| What | p50 ms: median [min–max] | p99 ms: median | Per second (1 ÷ mean) |',
    '|---|--:|--:|--:|',
  ];
  for (const row of rows) {
    const p50 = spread(row.runs.map((s) => percentiles(s).p50));
    const p99 = spread(row.runs.map((s) => percentiles(s).p99));
    const all = row.runs.flat();
    const mean = all.reduce((a, b) => a + b, 0) / all.length;
    lines.push(`| ${row.what} | ${ms(p50.median)} [${ms(p50.min)}–${ms(p50.max)}] | ${ms(p99.median)} | ${num(1000 / mean)} |`);
  }
  const [atNow, replayed, , , , , replayedNoHttp, read, foldAndList, foldOnly] = rows.map((row) => spread(row.runs.map((s) => percentiles(s).p50)).median);
  lines.push(
    '',
    `A replay of ${num(history.length)} events answers in ${ms(replayed)} ms (p50) through HTTP, ${ms(replayedNoHttp)} ms without; measured alone, reading the stream takes ${ms(read)} ms, the fold ${ms(foldOnly)} ms and listing what can() allows ${ms(Math.max(0, foldAndList - foldOnly))} ms. At now, with nothing recorded since, ${ms(atNow)} ms.`,
  );
  const report = lines.join('\n');
  process.stdout.write(`${report}\n`);
  if (options.write) {
    writeSection(path.join(__dirname, '..', '..', 'BENCHMARKS.md'), report, MARKS);
    log('BENCHMARKS.md updated');
  }
  cleanup.undoAll();
  cleanup.detach();
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
