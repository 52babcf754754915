import Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore } from '../../infra/eventstore/port';
import { ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

const HEADER = 'email,firstName,lastName,role,phone,username,locations';

/** SPEC 5.6: bulk import as a tracked job (R-CRT-5). */
describe('bulk import (SPEC 5.6, R-CRT-5)', () => {
  let t: TestApp;
  let org: OrgSession;

  beforeAll(async () => {
    t = await startApp();
    org = await createOrg(t, { name: 'Import Gym' });
  });
  afterAll(() => t?.close());

  const upload = (target: OrgSession, body: string, contentType: string, mode?: string) =>
    t.request('POST', `/v1/orgs/${target.orgId}/imports${mode ? `?mode=${mode}` : ''}`, { token: target.token, payload: body, headers: { 'content-type': contentType } });

  async function finished(app: TestApp, target: OrgSession, jobId: string, within = 30_000) {
    const until = Date.now() + within;
    for (;;) {
      const job = await app.request('GET', `/v1/orgs/${target.orgId}/imports/${jobId}`, { token: target.token });
      expect(job.status).toBe(200);
      if (job.body.status === 'done' || job.body.status === 'failed' || Date.now() > until) return job.body;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function importAndWait(target: OrgSession, body: string, contentType: string, mode?: string) {
    const accepted = await upload(target, body, contentType, mode);
    expect(accepted.status).toBe(202);
    expect(typeof accepted.body.jobId).toBe('string');
    return finished(t, target, accepted.body.jobId);
  }

  it('R-CRT-5 a CSV import makes each row a member, with progress and a report', async () => {
    const csv = [HEADER, 'ada@example.com,Ada,Lovelace,,,ada.l,', 'alan@example.com,Alan,Turing,,+14155550123,,', 'grace@example.com,Grace,,,,,'].join('\n');
    const job = await importAndWait(org, csv, 'text/csv', 'silent');
    expect(job).toMatchObject({ status: 'done', total: 3, processed: 3, created: 3, addedExisting: 0, failed: 0, errors: [] });
    expect(job.startedAt).toEqual(expect.any(String));
    expect(job.finishedAt).toEqual(expect.any(String));
    const members = await t.request('GET', `/v1/orgs/${org.orgId}/members/search?q=ada`, { token: org.token });
    expect(members.status).toBe(200);
  });

  it('R-CRT-5 an NDJSON import reads the same keys', async () => {
    const lines = [{ email: 'nd1@example.com', firstName: 'Nd', lastName: 'One' }, { email: 'nd2@example.com', firstName: 'Nd', lastName: 'Two', role: 'member', phone: '+14155550124' }].map((l) => JSON.stringify(l)).join('\n');
    const job = await importAndWait(org, lines, 'application/x-ndjson', 'silent');
    expect(job).toMatchObject({ status: 'done', total: 2, created: 2, failed: 0 });
  });

  it('R-CRT-5 bad rows are reported with the codes a single create gives, and never stop the good ones', async () => {
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'already@example.com', firstName: 'Al', lastName: 'Ready', mode: 'setup-email' } })).status).toBe(201);
    const other = await createOrg(t, { name: 'Elsewhere' });
    expect((await t.request('POST', `/v1/orgs/${other.orgId}/members`, { token: other.token, body: { email: 'elsewhere@example.com', firstName: 'Else', lastName: 'Where', mode: 'setup-email' } })).status).toBe(201);
    const single = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'not-an-email', firstName: 'No', lastName: 'Email', mode: 'setup-email' } });
    const csv = [
      HEADER,
      'good1@example.com,Good,One,,,,',
      'not-an-email,No,Email,,,,',
      'already@example.com,Al,Ready,,,,',
      'good2@example.com,Good,Two,nosuchrole,,,',
      'elsewhere@example.com,Else,Where,,,,',
      'good3@example.com,Good,Three,,555,,',
      'good4@example.com,Good,Four,,,,',
      'good4@example.com,Good,Again,,,,',
      'short@example.com,Short',
    ].join('\n');
    const job = await importAndWait(org, csv, 'text/csv', 'silent');
    expect(job).toMatchObject({ status: 'done', total: 9, processed: 9, created: 2, addedExisting: 1, failed: 6 });
    const byRow = Object.fromEntries(job.errors.map((e: { row: number }) => [e.row, e]));
    expect(single.body.code).toBe('validation_failed');
    expect(byRow[2]).toMatchObject({ email: 'not-an-email', code: single.body.code });
    expect(byRow[3]).toMatchObject({ email: 'already@example.com', code: 'already_member' });
    expect(byRow[4]).toMatchObject({ email: 'good2@example.com', code: 'unknown_role' });
    expect(byRow[6]).toMatchObject({ code: 'validation_failed' });
    expect(byRow[8]).toMatchObject({ email: 'good4@example.com', code: 'already_member' });
    expect(byRow[9]).toMatchObject({ code: 'validation_failed' });
    expect(job.errors.every((e: { message: string }) => typeof e.message === 'string' && e.message.length > 0)).toBe(true);
  });

  it('R-CRT-5 modes: setup-email sends setup emails, invite sends invitations, silent sends nothing', async () => {
    const target = await createOrg(t, { name: 'Mode Gym' });
    const before = t.mailbox().length;
    await importAndWait(target, [HEADER, 'setup1@example.com,Set,Up,,,,'].join('\n'), 'text/csv', 'setup-email');
    await importAndWait(target, [HEADER, 'invite1@example.com,In,Vite,,,,'].join('\n'), 'text/csv', 'invite');
    await importAndWait(target, [HEADER, 'silent1@example.com,Si,Lent,,,,'].join('\n'), 'text/csv', 'silent');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const mail = t.mailbox().slice(before);
    expect(mail.filter((m) => m.to === 'setup1@example.com').map((m) => m.template)).toEqual(['setup']);
    expect(mail.filter((m) => m.to === 'invite1@example.com').map((m) => m.template)).toEqual(['invitation']);
    expect(mail.filter((m) => m.to === 'silent1@example.com')).toEqual([]);
  });

  it('R-CRT-5 an import needs users.create.any, a known mode and a CSV or NDJSON body', async () => {
    const csv = [HEADER, 'x@example.com,X,Y,,,,'].join('\n');
    expect(await t.request('POST', `/v1/orgs/${org.orgId}/imports`, { payload: csv, headers: { 'content-type': 'text/csv' } })).toMatchObject({ status: 401 });
    expect(await upload(org, csv, 'text/csv', 'loud')).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    expect(await upload(org, '{"email":"x@example.com"}', 'application/json')).toMatchObject({ status: 415 });
    expect(await upload(org, 'email,shoeSize\nx@example.com,9', 'text/csv')).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    // Only this route reads CSV: every other one still takes JSON alone.
    expect(await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, payload: csv, headers: { 'content-type': 'text/csv' } })).toMatchObject({ status: 415, body: { code: 'unsupported_media_type' } });
    const member = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'plain.member@example.com', firstName: 'Pl', lastName: 'Ain', mode: 'set-password', password: 'a long passphrase 7' } });
    expect(member.status).toBe(201);
    const session = await t.request('POST', '/v1/sessions', { body: { email: 'plain.member@example.com', password: 'a long passphrase 7' } });
    expect(await upload({ ...org, token: session.body.token }, csv, 'text/csv')).toMatchObject({ status: 403 });
    expect(await t.request('GET', `/v1/orgs/${org.orgId}/imports/00000000-0000-4000-8000-000000000000`, { token: org.token })).toMatchObject({ status: 404 });
  });

  it('R-CRT-5 SPEC 3.1 Idempotency-Key on an import: a retry with the same body gets the first job, a retry with another body of the same length and format is refused with idempotency_key_reused', async () => {
    const target = await createOrg(t, { name: 'Idempotent Gym' });
    const spoolsBefore = new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('gatehouse-import-')));
    const send = (key: string, csv: string) => t.request('POST', `/v1/orgs/${target.orgId}/imports?mode=silent`, { token: target.token, payload: csv, headers: { 'content-type': 'text/csv', 'idempotency-key': key } });
    const csv = [HEADER, 'idem-ann@example.com,Ann,One,,,,', 'idem-bob@example.com,Bob,Two,,,,'].join('\n');
    // Same bytes count and format, one letter changed: only the content tells them apart.
    const other = csv.replace('idem-bob@', 'idem-rob@');
    expect(other.length).toBe(csv.length);

    const first = await send('import-idem-0001', csv);
    expect(first.status).toBe(202);
    const job = await finished(t, target, first.body.jobId);
    expect(job).toMatchObject({ status: 'done', created: 2 });

    const again = await send('import-idem-0001', csv);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replay']).toBe('true');

    const reused = await send('import-idem-0001', other);
    expect(reused).toMatchObject({ status: 422, body: { code: 'idempotency_key_reused' } });
    // The same code a single create gives for a key reused with another body.
    const single = (email: string) => t.request('POST', `/v1/orgs/${target.orgId}/members`, { token: target.token, body: { email, firstName: 'Si', lastName: 'Ngle', mode: 'setup-email' }, headers: { 'idempotency-key': 'create-idem-0001' } });
    expect((await single('idem-single@example.com')).status).toBe(201);
    expect((await single('idem-double@example.com')).body.code).toBe(reused.body.code);

    // Nothing ran twice, and nothing of the refused body was imported.
    const members = await t.request('GET', `/v1/orgs/${target.orgId}/members?limit=100`, { token: target.token });
    const emails = members.body.items.map((m: { email?: string }) => m.email);
    expect(emails.filter((e: string) => e?.startsWith('idem-'))).toEqual(expect.arrayContaining(['idem-ann@example.com', 'idem-bob@example.com']));
    expect(emails).not.toContain('idem-rob@example.com');
    // Another key with the refused body is a new import.
    const fresh = await send('import-idem-0002', other);
    expect(fresh.status).toBe(202);
    expect(fresh.body.jobId).not.toBe(first.body.jobId);
    expect(await finished(t, target, fresh.body.jobId)).toMatchObject({ status: 'done', created: 1, failed: 1 });
    // The bodies kept for hashing are gone once answered.
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('gatehouse-import-') && !spoolsBefore.has(f))).toEqual([]);
  });
});

