import type { ReadStore } from '../../infra/readstore/port';
import { ImportJobs } from '../../src/imports/import-jobs';
import { READ_STORE } from '../../src/shared/tokens';
import { createOrg, manualClock, startApp, type OrgSession, type TestApp } from '../support/app';

const HEADER = 'email,firstName,lastName,role,phone,username,locations';
const DAY = 86_400_000;

/** SPEC 5.6 and issue 16: finished jobs and their per-row reports do not stay forever. */
describe('bulk import retention (SPEC 5.6, R-CRT-5)', () => {
  const clock = manualClock(new Date('2026-06-01T08:00:00.000Z'));
  let t: TestApp;
  let org: OrgSession;

  beforeAll(async () => {
    t = await startApp({ IMPORT_RETENTION_DAYS: '7' }, { clock });
    org = await createOrg(t, { name: 'Retention Gym' });
  });
  afterAll(() => t?.close());

  async function importAndWait(csv: string): Promise<string> {
    const accepted = await t.request('POST', `/v1/orgs/${org.orgId}/imports?mode=silent`, { token: org.token, payload: csv, headers: { 'content-type': 'text/csv' } });
    expect(accepted.status).toBe(202);
    for (let i = 0; i < 600; i++) {
      const job = await t.request('GET', `/v1/orgs/${org.orgId}/imports/${accepted.body.jobId}`, { token: org.token });
      if (job.body.status === 'done') return accepted.body.jobId;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the import did not finish');
  }

  /** Days pass in these tests: the Owner signs in again when its session has run out. */
  async function advance(ms: number): Promise<void> {
    clock.advance(ms);
    const session = await t.request('POST', '/v1/sessions', { body: { email: org.ownerEmail, password: 'correct horse battery' } });
    expect(session.status).toBe(201);
    org = { ...org, token: session.body.token };
  }

  const stored = async (collection: string, jobId: string) => {
    const store = t.app.get<ReadStore>(READ_STORE);
    return collection === 'import_jobs' ? (await store.getMany(collection, [jobId])).size : store.count(collection, { jobId });
  };

  it('R-CRT-5 the runner removes a finished job, its per-row report and its saved rows once IMPORT_RETENTION_DAYS have passed, and not before', async () => {
    const runner = t.app.get(ImportJobs);
    const old = await importAndWait([HEADER, 'kept1@example.com,Kept,One,,,,', 'not-an-email,Bad,Row,,,,'].join('\n'));
    const report = await t.request('GET', `/v1/orgs/${org.orgId}/imports/${old}`, { token: org.token });
    expect(report.body).toMatchObject({ status: 'done', created: 1, failed: 1, errors: [expect.objectContaining({ row: 2, code: 'validation_failed' })] });
    expect(await stored('import_errors', old)).toBe(1);
    expect(await stored('import_rows', old)).toBe(1);

    // Six days later, a second import; the first is not yet past its retention.
    await advance(6 * DAY);
    const recent = await importAndWait([HEADER, 'kept2@example.com,Kept,Two,,,,'].join('\n'));
    await runner.sweep();
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/imports/${old}`, { token: org.token })).status).toBe(200);

    // Seven days and a minute after the first finished: it goes, with everything it left; the second stays.
    await advance(DAY + 60_000);
    await runner.sweep();
    expect(await t.request('GET', `/v1/orgs/${org.orgId}/imports/${old}`, { token: org.token })).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await stored('import_jobs', old)).toBe(0);
    expect(await stored('import_errors', old)).toBe(0);
    expect(await stored('import_rows', old)).toBe(0);
    expect(await t.request('GET', `/v1/orgs/${org.orgId}/imports/${recent}`, { token: org.token })).toMatchObject({ status: 200, body: { status: 'done', created: 1 } });
    expect(await stored('import_rows', recent)).toBe(1);

    // The people it made stay: only the job's record goes.
    const members = await t.request('GET', `/v1/orgs/${org.orgId}/members?limit=100`, { token: org.token });
    expect(members.body.items.map((m: { email?: string }) => m.email)).toEqual(expect.arrayContaining(['kept1@example.com', 'kept2@example.com']));

    // And six more days on, the second goes too.
    await advance(6 * DAY);
    await runner.sweep();
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/imports/${recent}`, { token: org.token })).status).toBe(404);
  });
});
