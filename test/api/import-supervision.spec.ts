import type { Recorded } from '../../domain/events';
import type { EventStore } from '../../infra/eventstore/port';
import { createDatabase, startPostgres, type RunningPostgres, type ThrowawayDatabase } from '../../scripts/rig/postgres';
import { ImportJobs } from '../../src/imports/import-jobs';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

const HEADER = 'email,firstName,lastName,role,phone,username,locations';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface WorkerReport {
  worker: string;
  state: string;
  ready: boolean;
  restarts: number;
  lastError?: { name: string };
}

/** SPEC 5.6 and issue 16: the import runner is a supervised worker like every other follower (STYLE: "runs supervised"). */
describe('the bulk import runner under supervision (SPEC 5.6, R-CRT-5)', () => {
  let pg: RunningPostgres;
  let db: ThrowawayDatabase;
  let t: TestApp | undefined;

  beforeAll(async () => {
    // A cluster of this suite's own: the test stops and restarts it under a running import.
    pg = await startPostgres();
    db = await createDatabase(pg.url);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop().catch(() => undefined);
    await pg?.stop();
  });

  const workerOf = async (app: TestApp): Promise<{ status: number; imports?: WorkerReport }> => {
    const health = await app.request('GET', '/health');
    return { status: health.status, imports: (health.body.workers as WorkerReport[]).find((w) => w.worker === 'imports') };
  };

  const job = async (app: TestApp, org: OrgSession, jobId: string) => (await app.request('GET', `/v1/orgs/${org.orgId}/imports/${jobId}`, { token: org.token })).body;

  it('R-CRT-5 the event store stopped under a running import: the runner fails, shows as restarting on /health, is restarted with backoff and resumes the job from its checkpoint; every row is created exactly once', async () => {
    t = await startApp({ EVENT_STORE: 'postgres', POSTGRES_URL: db.url, SECRET_KEY: Buffer.alloc(32, 7).toString('base64') });
    const app = t;
    const org = await createOrg(app, { name: 'Supervised Gym' });

    const before = await workerOf(app);
    expect(before.imports).toMatchObject({ worker: 'imports', state: 'running', ready: true, restarts: 0 });

    const rows = 3000;
    const csv = [HEADER, ...Array.from({ length: rows }, (_, i) => `supervised${i}@example.com,Row,N${i},,,,`)].join('\n');
    const accepted = await app.request('POST', `/v1/orgs/${org.orgId}/imports?mode=silent`, { token: org.token, payload: csv, headers: { 'content-type': 'text/csv' } });
    expect(accepted.status).toBe(202);
    const jobId = accepted.body.jobId as string;

    // Mid-job (a batch or more done, not all), the event store goes away.
    for (let i = 0; ; i++) {
      const current = await job(app, org, jobId);
      if (current.processed > 0) {
        expect(current.processed).toBeLessThan(rows);
        break;
      }
      if (i > 600) throw new Error(`the import did not start: ${JSON.stringify(current)}`);
      await sleep(20);
    }
    await pg.halt('immediate');

    // The runner fails and is shown restarting, with the kind of error; the job is not given up.
    let failed: WorkerReport | undefined;
    for (let i = 0; !failed; i++) {
      const { status, imports } = await workerOf(app);
      if (imports && imports.state === 'restarting' && imports.lastError) {
        expect(status).toBe(503);
        failed = imports;
      } else if (i > 300) throw new Error(`the runner did not fail with the store down: ${JSON.stringify(imports)}`);
      else await sleep(50);
    }
    // (Its state as the runner keeps it: the API, which checks the caller against the log, cannot answer now.)
    const during = (await app.app.get(ImportJobs).job(jobId))!;
    expect(during.status).toBe('running');
    expect(during.processed).toBeLessThan(rows);

    await sleep(2_000);
    await pg.restart();

    // Nobody restarts anything: the supervisor starts the runner again, and it finishes the job.
    let finished: { status: string } | undefined;
    for (let i = 0; !finished; i++) {
      const current = await job(app, org, jobId);
      if (current.status === 'done' || current.status === 'failed') finished = current;
      else if (i > 1200) throw new Error(`the import did not finish after the restart: ${JSON.stringify(current)}`);
      else await sleep(50);
    }
    expect(finished).toMatchObject({ status: 'done', total: rows, processed: rows, created: rows, addedExisting: 0, failed: 0, errors: [] });
    const after = await workerOf(app);
    expect(after.imports).toMatchObject({ state: 'running', ready: true });
    expect(after.imports!.restarts).toBeGreaterThan(0);
    const metrics = (await app.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(Number(/gatehouse_worker_restarts_total\{worker="imports"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);

    // Exactly once: one account and one membership per row in the log, none twice.
    // The log shows what lies below PostgreSQL's horizon (no transaction in flight before it): on a
    // loaded machine the last batch's commit can take a moment to come into view after the job says done.
    const store = app.app.get<EventStore>(EVENT_STORE);
    const addedIn = (events: Recorded[]) => events.filter((e) => e.type === 'MemberAdded' && (e.data as { orgId: string }).orgId === org.orgId).map((e) => (e.data as { userId: string }).userId);
    let { events } = await store.readAll(0n, { limit: 1_000_000 });
    for (let waited = 0; addedIn(events).length < rows + 1 && waited < 15_000; waited += 200) {
      await sleep(200);
      ({ events } = await store.readAll(0n, { limit: 1_000_000 }));
    }
    const added = addedIn(events);
    expect(added.length).toBe(rows + 1); // and the Owner
    expect(new Set(added).size).toBe(added.length);
    expect(events.filter((e) => e.type === 'UserRegistered').length).toBe(rows + 1);
  }, 300_000);
});
