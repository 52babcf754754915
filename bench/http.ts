/**
 * Requests per second and latency of Gatehouse's HTTP commands and queries (issue 17, item 1),
 * each beside the ceiling of the same stack measured in the same run: a bare NestJS + Fastify +
 * ValidationPipe PUT that appends one durable row to SQLite, and a bare GET of a 20-row page.
 *
 *   npm run bench:http                    # print the report (markdown): about 8 minutes on 2 cores
 *   npm run bench:http -- --write         # and replace the results block in BENCHMARKS.md
 *   npm run bench:http -- --quick         # one 1 s run of each phase at each concurrency: a smoke test
 *   options: --runs 3 --seconds 3 --concurrency 8,16,64 --members 2000 --phases role,list,…
 *   --cpu-prof DIR                        # the service writes a V8 CPU profile there when it stops;
 *                                         # summarise with node dist/bench/support/cpu-profile.js FILE --from <s>
 *
 * Three processes besides this one: the service as `npm start` runs it (bench/support/service-process.ts,
 * embedded default, temp data dir), the two ceilings (bench/support/ceiling-server.ts, one process
 * each) and the load generator (bench/support/http-load.ts, autocannon, keep-alive HTTP/1.1).
 * Only one of them is under load at a time. Everything lives in one temp dir, removed at the end.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanupOnExit } from '../scripts/rig/cleanup';
import type { LoadItem, LoadJob, LoadResult } from './support/http-load';
import { ms } from './support/latency';
import { machineFacts } from './support/machine';
import { spread } from './support/measure';
import { num, writeSection } from './support/report';
import { ServiceProcess } from './support/service-process';
import { argsOf, log } from './support/args';

const PASSWORD = 'correct horse battery staple';
/** Members with a password: who signs in and whose sessions `GET /v1/me` uses. Kept apart from the members the commands change. */
const SIGNERS = 64;
const SEARCHES = ['an', 'mar', 'jo', 'el', 'lu', 'chr', 'sa', 'be', 'ni', 'da', 'mü', 'fe', 'ka', 'ro', 'ti', 'ha'];
const MARKS = {
  start: '<!-- bench/http.ts results: generated, `npm run bench:http -- --write` replaces this block -->',
  end: '<!-- end of bench/http.ts results -->',
};

interface Options {
  runs: number;
  seconds: number;
  concurrency: number[];
  members: number;
  phases?: string[];
  quick: boolean;
  write: boolean;
  cpuProf?: string;
}

function parseOptions(argv: string[]): Options {
  const args = argsOf(argv);
  const quick = args.flag('quick');
  const raw = args.raw;
  const value = args.num;
  const concurrency = (raw('concurrency') ?? '8,16,64').split(',').map(Number);
  if (concurrency.some((n) => !Number.isInteger(n) || n < 1 || n > 512)) throw new Error('--concurrency must be a list of integers from 1 to 512');
  return {
    runs: Math.round(value('runs', quick ? 1 : 3, 1, 11)),
    seconds: value('seconds', quick ? 1 : 3, 1, 60),
    concurrency,
    members: Math.round(value('members', quick ? 300 : 2_000, 100, 100_000)),
    phases: raw('phases')?.split(','),
    quick,
    write: argv.includes('--write'),
    cpuProf: raw('cpu-prof'),
  };
}

// ---------------------------------------------------------------------------------------------
// Child processes

