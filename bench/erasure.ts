/**
 * Erasure (R-ACC-3, SPEC 5.3, issue 15): how long `POST /v1/system/users/{user}/erase`
 * takes, as a system admin over HTTP, for people who are members of 1 org and of 5 orgs,
 * each with some sign-in history, beside what the same service answers in the same run: its
 * HTTP floor (`GET /health/live`) and a one-event command (disable or enable a member).
 *
 *   npm run bench:erasure                   # print the report (markdown): about 3 min on 2 busy cores (with the build)
 *   npm run bench:erasure -- --write        # and replace the results block in BENCHMARKS.md
 *   npm run bench:erasure -- --quick        # 8 people of each kind, no background members: a smoke test
 *   options: --people 100 (erased per kind) --sign-ins 2 (each) --background 2000 (members per org)
 *
 * The service runs as `npm start` runs it (`node dist/src/main.js`, embedded SQLite, WAL,
 * synchronous=FULL, settings from the environment) in a child process on 127.0.0.1; the
 * system org is an org made through the API, the service then restarted with SYSTEM_ADMIN_ORG
 * (as test/audit/erasure.spec.ts does). Everything lives in one temp dir, removed at the end.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { loadSettings } from '../src/config/config';
import { openSecretBox, openServiceEventStore } from '../src/shared/event-store.provider';
import { cleanupOnExit } from '../scripts/rig/cleanup';
import { addMembers, loadOrg, person } from './support/dataset';
import { ms, percentile } from './support/latency';
import { machineFacts } from './support/machine';
import { spread } from './support/measure';
import { num, writeSection } from './support/report';
import { ServiceProcess } from './support/service-process';
import { Client, type Response } from './support/signin-client';
import { argsOf, log } from './support/args';
import { NameKeys } from '../infra/crypto/name-keys';

const MARKS = {
  start: '<!-- bench/erasure.ts results: generated, `npm run bench:erasure -- --write` replaces this block -->',
  end: '<!-- end of bench/erasure.ts results -->',
};
const PASSWORD = 'correct horse battery staple';
const ORGS = 5;


interface Options {
  people: number;
  signIns: number;
  background: number;
  write: boolean;
}

function parseOptions(argv: string[]): Options {
  const args = argsOf(argv);
  const quick = args.flag('quick');
  const value = args.int;
  return {
    people: value('people', quick ? 8 : 100, 1, 10_000),
    signIns: value('sign-ins', 2, 0, 100),
    background: value('background', quick ? 0 : 2_000, 0, 1_000_000),
    write: argv.includes('--write'),
  };
}

interface Org {
  orgId: string;
  ownerId: string;
  token: string;
}

interface Person {
  userId: string;
  email: string;
  orgIds: string[];
  /** A session of theirs: it must stop working once they are erased. */
  token: string;
}

/** The answer's JSON if its status is 2xx, else an error that shows what came back. */
async function ok<T>(pending: Promise<Response>, what: string): Promise<T> {
  const response = await pending;
  if (response.status < 200 || response.status >= 300) throw new Error(`${what}: ${response.status} ${response.text.slice(0, 300)}`);
  return (response.text ? JSON.parse(response.text) : undefined) as T;
}