describe('bulk import across a restart (SPEC 5.6, R-CRT-5)', () => {
  const rows = (n: number, prefix: string) => [HEADER, ...Array.from({ length: n }, (_, i) => `${prefix}${i}@example.com,Row,N${i},,,,`)].join('\n');

  async function waitDone(app: TestApp, target: OrgSession, jobId: string) {
    for (let i = 0; i < 600; i++) {
      const job = await app.request('GET', `/v1/orgs/${target.orgId}/imports/${jobId}`, { token: target.token });
      if (job.body.status === 'done' || job.body.status === 'failed') return job.body;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the import did not finish');
  }

  /** The list as of everything in the log: the read models catch up with the job's last batch. */
  async function membersWithPrefix(app: TestApp, target: OrgSession, prefix: string): Promise<number> {
    const head = await app.app.get<EventStore>(EVENT_STORE).headPosition();
    expect(await app.app.get(ProjectionRunner).waitFor(head, 30_000)).toBe(true);
    let count = 0;
    let cursor: string | undefined;
    do {
      const page = await app.request('GET', `/v1/orgs/${target.orgId}/members?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { token: target.token });
      count += page.body.items.filter((m: { email?: string }) => m.email?.startsWith(prefix)).length;
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor);
    return count;
  }

  it('R-CRT-5 a job stopped mid-way goes on after a restart and creates no row twice', async () => {
    const first = await startApp();
    const org = await createOrg(first, { name: 'Restart Gym' });
    const accepted = await first.request('POST', `/v1/orgs/${org.orgId}/imports?mode=silent`, { token: org.token, payload: rows(2000, 'restart'), headers: { 'content-type': 'text/csv' } });
    expect(accepted.status).toBe(202);
    await first.close({ keepData: true }); // mid-job: the runner stops after its batch and lets go
    const stopped = storedJob(first.dataDir, accepted.body.jobId);
    expect(stopped.status).toBe('running');
    expect(stopped.processed).toBeLessThan(2000);
    expect(stopped.heldUntil).toBe(0);
    const second = await startApp({}, { dataDir: first.dataDir });
    try {
      const job = await waitDone(second, org, accepted.body.jobId);
      expect(job).toMatchObject({ status: 'done', total: 2000, processed: 2000, created: 2000, addedExisting: 0, failed: 0, errors: [] });
      expect(await membersWithPrefix(second, org, 'restart')).toBe(2000);
    } finally {
      await second.close();
    }
  }, 120_000);

  it('R-CRT-5 a batch appended before a crash lost its checkpoint is recognised on resume, not created twice nor reported as already members', async () => {
    const first = await startApp();
    const org = await createOrg(first, { name: 'Crash Gym' });
    const existing = await first.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'crash-known@example.com', firstName: 'Kn', lastName: 'Own', mode: 'setup-email' } });
    expect(existing.status).toBe(201);
    const other = await createOrg(first, { name: 'Crash Elsewhere' });
    await first.request('POST', `/v1/orgs/${other.orgId}/members`, { token: other.token, body: { email: 'crash-other@example.com', firstName: 'Ot', lastName: 'Her', mode: 'setup-email' } });
    const csv = [rows(200, 'crash'), 'crash-known@example.com,Kn,Own,,,,', 'crash-other@example.com,Ot,Her,,,,'].join('\n');
    const accepted = await first.request('POST', `/v1/orgs/${org.orgId}/imports?mode=silent`, { token: org.token, payload: csv, headers: { 'content-type': 'text/csv' } });
    const done = await waitDone(first, org, accepted.body.jobId);
    expect(done).toMatchObject({ status: 'done', created: 200, addedExisting: 1, failed: 1 });
    await first.close({ keepData: true });
    // The crash: the batch's events are in the log, its checkpoint is not.
    rewindCheckpoint(first.dataDir, accepted.body.jobId);
    const second = await startApp({}, { dataDir: first.dataDir });
    try {
      const job = await waitDone(second, org, accepted.body.jobId);
      expect(job).toMatchObject({ status: 'done', total: 202, processed: 202, created: 200, addedExisting: 1, failed: 1 });
      expect(job.errors).toEqual([expect.objectContaining({ row: 201, email: 'crash-known@example.com', code: 'already_member' })]);
      expect(await membersWithPrefix(second, org, 'crash')).toBe(202);
    } finally {
      await second.close();
    }
  }, 120_000);
});

function readStore(dataDir: string): Database.Database {
  const file = readdirSync(dataDir).find((f) => /read.*\.(db|sqlite)$/.test(f));
  if (!file) throw new Error(`no read store in ${dataDir}: ${readdirSync(dataDir).join(', ')}`);
  return new Database(join(dataDir, file));
}

function storedJob(dataDir: string, jobId: string) {
  const db = readStore(dataDir);
  try {
    return JSON.parse((db.prepare('SELECT doc FROM rm_import_jobs WHERE id = ?').get(jobId) as { doc: string }).doc);
  } finally {
    db.close();
  }
}

/** Puts the job back to before its first checkpoint, as a crash between the batch's commit and its checkpoint leaves it. */
function rewindCheckpoint(dataDir: string, jobId: string): void {
  const db = readStore(dataDir);
  try {
    const { doc } = db.prepare('SELECT doc FROM rm_import_jobs WHERE id = ?').get(jobId) as { doc: string };
    const job = JSON.parse(doc);
    Object.assign(job, { status: 'running', processed: 0, created: 0, addedExisting: 0, failed: 0, heldUntil: 0, finishedAt: undefined });
    db.prepare('UPDATE rm_import_jobs SET doc = ? WHERE id = ?').run(JSON.stringify(job), jobId);
    db.prepare('DELETE FROM rm_import_errors WHERE json_extract(doc, ?) = ?').run('$.jobId', jobId);
  } finally {
    db.close();
  }
}
