import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { Client } from 'pg';
import { eventRegistry } from '../../domain/events';
import { PostgresEventStore } from '../../infra/eventstore/postgres';
import { EncryptingEventStore } from '../../infra/personal/encrypting-event-store';
import { PersonalData } from '../../infra/personal/personal-data';
import { PostgresPersonalKeys } from '../../infra/personal/postgres-keys';
import { SecretBox } from '../../infra/crypto/sealing';
import { overlaps } from '../../infra/leases/port';
import { PostgresLeases } from '../../infra/leases/postgres';
import type { ReadStore } from '../../infra/readstore/port';
import { MongoReadStore } from '../../infra/readstore/mongo';
import { freePort } from '../../scripts/rig/processes';
import { PROJECTIONS, ProjectionRunner } from '../../src/readmodels/projection-runner';
import { readTopic } from '../support/kafka';
import { mainWithoutBuild } from '../support/ts-process';
import { createTestDatabase, type TestDatabase } from '../rig/postgres';

const ROOT = resolve(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Replica {
  name: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  exited: boolean;
  /** Has answered /health/live: commands go only to replicas that have started. */
  started: boolean;
}

async function dump(store: ReadStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const projection of PROJECTIONS) {
    for (const collection of projection.collections) out[collection] = await store.find({ collection, where: {}, orderBy: [['id', 'asc']], limit: 1_000_000 });
  }
  return out;
}

/**
 * Issue 13: three replicas of Gatehouse as separate processes on one PostgreSQL
 * event store, one MongoDB-wire read store (the rig's FerretDB) and one Kafka; the
 * holder of the projections' and the publisher's leases is SIGKILLed twice while
 * commands go to every replica.
 */