/** The log's head, read beside the running service (WAL lets a reader in). */
function headPosition(dataDir: string): string {
  const db = new Database(path.join(dataDir, 'events.db'), { readonly: true });
  try {
    return String((db.prepare('SELECT coalesce(max(position), 0) AS head FROM events').get() as { head: number }).head);
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const cleanup = cleanupOnExit();
  const machine = machineFacts();
  const memory = `${num(os.totalmem() / 1024 ** 3)} GB RAM`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-erasure-'));
  cleanup.undo.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const logFile = path.join(dataDir, 'service.log');
  const env = { DATA_DIR: dataDir, EVENT_STORE: 'sqlite' };
  const runStart = performance.now();

  // The system org as test/audit/erasure.spec.ts makes it: an org made through the API, then the
  // service restarted with SYSTEM_ADMIN_ORG. (`npm run cli -- create-system-org` is what README
  // says, but it fails here: HttpLogging needs an HTTP adapter the CLI's context lacks.)
  let service: ServiceProcess | undefined;
  cleanup.undo.push(() => service?.killSync());
  const start = async (extra: Record<string, string> = {}) => {
    service = await ServiceProcess.start({ ...env, ...extra }, logFile);
    log(`service listening on ${service.port} (pid ${service.pid}) after ${(service.startMs / 1000).toFixed(1)} s`);
    return new Client(service.port);
  };
  let client = await start();
  const createOrg = async (name: string, email: string, lastName: string): Promise<Org> => {
    const created = await ok<{ orgId: string; ownerId: string; token: string }>(
      client.request('POST', '/v1/orgs', { body: { name, preset: 'team', owner: { email, firstName: 'Owen', lastName, password: PASSWORD } } }),
      'POST /v1/orgs',
    );
    return { orgId: created.orgId, ownerId: created.ownerId, token: created.token };
  };
  log(`the system org and ${ORGS} orgs through POST /v1/orgs`);
  const system = await createOrg('Gatehouse operators', 'operator@bench.example', 'Operator');
  const orgs: Org[] = [];
  for (let k = 0; k < ORGS; k++) orgs.push(await createOrg(`Bench club ${k + 1}`, `owner${k + 1}@bench.example`, `Owner${k + 1}`));
  client.close();
  await service!.stop();

  if (options.background > 0) {
    // Appended straight to the store with the service stopped, as bench/readmodels.ts does: far faster than HTTP.
    log(`${num(options.background)} background members in each org, appended to the stopped service's store`);
    const settings = loadSettings(env);
    const store = await openServiceEventStore(settings, () => new Date(), openSecretBox(settings), () => {
      throw new Error('no read store on the embedded default');
    });
    try {
      for (const [k, org] of orgs.entries()) {
        await addMembers(store, { orgId: org.orgId, ownerId: org.ownerId, state: await loadOrg(store, org.orgId) }, { first: k * options.background, count: options.background, tag: 'erasurebg', names: new NameKeys(openSecretBox(settings)) });
      }
    } finally {
      await store.close();
    }
  }
  client = await start({ SYSTEM_ADMIN_ORG: system.orgId });

  // The people to erase: single-org ones spread over the orgs; five-org ones created in the first, added to the other four.
  log(`${options.people} people in 1 org and ${options.people} in all ${ORGS}, ${options.signIns} sign-ins each, through the API`);
  const makePerson = async (n: number, orgsOf: Org[]): Promise<Person> => {
    const { firstName, lastName, email } = person(n, 'erase');
    const [home, ...others] = orgsOf;
    const created = await ok<{ userId: string }>(
      client.request('POST', `/v1/orgs/${home.orgId}/members`, { token: home.token, body: { email, firstName, lastName, mode: 'set-password', password: PASSWORD } }),
      'create member',
    );
    for (const org of others) {
      const added = await ok<{ userId: string; addedExisting?: boolean }>(
        client.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email, firstName, lastName, mode: 'setup-email' } }),
        'add existing member',
      );
      if (added.userId !== created.userId) throw new Error(`adding ${email} to a second org made a new account`);
    }
    let token = '';
    for (let s = 0; s < Math.max(1, options.signIns); s++) token = (await ok<{ token: string }>(client.request('POST', '/v1/sessions', { body: { email, password: PASSWORD } }), 'sign in')).token;
    return { userId: created.userId, email, orgIds: orgsOf.map((o) => o.orgId), token };
  };
  const single: Person[] = [];
  const five: Person[] = [];
  for (let i = 0; i < options.people; i++) {
    single.push(await makePerson(2 * i, [orgs[i % ORGS]]));
    five.push(await makePerson(2 * i + 1, [...orgs.slice(i % ORGS), ...orgs.slice(0, i % ORGS)]));
    if ((i + 1) % 10 === 0) log(`  ${i + 1} of ${options.people} of each`);
  }
  // A member the reference command disables and enables.
  const reference = await ok<{ userId: string }>(
    client.request('POST', `/v1/orgs/${orgs[0].orgId}/members`, { token: orgs[0].token, body: { email: 'reference@bench.example', firstName: 'Rita', lastName: 'Reference', mode: 'setup-email' } }),
    'create reference member',
  );
  // The system org's Owner: its session from POST /v1/orgs outlives the restart (sessions are events).
  const admin = system.token;

  /** Waits (untimed) until the read models have reached `position`: the next erasure does not wait for this one's projections. */
  const settle = async (position: string, org: Org, userId: string): Promise<number> => {
    const started = performance.now();
    for (let tries = 0; ; tries++) {
      const response = await client.request('GET', `/v1/orgs/${org.orgId}/members/${userId}?minPosition=${position}`, { token: org.token });
      if (response.status !== 503) return performance.now() - started;
      if (tries > 20) throw new Error(`the read models did not reach ${position}: ${response.text}`);
    }
  };
  const head = headPosition(dataDir);
  await settle(head, orgs[0], reference.userId);
  const totalEvents = Number(head);
  log(`${num(totalEvents)} events in the log; measuring`);

  const timed = async (request: () => Promise<Response>, what: string) => {
    const started = performance.now();
    const body = await ok<{ position?: string | number }>(request(), what);
    return { latency: performance.now() - started, position: body?.position === undefined ? undefined : String(body.position) };
  };
  const rows = {
    single: [] as number[],
    five: [] as number[],
    settleSingle: [] as number[],
    settleFive: [] as number[],
    command: [] as number[],
    health: [] as number[],
  };
  const erase = async (p: Person, into: number[], settled: number[]) => {
    const { latency, position } = await timed(() => client.request('POST', `/v1/system/users/${p.userId}/erase`, { token: admin }), 'erase');
    into.push(latency);
    if (!position) throw new Error('the erasure answered no position');
    // Checked, untimed: gone from every org's members (404 once the read models have the erasure), and their session ends.
    const home = orgs.find((o) => o.orgId === p.orgIds[0])!;
    settled.push(await settle(position, home, p.userId));
    for (const orgId of p.orgIds) {
      const org = orgs.find((o) => o.orgId === orgId)!;
      const member = await client.request('GET', `/v1/orgs/${orgId}/members/${p.userId}?minPosition=${position}`, { token: org.token });
      if (member.status !== 404) throw new Error(`${p.email} is still a member of ${orgId} after erasure (${member.status})`);
    }
    const me = await client.request('GET', '/v1/me', { token: p.token });
    if (me.status !== 401) throw new Error(`${p.email}'s session still works after erasure (${me.status})`);
  };
  for (let i = 0; i < options.people; i++) {
    // Interleaved, so a drift in the machine's load touches every row alike.
    await erase(single[i], rows.single, rows.settleSingle);
    await erase(five[i], rows.five, rows.settleFive);
    rows.command.push((await timed(() => client.request('POST', `/v1/orgs/${orgs[0].orgId}/members/${reference.userId}/${i % 2 ? 'enable' : 'disable'}`, { token: orgs[0].token }), 'disable/enable')).latency);
    await settle(headPosition(dataDir), orgs[0], reference.userId);
    for (let h = 0; h < 3; h++) rows.health.push((await timed(() => client.request('GET', '/health/live'), 'health')).latency);
    if ((i + 1) % 10 === 0) log(`  ${i + 1} of ${options.people} erased of each`);
  }
  client.close();
  await service!.stop();
  const minutes = (performance.now() - runStart) / 60_000;

  const stats = (samples: number[]) => {
    const sorted = [...samples].sort((a, b) => a - b);
    const s = spread(sorted);
    return { n: sorted.length, median: s.median, p95: percentile(sorted, 95), min: s.min, max: s.max };
  };
  const line = (what: string, samples: number[]) => {
    const s = stats(samples);
    return `| ${what} | ${s.n} | ${ms(s.median)} | ${ms(s.p95)} | ${ms(s.min)}–${ms(s.max)} |`;
  };
  const lines = [
    `### Erasure, ${machine.date}`,
    '',
    `- Machine: ${machine.nproc} cores (nproc), ${machine.cpuModel}, ${memory}, Node ${machine.node}, ${machine.kernel}, load average at start ${machine.loadAverage}; temp dir on ${machine.tempFs} (${num(machine.fdatasyncPerSecond)} fdatasync/s). Whole run: ${minutes.toFixed(1)} min.`,
    `- Service: \`node dist/src/main.js\` as \`npm start\` runs it, in a child process, embedded SQLite (WAL, synchronous=FULL) in a temp dir; the system org made through \`POST /v1/orgs\` and the service restarted with SYSTEM_ADMIN_ORG (as test/audit/erasure.spec.ts does; \`npm run cli -- create-system-org\` fails on this commit); the bench is the client over keep-alive HTTP/1.1 on 127.0.0.1, one request at a time.`,
    `- Data: ${ORGS} orgs (team preset) made through \`POST /v1/orgs\`${options.background > 0 ? `, ${num(options.background)} background members in each (four events each, appended by \`bench/support/dataset.ts\` with the service stopped)` : ''}; ${options.people} people who are members of 1 org and ${options.people} of all ${ORGS} (created in one with a password, added to the others as an existing account), each signed in ${options.signIns} times, all through the API. ${num(totalEvents)} events in the log when the erasures began.`,
    `- Each erasure is timed from request to answer (the commit of every MemberRemoved, the releases, the session revocations and UserErased, then the keys destroyed). After each, untimed: the bench waits for the read models to reach the erasure's position, then checks the person is gone from every org's members (404) and their session answers 401 (checked for all). So every erasure starts with the read models caught up (the handler waits up to 2 s for them before it reads the person's orgs from the members list). Erasures of the two kinds, the one-event command (also followed by a wait for the read models) and 3 health checks interleaved.`,
    '',
    '| What | n | Median ms | p95 ms | min–max ms |',
    '|---|--:|--:|--:|--:|',
    line(`\`POST /v1/system/users/{user}/erase\`, member of 1 org`, rows.single),
    line(`\`POST /v1/system/users/{user}/erase\`, member of ${ORGS} orgs`, rows.five),
    line('`POST …/members/{user}/disable` or `enable`: a one-event command through the same stack (reference)', rows.command),
    line('`GET /health/live`: the HTTP floor', rows.health),
    line('then, untimed above: read models caught up with the erasure (1 org)', rows.settleSingle),
    line(`then, untimed above: read models caught up with the erasure (${ORGS} orgs)`, rows.settleFive),
  ];
  const [s1, s5, c] = [rows.single, rows.five, rows.command].map((r) => stats(r).median);
  lines.push('', `Erasing a member of 1 org takes ${ms(s1)} ms (median), of ${ORGS} orgs ${ms(s5)} ms: ${num(s1 / c)}× and ${num(s5 / c)}× a one-event command on the same service.`);
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
