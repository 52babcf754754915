import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore } from '../../infra/eventstore/port';
import type { ReadStore } from '../../infra/readstore/port';
import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { createDatabase, startPostgres, type RunningPostgres, type ThrowawayDatabase } from '../../scripts/rig/postgres';
import { freePort } from '../../scripts/rig/processes';
import { AppModule } from '../../src/app.module';
import { loadSettings } from '../../src/config/config';
import { PROJECTIONS, ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE, READ_STORE } from '../../src/shared/tokens';
import { KafkaBus } from '../../infra/messaging/kafka';
import { Supervisor } from '../../src/shared/supervisor';
import { reportWorkers } from '../../src/health/workers';
import { SqliteLeases } from '../../infra/leases/sqlite';
import { overlaps, type Leases } from '../../infra/leases/port';
import { createOrg, startApp, type TestApp } from '../support/app';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function dump(store: ReadStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const projection of PROJECTIONS) {
    for (const collection of projection.collections) out[collection] = await store.find({ collection, where: {}, orderBy: [['id', 'asc']], limit: 1_000_000 });
  }
  return out;
}

interface Health {
  at: number;
  status: number;
  body: { status: string; workers: Array<{ worker: string; state: string; ready: boolean; restarts: number; lagEvents?: number; lagSeconds: number }> };
}

