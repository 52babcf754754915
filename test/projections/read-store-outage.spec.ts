import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import type { EventStore } from '../../infra/eventstore/port';
import { MongoReadStore } from '../../infra/readstore/mongo';
import type { ReadStore } from '../../infra/readstore/port';
import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { ferretDbBinaryPath } from '../../scripts/rig/ferretdb';
import { freePort } from '../../scripts/rig/processes';
import { PROJECTIONS, ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type TestApp } from '../support/app';

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function dump(store: ReadStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const projection of PROJECTIONS) for (const collection of projection.collections) out[collection] = await store.find({ collection, where: {}, orderBy: [['id', 'asc']], limit: 1_000_000 });
  return out;
}

/** A FerretDB of this spec's own (the rig's is shared by every suite), on one port and data folder across restarts. */
class OwnServer {
  private child?: ChildProcess;
  constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `mongodb://127.0.0.1:${this.port}/`;
  }

  async start(): Promise<void> {
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FERRETDB_')));
    this.child = spawn(ferretDbBinaryPath(), ['--handler=sqlite', `--sqlite-url=file:${join(this.dir, 'data')}/`, `--listen-addr=127.0.0.1:${this.port}`, '--debug-addr=-', '--telemetry=disable', `--state-dir=${this.dir}`, '--log-level=error'], { env, stdio: 'ignore' });
    await eventually(async () => {
      const client = new MongoClient(this.url, { serverSelectionTimeoutMS: 500 });
      try {
        await client.db('admin').command({ ping: 1 });
        return true;
      } catch {
        return false;
      } finally {
        await client.close();
      }
    }, 15_000);
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

const binary = existsSync(ferretDbBinaryPath());
if (!binary) process.stderr.write(`[outage] skipped: no FerretDB binary at ${ferretDbBinaryPath()} (bash scripts/build-ferretdb.sh builds it)\n`);

(binary ? describe : describe.skip)('a MongoDB-wire read store that goes away and comes back (issue 14, item 7)', () => {
  let t: TestApp;
  let events: EventStore;
  let server: OwnServer;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-outage-'));
    server = new OwnServer(dir, await freePort());
    await server.start();
    t = await startApp();
    events = t.app.get(EVENT_STORE);
  });
  afterAll(async () => {
    await server?.kill();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('projections fail, say so (restarting, retrying, the error named) and wait with backoff while the server is down, skip nothing, and catch up by themselves once it is back: equal to a clean rebuild', async () => {
    const org = await createOrg(t);
    const addMember = (i: number) => t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: `o${i}@example.com`, firstName: `O${i}`, lastName: 'Outage', mode: 'setup-email' } });
    for (let i = 0; i < 3; i++) await addMember(i);

    // A short wait for a server here, where production waits out an election (30 s).
    const store = new MongoReadStore(server.url, 'gh_outage', { serverSelectionTimeoutMS: 1_000 });
    const runner = new ProjectionRunner(events, store, () => new Date());
    runner.retryMs = 100;
    runner.maxRetryMs = 1_000;
    await runner.onApplicationBootstrap();
    await runner.caughtUp();

    await server.kill();
    for (let i = 3; i < 8; i++) await addMember(i);
    const directory = async () => (await runner.status()).find((p) => p.projection === 'directory.v1')!;
    await eventually(async () => (await directory()).failures >= 2);
    expect(await directory()).toMatchObject({ status: 'retrying', state: 'restarting', behind: true, skippedEvents: 0 });
    expect((await directory()).lastError).toMatch(/^Mongo/);
    const worker = runner.workers().find((w) => w.name === 'projection:directory.v1')!;
    expect(worker.status()).toMatchObject({ state: 'restarting', caughtUp: false });

    await server.start();
    await eventually(async () => (await runner.status()).every((p) => p.status === 'ok' && !p.behind && p.state === 'running'));

    const clean = new SqliteReadStore(':memory:');
    const cleanRunner = new ProjectionRunner(events, clean, () => new Date());
    await cleanRunner.onApplicationBootstrap();
    await cleanRunner.caughtUp();
    const expected = await dump(clean);
    expect((expected.members as unknown[]).length).toBe(9);
    expect(await dump(store)).toEqual(expected);
    await Promise.all([runner.onApplicationShutdown(), cleanRunner.onApplicationShutdown()]);
    await Promise.all([store.close(), clean.close()]);
  }, 120_000);
});