describe('several replicas (issue 13)', () => {
  let db: TestDatabase;
  const mongoDatabase = `gh_replicas_${randomUUID().slice(0, 8)}`;
  const prefix = `replicas-${randomUUID().slice(0, 8)}`;
  const replicas: Replica[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    for (const r of replicas) if (!r.exited) r.child.kill('SIGKILL');
    await db?.drop().catch(() => undefined);
    if (process.env.MONGODB_URL) {
      const client = await MongoClient.connect(process.env.MONGODB_URL);
      await client.db(mongoDatabase).dropDatabase().catch(() => undefined);
      await client.close();
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const secretKey = randomBytes(32).toString('base64');

  async function start(name: string): Promise<Replica> {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), `gh-replica-${name}-`));
    dirs.push(dataDir);
    const log = openSync(join(dataDir, 'replica.log'), 'a');
    const child = spawn(process.execPath, mainWithoutBuild(), {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        EVENT_STORE: 'postgres',
        POSTGRES_URL: db.url,
        READ_STORE: 'mongodb',
        MONGODB_URL: process.env.MONGODB_URL,
        MONGODB_DATABASE: mongoDatabase,
        KAFKA_BROKERS: process.env.KAFKA_BROKERS,
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_PARTITIONS: '3',
        LEASE_TTL_SECONDS: '3',
        SECRET_KEY: secretKey,
        CONSUMER_RETRY_MS: '50',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', log, log],
    });
    const replica: Replica = { name, port, dataDir, child, exited: false, started: false };
    child.once('exit', () => (replica.exited = true));
    replicas.push(replica);
    const until = Date.now() + 90_000;
    for (;;) {
      if (replica.exited) throw new Error(`replica ${name} exited at start: ${readFileSync(join(dataDir, 'replica.log'), 'utf8').slice(-2000)}`);
      const ok = await fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.ok, () => false);
      if (ok) {
        replica.started = true;
        return replica;
      }
      if (Date.now() > until) throw new Error(`replica ${name} did not start in 90 s`);
      await sleep(200);
    }
  }

  const live = () => replicas.filter((r) => r.started && !r.exited);
  const call = (r: Replica, method: string, path: string, token?: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${r.port}${path}`, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });

  async function holderOf(lease: string): Promise<{ holder: string; until: Date } | undefined> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ holder: string; until: Date }>('SELECT holder, until FROM gatehouse_leases WHERE name = $1 AND until > clock_timestamp()', [lease]);
      return rows[0];
    } finally {
      await client.end();
    }
  }

  const byPid = (holder: string) => live().find((r) => holder.split(':')[1] === String(r.child.pid));

  it('commands spread over three replicas; the lease holder of the projections and the publisher SIGKILLed twice: another takes over within 10 s, read models equal a clean rebuild, every event is on Kafka in order per key, no email lost, and no two replicas ever held one lease at once', async () => {
    if (!process.env.MONGODB_URL || !process.env.KAFKA_BROKERS) throw new Error('the rig should have set MONGODB_URL and KAFKA_BROKERS');
    await Promise.all(['r1', 'r2', 'r3'].map((n) => start(n)));

    const created = await call(replicas[0], 'POST', '/v1/orgs', undefined, { name: 'Replicated', preset: 'team', owner: { email: 'owner@example.com', firstName: 'Ada', lastName: 'Owner', password: 'correct horse battery staple' } });
    expect(created.status).toBe(201);
    const org = (await created.json()) as { orgId: string; token: string };

    // Invitations (each one an email) round-robin over the replicas alive, until told to stop.
    const sent: Array<{ email: string; status: number }> = [];
    let running = true;
    const commands = (async () => {
      for (let i = 0; running; i++) {
        const targets = live();
        const email = `invitee-${i}@example.com`;
        const status = await call(targets[i % targets.length], 'POST', `/v1/orgs/${org.orgId}/invitations`, org.token, { email }).then((r) => r.status, () => 0);
        sent.push({ email, status });
        await sleep(30);
      }
    })();

    const takeovers: number[] = [];
    for (let kill = 1; kill <= 2; kill++) {
      await sleep(3_000);
      const held = await holderOf('projection:directory.v1');
      const victim = held && byPid(held.holder);
      expect(victim).toBeDefined();
      const publisher = await holderOf('publisher');
      process.stderr.write(`[replicas] kill ${kill}: ${victim!.name} (pid ${victim!.child.pid}) holds the projections${publisher && byPid(publisher.holder) === victim ? ' and the publisher' : ''}\n`);
      const killedAt = Date.now();
      victim!.child.kill('SIGKILL');
      for (;;) {
        const next = await holderOf('projection:directory.v1');
        if (next && next.holder !== held!.holder) break;
        if (Date.now() - killedAt > 15_000) throw new Error('no replica took the projections over in 15 s');
        await sleep(100);
      }
      takeovers.push(Date.now() - killedAt);
      await start(`r${3 + kill}`);
    }
    await sleep(2_000);
    running = false;
    await commands;
    const statuses = Object.entries(sent.reduce<Record<number, number>>((n, s) => ({ ...n, [s.status]: (n[s.status] ?? 0) + 1 }), {})).map(([status, n]) => `${n}×${status === '0' ? 'no answer' : status}`);
    process.stderr.write(`[replicas] takeovers after ${takeovers.join(', ')} ms; ${sent.length} invitations sent: ${statuses.join(', ')}\n`);
    for (const ms of takeovers) expect(ms).toBeLessThan(10_000);

    // Everything settles by itself: every replica ready, the emails of every invitation in some mailbox.
    // Read as the replicas read it: personal data (the invitees' addresses) is stored encrypted with each person's key.
    const raw = new PostgresEventStore({ url: db.url, registry: eventRegistry() });
    await raw.init();
    const store = new EncryptingEventStore(raw, new PersonalData(new PostgresPersonalKeys(db.url), new SecretBox(Buffer.from(secretKey, 'base64'))));
    const { events } = await store.readAll(0n, { limit: 1_000_000 });
    const invited = events.filter((e) => e.type === 'LinkEmailRequested' && (e.data as { purpose?: string }).purpose === 'invitation').map((e) => (e.data as { to: string }).to);
    for (const s of sent.filter((x) => x.status === 201)) expect(invited).toContain(s.email);
    const mails = () =>
      replicas.flatMap((r) => {
        const folder = join(r.dataDir, 'mailbox');
        try {
          return readdirSync(folder).map((f) => JSON.parse(readFileSync(join(folder, f), 'utf8')) as { to: string; template: string });
        } catch {
          return [];
        }
      });
    const settledBy = Date.now() + 90_000;
    let lastHealth: unknown[] = [];
    for (;;) {
      const answers = await Promise.all(live().map((r) => fetch(`http://127.0.0.1:${r.port}/health`).then(async (x) => ({ ok: x.status === 200, body: (await x.json()) as { workers?: Array<{ worker: string; ready: boolean }> } }), () => ({ ok: false, body: {} as { workers?: Array<{ worker: string; ready: boolean }> } }))));
      const healthy = answers.map((a) => a.ok);
      lastHealth = answers.map((a) => (a.body.workers ?? []).filter((w) => !w.ready));
      const got = new Set(mails().filter((m) => m.template === 'invitation').map((m) => m.to));
      if (healthy.every(Boolean) && invited.every((to) => got.has(to))) break;
      if (Date.now() > settledBy) throw new Error(`not settled in 90 s: ${healthy.filter(Boolean).length}/${healthy.length} ready, ${invited.filter((to) => !got.has(to)).length} of ${invited.length} invitation emails missing; not ready: ${JSON.stringify(lastHealth)}`);
      await sleep(500);
    }
    const invitationMails = mails().filter((m) => m.template === 'invitation').map((m) => m.to);
    process.stderr.write(`[replicas] ${invited.length} invitations, ${invitationMails.length} invitation emails (${invitationMails.length - new Set(invitationMails).size} sent twice)\n`);

    // Read models equal a clean rebuild of the same log (into a fresh database of the same server).
    const head = await store.headPosition();
    const served = new MongoReadStore(process.env.MONGODB_URL, mongoDatabase);
    const cleanDatabase = `${mongoDatabase}_clean`;
    const clean = new MongoReadStore(process.env.MONGODB_URL, cleanDatabase);
    try {
      const rebuild = new ProjectionRunner(store, clean, () => new Date());
      await rebuild.onApplicationBootstrap();
      await rebuild.caughtUp();
      await rebuild.onApplicationShutdown();
      const expected = await dump(clean);
      // The replicas' projections were ready (above); give the last batch a moment to land, then compare.
      const caughtUpBy = Date.now() + 30_000;
      let actual = await dump(served);
      while (JSON.stringify(actual) !== JSON.stringify(expected) && Date.now() < caughtUpBy) {
        await sleep(500);
        actual = await dump(served);
      }
      expect(actual).toEqual(expected);
      expect(head).toBeGreaterThan(0n);
    } finally {
      await served.close();
      const client = await MongoClient.connect(process.env.MONGODB_URL);
      await client.db(cleanDatabase).dropDatabase().catch(() => undefined);
      await client.close();
      await clean.close().catch(() => undefined);
    }

    // Every event of the log is on Kafka, and per key in the log's order (a redelivery after a kill may repeat one).
    const ids = new Set(events.map((e) => e.eventId));
    const onTopic = await readTopic(process.env.KAFKA_BROKERS, `${prefix}.events`, (seen) => ids.size <= new Set(seen.map((m) => m.headers['gatehouse-event-id'])).size, 60_000);
    expect(new Set(onTopic.map((m) => m.headers['gatehouse-event-id']))).toEqual(ids);
    const firstSeen = new Map<string, bigint[]>();
    const counted = new Set<string>();
    for (const m of onTopic) {
      const id = m.headers['gatehouse-event-id'];
      if (counted.has(id)) continue;
      counted.add(id);
      firstSeen.set(m.key ?? '', [...(firstSeen.get(m.key ?? '') ?? []), BigInt(m.headers['gatehouse-position'])]);
    }
    for (const [, positions] of firstSeen) expect(positions).toEqual([...positions].sort((a, b) => (a < b ? -1 : 1)));

    // The lease records: one holder at a time, for every lease, all along.
    const leases = new PostgresLeases(db.url);
    try {
      const names = ['projection:directory.v1', 'projection:permission-history.v1', 'projection:login-activity.v1', 'publisher', 'grant-expiry'];
      for (const name of names) {
        const terms = await leases.history(name);
        expect({ name, overlaps: overlaps(terms) }).toEqual({ name, overlaps: [] });
      }
      expect((await leases.history('projection:directory.v1')).length).toBeGreaterThanOrEqual(3);
    } finally {
      await leases.close();
      await store.close();
    }
  }, 300_000);
});