function nextMessage<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no '${type}' from pid ${child.pid} within ${timeoutMs / 1000} s`)), timeoutMs);
    const onMessage = (message: { type: string; message?: string }) => {
      if (message.type === type) done(undefined, message as T);
      else if (message.type === 'error') done(new Error(message.message));
    };
    const onExit = (code: number | null) => done(new Error(`pid ${child.pid} exited (${code})`));
    const done = (error?: Error, value?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value!);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** A ceiling server (its own process): resolves to its port once it listens. */
async function startCeiling(mode: Ceiling, dataDir: string, logFile: string): Promise<{ child: ChildProcess; port: number }> {
  const log = fs.openSync(logFile, 'a');
  const child = fork(path.join(__dirname, 'support', 'ceiling-server.js'), [mode, dataDir], { stdio: ['ignore', log, log, 'ipc'] });
  fs.closeSync(log);
  const { port } = await nextMessage<{ port: number }>(child, 'ready', 60_000);
  return { child, port };
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

// ---------------------------------------------------------------------------------------------
// Seeding, through the API as a client would

async function call<T>(port: number, method: string, url: string, token?: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`http://127.0.0.1:${port}${url}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** `count` calls of `one(i)`, `width` at a time. */
async function inParallel<T>(count: number, width: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

interface Org {
  orgId: string;
  token: string;
}
interface Member {
  userId: string;
  email: string;
  firstName: string;
  lastName: string;
}

const FIRST = ['Anna', 'Marco', 'João', 'Elena', 'Lucas', 'Christina', 'Sara', 'Benoît', 'Nina', 'David', 'Müge', 'Felix', 'Karin', 'Rosa', 'Tim', 'Hannah'];
const LAST = ['Schmidt', 'Martínez', 'Nguyen', 'Okafor', 'Larsen', 'Dubois', 'Rossi', 'Kowalski', 'Tanaka', 'Silva', 'Becker', 'Jensen'];
const nameOf = (i: number) => ({ firstName: FIRST[i % FIRST.length], lastName: `${LAST[(i * 7) % LAST.length]} ${i}` });

async function createOrg(port: number, name: string, email: string): Promise<Org> {
  const created = await call<{ orgId?: string; org?: { id: string }; token?: string; session?: { token: string } }>(port, 'POST', '/v1/orgs', undefined, {
    name,
    preset: 'team',
    owner: { email, firstName: 'Olive', lastName: name, password: PASSWORD },
  });
  const orgId = created.orgId ?? created.org?.id;
  const token = created.token ?? created.session?.token;
  if (!orgId || !token) throw new Error(`POST /v1/orgs answered without orgId and token: ${JSON.stringify(created).slice(0, 300)}`);
  return { orgId, token };
}

async function addMember(port: number, org: Org, member: Omit<Member, 'userId'>, extra: Record<string, unknown>): Promise<Member> {
  const added = await call<{ userId: string }>(port, 'POST', `/v1/orgs/${org.orgId}/members`, org.token, { ...member, ...extra });
  return { ...member, userId: added.userId };
}

// ---------------------------------------------------------------------------------------------
// Phases

type Ceiling = 'append' | 'grouped' | 'page';
interface Phase {
  key: string;
  label: string;
  /** Which ceiling a row is read against; none for the argon2id phases (their ceiling is the hash, bench/signin.ts). */
  against?: Ceiling;
  target: 'service' | Ceiling;
  items: LoadItem[];
}

interface Seeded {
  home: Org;
  targets: Org[];
  members: Member[];
  signers: Member[];
  sessions: string[];
  cursors: string[];
  bareCursors: string[];
}

function phases(s: Seeded): Phase[] {
  const org = `/v1/orgs/${s.home.orgId}`;
  const owner = s.home.token;
  const json = (value: unknown) => JSON.stringify(value);
  const toggle = (a: (m: Member) => LoadItem, b: (m: Member) => LoadItem) => [...s.members.map(a), ...s.members.map(b)];
  return [
    {
      key: 'bare-put',
      label: 'ceiling: bare `PUT` (Nest + Fastify + ValidationPipe, one SQLite append, WAL, synchronous FULL)',
      target: 'append',
      items: toggle(
        (m) => ({ method: 'PUT', path: `/bare/${m.userId}`, body: json({ role: 'admin' }) }),
        (m) => ({ method: 'PUT', path: `/bare/${m.userId}`, body: json({ role: 'member' }) }),
      ),
    },
    {
      key: 'bare-put-grouped',
      label: 'reference: the same bare `PUT`, concurrent requests\' rows appended in one transaction (group commit)',
      target: 'grouped',
      items: toggle(
        (m) => ({ method: 'PUT', path: `/bare/${m.userId}`, body: json({ role: 'admin' }) }),
        (m) => ({ method: 'PUT', path: `/bare/${m.userId}`, body: json({ role: 'member' }) }),
      ),
    },
    {
      key: 'bare-get',
      label: 'ceiling: bare `GET` of a 20-row page by cursor (same stack, SQLite, 2 000 rows)',
      target: 'page',
      items: s.bareCursors.map((c) => ({ method: 'GET', path: c ? `/bare?cursor=${c}` : '/bare' })),
    },
    {
      key: 'role',
      label: 'role change (`PUT …/members/{user}/role`)',
      against: 'append',
      target: 'service',
      items: toggle(
        (m) => ({ method: 'PUT', path: `${org}/members/${m.userId}/role`, token: owner, body: json({ role: 'admin' }) }),
        (m) => ({ method: 'PUT', path: `${org}/members/${m.userId}/role`, token: owner, body: json({ role: 'member' }) }),
      ),
    },
    {
      key: 'add',
      label: 'add an existing user to a second org (`POST …/members`, setup-email)',
      against: 'append',
      target: 'service',
      items: s.targets.flatMap((t) =>
        s.members.map((m): LoadItem => ({ method: 'POST', path: `/v1/orgs/${t.orgId}/members`, token: t.token, body: json({ email: m.email, firstName: m.firstName, lastName: m.lastName, mode: 'setup-email' }) })),
      ),
    },
    {
      key: 'disable',
      label: 'disable/enable (`POST …/members/{user}/disable`, `…/enable`)',
      against: 'append',
      target: 'service',
      items: toggle(
        (m) => ({ method: 'POST', path: `${org}/members/${m.userId}/disable`, token: owner }),
        (m) => ({ method: 'POST', path: `${org}/members/${m.userId}/enable`, token: owner }),
      ),
    },
    {
      key: 'grant',
      label: 'grant (`POST …/members/{user}/grants`)',
      against: 'append',
      target: 'service',
      items: s.members.map((m) => ({ method: 'POST', path: `${org}/members/${m.userId}/grants`, token: owner, body: json({ permission: 'credits.adjust.any', reason: 'bench' }) })),
    },
    {
      key: 'invite',
      label: 'invite (`POST …/invitations`, a new email each)',
      against: 'append',
      target: 'service',
      items: [{ method: 'POST', path: `${org}/invitations`, token: owner, body: json({ email: 'invitee.{seq}@bench.example.org', role: 'member' }) }],
    },
    {
      key: 'create-password',
      label: 'create a member with a password (argon2id)',
      target: 'service',
      items: [{ method: 'POST', path: `${org}/members`, token: owner, body: json({ email: 'pw.{seq}@bench.example.org', firstName: 'Paula', lastName: 'Password', mode: 'set-password', password: PASSWORD }) }],
    },
    {
      key: 'signin',
      label: `password sign-in (\`POST /v1/sessions\`, ${SIGNERS} accounts)`,
      target: 'service',
      items: s.signers.map((m) => ({ method: 'POST', path: '/v1/sessions', body: json({ email: m.email, password: PASSWORD }) })),
    },
    {
      key: 'list',
      label: 'members list, page of 20 by cursor (`GET …/members?limit=20&cursor=`)',
      against: 'page',
      target: 'service',
      items: s.cursors.map((c) => ({ method: 'GET', path: `${org}/members?limit=20${c ? `&cursor=${encodeURIComponent(c)}` : ''}`, token: owner })),
    },
    {
      key: 'search',
      label: 'search (`GET …/members/search?q=`, 2–3 letters)',
      against: 'page',
      target: 'service',
      items: SEARCHES.map((q) => ({ method: 'GET', path: `${org}/members/search?q=${encodeURIComponent(q)}`, token: owner })),
    },
    {
      key: 'me',
      label: `\`GET /v1/me\` (${SIGNERS} members' sessions)`,
      against: 'page',
      target: 'service',
      items: s.sessions.map((token) => ({ method: 'GET', path: '/v1/me', token })),
    },
    {
      key: 'authorize',
      label: '`POST …/authorize` (the Owner asks about a member)',
      against: 'page',
      target: 'service',
      items: s.members.map((m) => ({ method: 'POST', path: `${org}/authorize`, token: owner, body: json({ principal: m.userId, permission: 'incidents.manage.any' }) })),
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Report

/** A job's result and the CPU its server spent per 2xx answer meanwhile (all its threads; for the service, projections included). */
interface Measured extends LoadResult {
  cpuPerAnswer: number;
}

/** User + system CPU of a process so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime: clock ticks (USER_HZ, 100 on Linux)
  } catch {
    return NaN;
  }
}
const micros = (seconds: number) => (Number.isFinite(seconds) ? num(seconds * 1e6) : '—');

interface Cell {
  results: Measured[];
  /** Each run's rate ÷ the same run's ceiling at the same concurrency. */
  ratios: number[];
  /** Commands only: each run's rate ÷ the same run's group-commit reference. */
  groupedRatios: number[];
}

const median = (values: number[]) => (values.length ? spread(values).median : NaN);
const percent = (ratio: number) => (Number.isFinite(ratio) ? `${Math.round(ratio * 100)} %` : '—');

function report(options: Options, list: Phase[], cells: Map<string, Cell>, facts: ReturnType<typeof machineFacts>, memory: string, minutes: number, seeded: string): string {
  const header = ['| Phase', ...options.concurrency.map((c) => `${c} clients: req/s | p50 / p99 ms | of ceiling | CPU µs/answer`)].join(' | ') + ' |';
  const align = ['|---', ...options.concurrency.map(() => '--:|--:|--:|--:')].join('|') + '|';
  const lines = [header, align];
  const failures: string[] = [];
  for (const phase of list) {
    const row = [phase.label];
    for (const c of options.concurrency) {
      const cell = cells.get(`${phase.key}@${c}`);
      if (!cell) {
        row.push('–', '–', '–', '–');
        continue;
      }
      row.push(num(median(cell.results.map((r) => r.rate))), `${ms(median(cell.results.map((r) => r.p50)))} / ${ms(median(cell.results.map((r) => r.p99)))}`, phase.against ? percent(median(cell.ratios)) + (cell.groupedRatios.length ? ` (${percent(median(cell.groupedRatios))})` : '') : '—', micros(median(cell.results.map((r) => r.cpuPerAnswer))));
      const failed = cell.results.reduce((n, r) => n + r.failed, 0);
      if (failed) {
        const statuses: Record<string, number> = {};
        for (const r of cell.results) for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
        failures.push(`${phase.key} at ${c} clients: ${failed} of ${failed + cell.results.reduce((n, r) => n + r.ok, 0)} not 2xx (${Object.entries(statuses).map(([k, v]) => `${k}: ${v}`).join(', ')})`);
      }
    }
    lines.push(`| ${row.join(' | ')} |`);
  }
  return [
    `### HTTP throughput, ${facts.date}`,
    '',
    `- Machine: ${facts.nproc} cores (nproc), ${facts.cpuModel}, ${memory}, Node ${facts.node}, ${facts.kernel}, load average at start ${facts.loadAverage}; temp dir on ${facts.tempFs} (${num(facts.fdatasyncPerSecond)} fdatasync/s). Whole run: ${num(minutes)} min.`,
    `- Service: \`node dist/src/main.js\` as \`npm start\` runs it, embedded default (SQLite, WAL, synchronous=FULL; embedded read store), temp data dir. Ceilings: bench/support/ceiling-server.ts, one process each. Client: autocannon in its own process, keep-alive HTTP/1.1 on 127.0.0.1, each client one request outstanding.`,
    `- Data: ${seeded}`,
    `- ${options.runs} run(s); in each, every phase at each concurrency for ${options.seconds} s, the two ceilings first at each concurrency. Figures are medians over runs: 2xx answers/s, autocannon's p50 and p99, and "of ceiling" the median of each run's rate ÷ that run's ceiling at the same concurrency (commands against the bare PUT, in brackets against the group-commit reference; reads against the bare GET; the argon2id phases have no ceiling here, see bench/signin.ts). "CPU µs/answer": the CPU time the server under load used (user + system, all its threads, from /proc; for the service its projections and workers too) ÷ its 2xx answers, which a busy shared machine moves far less than the rates.`,
    '',
    ...lines,
    '',
    failures.length ? `Answers that were not 2xx (counted in no rate): ${failures.join('; ')}.` : 'Every answer was 2xx.',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const facts = machineFacts();
  const memory = `${num(os.totalmem() / 1024 ** 3)} GB RAM`;
  const started = performance.now();
  const cleanup = cleanupOnExit();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-http-'));
  cleanup.undo.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const log = (line: string) => process.stderr.write(`[bench:http ${((performance.now() - started) / 1000).toFixed(0)} s] ${line}\n`);
  log(`machine: ${facts.nproc} cores, load average ${facts.loadAverage}; data in ${dataDir}`);

  const profiling = options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(options.cpuProf)}`] : [];
  const spawned = performance.now();
  const service = await ServiceProcess.start({ DATA_DIR: dataDir, EVENT_STORE: 'sqlite' }, path.join(dataDir, 'service.log'), undefined, profiling);
  cleanup.undo.push(() => service.killSync());
  const append = await startCeiling('append', dataDir, path.join(dataDir, 'ceiling.log'));
  cleanup.undo.push(() => kill(append.child));
  const grouped = await startCeiling('grouped', dataDir, path.join(dataDir, 'ceiling.log'));
  cleanup.undo.push(() => kill(grouped.child));
  const page = await startCeiling('page', dataDir, path.join(dataDir, 'ceiling.log'));
  cleanup.undo.push(() => kill(page.child));
  const load = fork(path.join(__dirname, 'support', 'http-load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  cleanup.undo.push(() => kill(load));
  const port = service.port;

  // Seed: the home org, its members (setup-email, no hash), the signers (with a password), their sessions.
  const home = await createOrg(port, 'Bench Home', 'owner.home@bench.example.org');
  const members = await inParallel(options.members, 8, (i) => addMember(port, home, { email: `member.${i}@bench.example.org`, ...nameOf(i) }, { mode: 'setup-email' }));
  const signers = await inParallel(SIGNERS, 4, (i) => addMember(port, home, { email: `signer.${i}@bench.example.org`, ...nameOf(i + 100_000) }, { mode: 'set-password', password: PASSWORD }));
  const sessions = await inParallel(SIGNERS, 4, async (i) => (await call<{ token: string }>(port, 'POST', '/v1/sessions', undefined, { email: signers[i].email, password: PASSWORD })).token);
  // Every "add existing" request adds one member to one more org: enough orgs that none is added twice.
  const adds = options.runs * options.concurrency.length * options.seconds * 1_500;
  const targets = await inParallel(Math.min(60, Math.ceil(adds / members.length)), 2, (i) => createOrg(port, `Bench Target ${i}`, `owner.target${i}@bench.example.org`));
  log(`seeded ${members.length} members, ${SIGNERS} with a password and a session, ${targets.length} target orgs`);

  // Cursors of every page (this also waits for the read model to hold every member).
  const cursors: string[] = [];
  for (let waited = 0; ; waited++) {
    cursors.length = 0;
    let cursor: string | null = '';
    let seen = 0;
    while (cursor !== null) {
      cursors.push(cursor);
      const body: { items: unknown[]; nextCursor: string | null } = await call(port, 'GET', `/v1/orgs/${home.orgId}/members?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, home.token);
      seen += body.items.length;
      cursor = body.nextCursor;
    }
    if (seen >= members.length + SIGNERS + 1) break;
    if (waited > 60) throw new Error(`the members list holds ${seen} of ${members.length + SIGNERS + 1} after 60 s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const bareCursors: string[] = [];
  for (let cursor: string | null = ''; cursor !== null; ) {
    bareCursors.push(cursor);
    const response = await fetch(`http://127.0.0.1:${page.port}/bare${cursor ? `?cursor=${cursor}` : ''}`);
    cursor = ((await response.json()) as { nextCursor: string | null }).nextCursor;
  }
  const seeded = `one org (team preset) with ${num(members.length)} members added through \`POST …/members\` (setup-email) and ${SIGNERS} with a password (signed in once each), ${targets.length} more orgs to add the same people to, all through the API before the first phase; ${cursors.length} list pages of 20. Role change, disable/enable, grant and authorize go round the ${num(members.length)} members in turn (role and access toggled back and forth), so no two clients work on the same member at once.`;

  const list = phases({ home, targets, members, signers, sessions, cursors, bareCursors }).filter((p) => !options.phases || p.target !== 'service' || options.phases.includes(p.key));
  const cells = new Map<string, Cell>();
  const next = new Map<string, number>();
  const runJob = async (phase: Phase, connections: number): Promise<Measured> => {
    const [portOf, pid] = phase.target === 'service' ? [port, service.pid] : phase.target === 'append' ? [append.port, append.child.pid!] : phase.target === 'grouped' ? [grouped.port, grouped.child.pid!] : [page.port, page.child.pid!];
    const job: LoadJob = { port: portOf, connections, seconds: options.seconds, items: phase.items, start: next.get(phase.key) ?? 0 };
    const cpuBefore = cpuSeconds(pid);
    load.send(job);
    const { result } = await nextMessage<{ result: LoadResult }>(load, 'result', (options.seconds + 60) * 1000);
    next.set(phase.key, result.next);
    return { ...result, cpuPerAnswer: result.ok > 0 ? (cpuSeconds(pid) - cpuBefore) / result.ok : NaN };
  };
  // A short warm-up of each path (JIT, caches), not counted.
  for (const phase of list) await runJob(phase, 8);
  if (options.cpuProf) log(`CPU profile of the service (pid ${service.pid}) in ${options.cpuProf}: measured phases from ${((performance.now() - spawned) / 1000).toFixed(1)} s after its start`);
  for (let run = 0; run < options.runs; run++) {
    for (const c of options.concurrency) {
      const ceilings = new Map<string, number>();
      for (const phase of list) {
        const result = await runJob(phase, c);
        if (phase.target !== 'service') ceilings.set(phase.target, result.rate);
        const cell = cells.get(`${phase.key}@${c}`) ?? { results: [], ratios: [], groupedRatios: [] };
        cell.results.push(result);
        if (phase.against && ceilings.has(phase.against)) cell.ratios.push(result.rate / ceilings.get(phase.against)!);
        if (phase.against === 'append' && ceilings.has('grouped')) cell.groupedRatios.push(result.rate / ceilings.get('grouped')!);
        cells.set(`${phase.key}@${c}`, cell);
        log(`run ${run + 1}/${options.runs}, ${c} clients, ${phase.key}: ${num(result.rate)}/s, p50 ${ms(result.p50)} p99 ${ms(result.p99)} ms, ${micros(result.cpuPerAnswer)} µs CPU per answer${result.failed ? `, ${result.failed} not 2xx ${JSON.stringify(result.statuses)}` : ''}`);
      }
    }
  }

  const body = report(options, list, cells, facts, memory, (performance.now() - started) / 60_000, seeded);
  process.stdout.write(`${body}\n`);
  if (options.write) writeSection(path.join(__dirname, '..', '..', 'BENCHMARKS.md'), body, MARKS);
  load.disconnect();
  append.child.disconnect();
  grouped.child.disconnect();
  page.child.disconnect();
  await service.stop();
  cleanup.undoAll();
  cleanup.detach();
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