describe('supervised background work (issue 13)', () => {
  let pg: RunningPostgres;
  let db: ThrowawayDatabase;
  let t: TestApp;

  beforeAll(async () => {
    // A cluster of this suite's own: the test stops and restarts it.
    pg = await startPostgres();
    db = await createDatabase(pg.url);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop().catch(() => undefined);
    await pg?.stop();
  });

  it('PostgreSQL stopped for 10 s in the middle of a stream of commands and restarted: every projection and consumer catches up by itself; read models equal a clean rebuild; no email lost or sent twice; /health is 503 while they are behind and 200 after', async () => {
    t = await startApp({ EVENT_STORE: 'postgres', POSTGRES_URL: db.url, SECRET_KEY: Buffer.alloc(32, 9).toString('base64') });
    const store = t.app.get<EventStore>(EVENT_STORE);
    const org = await createOrg(t);

    // A stream of invitations (each one an email), and a prober of /health, until told to stop.
    const sent: Array<{ email: string; status: number }> = [];
    const health: Health[] = [];
    let running = true;
    const invite = async (i: number) => {
      const email = `invitee-${i}@example.com`;
      const response = await t.app.inject({ method: 'POST', url: `/v1/orgs/${org.orgId}/invitations`, headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' }, payload: JSON.stringify({ email }) });
      sent.push({ email, status: response.statusCode });
    };
    const commands = (async () => {
      for (let i = 0; running; i++) {
        await invite(i);
        await sleep(40);
      }
    })();
    const probe = async () => {
      const response = await t.app.inject({ method: 'GET', url: '/health' });
      const entry = { at: Date.now(), status: response.statusCode, body: response.json() };
      health.push(entry);
      return entry;
    };
    const prober = (async () => {
      while (running) {
        await probe();
        await sleep(200);
      }
    })();

    await sleep(2_000);
    const haltingAt = Date.now();
    await pg.halt();
    const haltedAt = Date.now();
    await sleep(9_000);
    // Stopped workers show growing lag, not 0.
    const metricsDuring = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    await sleep(1_000);
    await pg.restart();
    const restartedAt = Date.now();
    await sleep(2_000); // commands go on after the restart
    running = false;
    await Promise.all([commands, prober]);
    const outageMs = restartedAt - haltingAt;

    // Nobody restarts anything: the workers catch up by themselves, and /health says so. (Ready allows a little lag:
    // an effect the consumers record after the restart can stand one event ahead of a projection for a moment, so
    // this waits for the first answer with every worker caught up.)
    let ready: Health | undefined;
    while (!ready) {
      const h = await probe();
      if (h.status === 200 && h.body.workers.every((w: Health['body']['workers'][number]) => w.lagEvents === 0 && w.lagSeconds === 0)) ready = h;
      else if (Date.now() - restartedAt > 45_000) throw new Error(`not ready 45 s after the restart: ${JSON.stringify(h.body)}`);
      else await sleep(100);
    }
    const caughtUpMs = ready.at - restartedAt;
    process.stderr.write(`[supervision] outage ${outageMs} ms; ${sent.filter((s) => s.status === 201).length} invitations accepted of ${sent.length}; ready ${caughtUpMs} ms after the restart\n`);

    expect(ready.body.status).toBe('ok');
    const workers = ready.body.workers;
    expect(workers.map((w) => w.worker)).toEqual(['projection:directory.v1', 'projection:permission-history.v1', 'projection:login-activity.v1', 'consumer:email', 'consumer:seats', 'consumer:link-requests', 'grant-expiry', 'imports']);
    for (const w of workers) expect(w).toMatchObject({ state: 'running', ready: true, lagEvents: 0, lagSeconds: 0 });
    // Every follower of the log met the outage and was restarted by its supervisor (the import runner follows none, and had no job to run).
    for (const w of workers.filter((x) => x.worker !== 'imports')) expect({ worker: w.worker, restarted: w.restarts > 0 }).toEqual({ worker: w.worker, restarted: true });

    const lagDuring = Number(/gatehouse_worker_lag_seconds\{worker="projection:directory.v1"\} ([\d.]+)/.exec(metricsDuring)?.[1]);
    expect(lagDuring).toBeGreaterThan(5);
    expect(metricsDuring).toMatch(/gatehouse_worker_running\{worker="consumer:email"\} 0/);
    const metricsAfter = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(Number(/gatehouse_worker_restarts_total\{worker="consumer:email"\} (\d+)/.exec(metricsAfter)?.[1])).toBeGreaterThan(0);
    expect(metricsAfter).toMatch(/gatehouse_worker_lag_seconds\{worker="projection:directory.v1"\} 0\n/);
    expect(metricsAfter).toMatch(/gatehouse_worker_lag_events\{worker="consumer:email"\} 0\n/);
    expect(metricsAfter).toMatch(/gatehouse_projection_lag_seconds\{projection="directory.v1"\} 0\n/);

    // Before the outage ready; during it and while behind, 503; after, 200.
    expect(health.filter((h) => h.at < haltingAt).every((h) => h.status === 200)).toBe(true);
    const during = health.filter((h) => h.at > haltedAt + 300 && h.at < restartedAt);
    expect(during.length).toBeGreaterThan(10);
    expect(during.every((h) => h.status === 503)).toBe(true);
    expect(during.some((h) => h.body.workers?.some((w) => w.state === 'restarting'))).toBe(true);

    // Commands were refused during the outage and accepted before and after it.
    const accepted = sent.filter((s) => s.status === 201);
    expect(accepted.length).toBeGreaterThan(10);
    expect(sent.some((s) => s.status >= 500)).toBe(true);

    // Read models equal a clean rebuild of the same log.
    const clean = new SqliteReadStore(':memory:');
    const rebuild = new ProjectionRunner(store, clean, () => new Date());
    await rebuild.onApplicationBootstrap();
    await rebuild.caughtUp();
    await rebuild.onApplicationShutdown();
    expect(await dump(t.app.get<ReadStore>(READ_STORE))).toEqual(await dump(clean));
    await clean.close();

    // Every invitation in the log got its email exactly once; every accepted one is in the log.
    const { events } = await store.readAll(0n, { limit: 1_000_000 });
    const invited = events.filter((e) => e.type === 'LinkEmailRequested' && (e.data as { purpose?: string }).purpose === 'invitation').map((e) => (e.data as { to: string }).to);
    expect(new Set(invited).size).toBe(invited.length);
    for (const s of accepted) expect(invited).toContain(s.email);
    const mailbox = t.mailbox().filter((m) => m.template === 'invitation');
    expect(mailbox.map((m) => m.to).sort()).toEqual([...invited].sort());
  }, 90_000);
});

describe('a Kafka broker that is down at start', () => {
  it('delays publishing and consuming, never the start: the app answers at once, /health reports the publisher and consumer groups as not running (503), and once a broker appears they start by themselves and /health says 200', async () => {
    const closed = await freePort(); // nothing listens there
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-app-'));
    const settings = loadSettings({ DATA_DIR: dataDir, SQLITE_SYNCHRONOUS: 'normal', KAFKA_BROKERS: `127.0.0.1:${closed}`, KAFKA_PARTITIONS: '1', KAFKA_TOPIC_PREFIX: `test-${randomUUID().slice(0, 8)}` });
    let proxy: Server | undefined;
    // The app as createApp builds it, without the Kafka command transport (src/app.ts starts that).
    const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot({ settings }), new FastifyAdapter(), { logger: false });
    try {
      const started = Date.now();
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
      expect(Date.now() - started).toBeLessThan(5_000);

      const created = await app.inject({ method: 'POST', url: '/v1/orgs', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'Acme', preset: 'team', owner: { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', password: 'correct horse battery' } }) });
      expect(created.statusCode).toBe(201);

      const health = await app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      const body = health.json() as Health['body'];
      expect(body.status).toBe('behind');
      const publisher = body.workers.find((w) => w.worker === 'publisher');
      expect(publisher).toMatchObject({ ready: false });
      expect(['starting', 'restarting']).toContain(publisher!.state);
      expect(body.workers.filter((w) => w.worker.startsWith('consumer:')).every((w) => w.state !== 'running')).toBe(true);
      // The projections run all the same.
      expect(body.workers.filter((w) => w.worker.startsWith('projection:')).every((w) => w.state === 'running')).toBe(true);

      // Then a broker appears at that address (the rig's, behind a TCP relay): publisher and consumers start by themselves.
      const broker = process.env.KAFKA_BROKERS ?? '';
      if (!broker || !(await new KafkaBus({ brokers: broker }, { topicPrefix: 'gatehouse', partitions: 1 }).reach().then(() => true, () => false))) {
        process.stderr.write(`[supervision] no Kafka broker at KAFKA_BROKERS (${broker || 'unset'}): the part where a broker appears is skipped\n`);
        return;
      }
      const [host, port] = [broker.split(',')[0].split(':')[0], Number(broker.split(',')[0].split(':')[1])];
      proxy = createServer((client) => {
        const upstream = connect({ host, port });
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      await new Promise<void>((resolve) => proxy!.listen(closed, '127.0.0.1', resolve));
      const appearedAt = Date.now();
      const headOf = async () => (await app.get<EventStore>(EVENT_STORE).headPosition()).toString();
      for (;;) {
        const h = await app.inject({ method: 'GET', url: '/health' });
        const b = h.json() as Health['body'] & { kafka: { position: string } };
        if (h.statusCode === 200 && b.workers.every((w) => w.lagEvents === 0) && b.kafka.position === (await headOf())) break;
        if (Date.now() - appearedAt > 40_000) throw new Error(`not ready 40 s after the broker appeared: ${JSON.stringify(b)}`);
        await sleep(200);
      }
      process.stderr.write(`[supervision] publisher and consumers ready ${Date.now() - appearedAt} ms after the broker appeared\n`);
    } finally {
      await app.close();
      await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Supervisor', () => {
  const quiet = { warn: () => undefined, log: () => undefined };

  it('waits capped, jittered, doubling delays: half to all of 0.5 s, 1 s, 2 s … up to 10 s', () => {
    const low = new Supervisor(quiet, () => new Date(), () => 0);
    const high = new Supervisor(quiet, () => new Date(), () => 1);
    expect([1, 2, 3, 4, 7, 8, 50].map((n) => low.delay(n))).toEqual([250, 500, 1000, 2000, 5000, 5000, 5000]);
    expect([1, 2, 3, 4, 7, 8, 50].map((n) => high.delay(n))).toEqual([500, 1000, 2000, 4000, 10000, 10000, 10000]);
  });

  it('restarts a worker after every error, forever, and calls it running again once it has caught up', async () => {
    const supervisor = new Supervisor(quiet);
    supervisor.baseDelayMs = 1;
    supervisor.maxDelayMs = 4;
    let starts = 0;
    const worker = await supervisor.supervise({
      name: 'flaky',
      position: () => 0n,
      start: async (fail) => {
        starts++;
        // The first five runs fail (one of them in its start), the sixth catches up.
        if (starts === 3) throw new Error('cannot start');
        if (starts < 6) setTimeout(() => fail(Object.assign(new Error('connect ECONNREFUSED for ada@example.com'), { code: 'ECONNREFUSED' })), 2);
        return { stop: async () => undefined, caughtUp: starts < 6 ? new Promise<void>(() => undefined) : Promise.resolve() };
      },
    });
    expect(worker.state).toBe('running');
    const until = Date.now() + 5_000;
    while (!(worker.state === 'running' && worker.caughtUp) && Date.now() < until) await sleep(5);
    expect(worker.status()).toMatchObject({ worker: 'flaky', state: 'running', caughtUp: true, restarts: 5, failures: 0, lastError: { name: 'Error ECONNREFUSED', message: 'connect ECONNREFUSED for <address>' } });
    await supervisor.stop();
    expect(worker.state).toBe('stopped');
  });
});

describe('leased workers (issue 13: one runner at a time across replicas)', () => {
  const quiet = { warn: () => undefined, log: () => undefined };

  /** A replica: its own supervisor and lease handle on one shared lease store, running one leased worker. */
  async function replica(file: string, holder: string, runs: string[]) {
    const leases = new SqliteLeases(file);
    // Cut off: the replica can no longer reach the lease store (a partition, a hung process).
    const link = { cut: false };
    const reachable: Leases = {
      acquire: (...args) => (link.cut ? Promise.reject(new Error('unreachable')) : leases.acquire(...args)),
      release: (...args) => (link.cut ? Promise.reject(new Error('unreachable')) : leases.release(...args)),
      history: (name) => leases.history(name),
      close: () => leases.close(),
    };
    const supervisor = new Supervisor(quiet);
    supervisor.leasing = { leases: reachable, holder, ttlMs: 600 };
    let running = false;
    const worker = await supervisor.supervise({
      name: 'projection:x',
      lease: 'projection:x',
      position: () => 0n,
      start: async () => {
        running = true;
        runs.push(holder);
        return { stop: async () => void (running = false) };
      },
    });
    return { leases, supervisor, worker, link, isRunning: () => running };
  }

  it('runs in the replica holding the lease; the others stand by (ready); a holder cut off from the store stops before another takes over within a term; the terms never overlap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-leased-'));
    const file = join(dir, 'events.db');
    const runs: string[] = [];
    const a = await replica(file, 'a', runs);
    const b = await replica(file, 'b', runs);
    try {
      expect([a.isRunning(), b.isRunning()]).toEqual([true, false]);
      expect(a.worker.status()).toMatchObject({ state: 'running', lease: { name: 'projection:x', held: true, token: 1 } });
      expect(b.worker.status()).toMatchObject({ state: 'standby', lease: { held: false } });
      expect(await reportWorkers([b.worker], { readAll: async () => ({ events: [], next: 0n }) } as never, 30)).toMatchObject([{ state: 'standby', ready: true, lagSeconds: 0 }]);

      // "a" loses the store: it cannot renew, so it stops by itself, and its lease is never released.
      const died = Date.now();
      a.link.cut = true;
      const until = Date.now() + 5_000;
      while (!b.isRunning() && Date.now() < until) await sleep(20);
      expect(b.isRunning()).toBe(true);
      expect(Date.now() - died).toBeLessThan(1_500);
      expect(b.worker.status()).toMatchObject({ state: 'running', lease: { held: true, token: 2 } });
      // The deposed holder stopped on its own before b's term began (it could not renew), and says why.
      expect(a.isRunning()).toBe(false);
      expect(a.worker.status()).toMatchObject({ state: 'restarting', lastError: { name: 'LeaseNotRenewed' }, lease: { held: false } });
      expect(overlaps(await b.leases.history('projection:x'))).toEqual([]);
      expect(runs).toEqual(['a', 'b']);

      // A clean stop hands the lease over at once.
      const c = await replica(file, 'c', runs);
      await b.supervisor.stop();
      const handover = Date.now() + 2_000;
      while (!c.isRunning() && Date.now() < handover) await sleep(20);
      expect(c.isRunning()).toBe(true);
      await c.supervisor.stop();
      await c.leases.close();
    } finally {
      a.link.cut = false;
      await a.supervisor.stop();
      await b.supervisor.stop();
      await a.leases.close();
      await b.leases.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
