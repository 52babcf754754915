import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventStore } from '../../infra/eventstore/port';
import { EVENT_STORE } from '../../src/shared/tokens';
import { historyLines } from '../../src/audit/history';
import { verifyFile } from '../../src/audit/verify';
import { createOrg, manualClock, startApp, type OrgSession, type TestApp } from '../support/app';
import { newEvent } from '../support/events';

const PASSWORD = 'correct horse battery staple';
const KEYS = ['eventId', 'type', 'schemaVersion', 'stream', 'streamVersion', 'position', 'recordedAt', 'actor', 'realActor', 'orgId', 'correlationId', 'causationId', 'data', 'prevHash', 'hash'];

/** The auditor's own canonical JSON (sorted keys, JSON's escaping): enough for Gatehouse's events. */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(',')}]`
    : value !== null && typeof value === 'object'
      ? `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(',')}}`
      : JSON.stringify(value);
const recompute = ({ hash: _h, position: _p, personal: _s, ...line }: Record<string, unknown>) =>
  createHash('sha256').update(`${String(line.prevHash)}\n${canonical(line)}`, 'utf8').digest('hex');

type Line = Record<string, any>;

describe('R-AUD-2 GET /v1/orgs/{org}/history: the org history as JSON lines with the hash chain', () => {
  let t: TestApp;
  const clock = manualClock(new Date('2026-06-01T08:00:00.000Z'));
  let org: OrgSession;
  let other: OrgSession;
  let memberId: string;
  let memberToken: string;
  /** The body as sent: a one-line answer is JSON too, which t.request would parse. */
  const history = async (query = '', token = org.token) => {
    const response = await t.app.inject({ method: 'GET', url: `/v1/orgs/${org.orgId}/history${query}`, headers: { authorization: `Bearer ${token}` } });
    const isJson = String(response.headers['content-type']).startsWith('application/json');
    return { status: response.statusCode, headers: response.headers, body: isJson ? JSON.parse(response.body) : response.body };
  };
  const linesOf = (body: string): Line[] => body.split('\n').filter(Boolean).map((line) => JSON.parse(line));

  beforeAll(async () => {
    t = await startApp({}, { clock });
    org = await createOrg(t);
    other = await createOrg(t);
    clock.advance(60_000);
    const added = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'mia@example.com', firstName: 'Mia', lastName: 'Member', mode: 'set-password', password: PASSWORD } });
    memberId = added.body.userId;
    clock.advance(60_000);
    await t.request('PUT', `/v1/orgs/${org.orgId}/members/${memberId}/role`, { token: org.token, body: { role: 'admin' } });
    clock.advance(60_000);
    await t.request('PUT', `/v1/orgs/${org.orgId}/members/${memberId}/role`, { token: org.token, body: { role: 'member' } });
    clock.advance(60_000);
    await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'ned@example.com', firstName: 'Ned', lastName: 'Other', mode: 'set-password', password: PASSWORD } });
    memberToken = (await t.request('POST', '/v1/sessions', { body: { email: 'mia@example.com', password: PASSWORD } })).body.token;
  });
  afterAll(() => t.close());

  it('streams every event of the org in global order as the stored envelope, each hash recomputable without Gatehouse, and verify --file accepts it', async () => {
    const response = await history();
    expect(response.status).toBe(200);
    expect(String(response.headers['content-type'])).toMatch(/^application\/x-ndjson/);
    const lines = linesOf(response.body);
    expect(lines.length).toBeGreaterThan(8);
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(line.personal ? [...KEYS, 'personal'] : KEYS);
      expect(line.orgId).toBe(org.orgId);
      expect(recompute(line)).toBe(line.hash);
    }
    const positions = lines.map((line) => BigInt(line.position));
    for (let i = 1; i < positions.length; i++) expect(positions[i] > positions[i - 1]).toBe(true);
    expect(lines.map((line) => line.type)).toEqual(expect.arrayContaining(['OrganizationCreated', 'MemberAdded', 'RoleChanged']));
    expect(lines.some((line) => line.stream.includes(other.orgId))).toBe(false);
    // R-ACC-3: personal data is stored encrypted with the person's key (inside the hash); the export shows it decrypted, outside.
    const registered = lines.find((line) => line.type === 'UserRegistered' && line.data.userId === memberId)!;
    expect(registered.data).toMatchObject({ email: expect.stringMatching(/^pd1\.user-/), firstName: expect.stringMatching(/^pd1\./) });
    expect(JSON.stringify(registered.data)).not.toContain('Mia');
    expect(registered.personal).toEqual({ email: 'mia@example.com', firstName: 'Mia', lastName: 'Member' });

    const file = join(t.dataDir, 'export.jsonl');
    writeFileSync(file, response.body);
    expect(await verifyFile(file, () => undefined)).toMatchObject({ ok: true, counts: { events: lines.length } });
    writeFileSync(file, response.body.replace('"roleId":"admin"', '"roleId":"owner"'));
    expect(await verifyFile(file, () => undefined)).toMatchObject({ ok: false, broken: { field: 'hash' } });
  });

  it('filters by user (events about that member), by type, and by time (from inclusive, to exclusive)', async () => {
    const all = linesOf((await history()).body);
    const about = linesOf((await history(`?user=${memberId}`)).body);
    expect(about.length).toBeGreaterThan(2);
    expect(about.length).toBeLessThan(all.length);
    for (const line of about) expect(line.stream === `member-${org.orgId}-${memberId}` || line.stream === `user-${memberId}` || line.data.userId === memberId).toBe(true);
    expect(about.filter((line) => line.type === 'RoleChanged')).toHaveLength(2);
    expect(about.some((line) => line.data.email === 'ned@example.com' || JSON.stringify(line).includes('Ned'))).toBe(false);

    const changes = linesOf((await history('?types=RoleChanged,AccessDisabled')).body);
    expect(changes.map((line) => line.type)).toEqual(['RoleChanged', 'RoleChanged']);

    const [first, second] = changes;
    const ranged = linesOf((await history(`?from=${first.recordedAt}&to=${second.recordedAt}`)).body);
    expect(ranged.map((line) => line.recordedAt)).toEqual(ranged.map(() => first.recordedAt));
    expect(ranged.map((line) => line.eventId)).toContain(first.eventId);
    expect(ranged.map((line) => line.eventId)).not.toContain(second.eventId);
  });

  it('needs audit.read.any: a plain member gets 403, another org 404, a bad time 400', async () => {
    expect(await history('', memberToken)).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect(await history('', other.token)).toMatchObject({ status: 404 });
    expect(await history('?from=yesterday')).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    expect(await history('?types=Role Changed')).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it('reads the log a page at a time and hands each page on: memory holds one page, not the history', async () => {
    const store: EventStore = t.app.get(EVENT_STORE);
    const orgId = 'org-paged';
    for (let i = 0; i < 25; i++) {
      await store.append(`paged-${i}`, Array.from({ length: 100 }, (_, j) => newEvent('Bulk', { n: i * 100 + j }, { metadata: { actor: { kind: 'system', id: 't' }, correlationId: 'c', orgId } })), 'no_stream');
    }
    const reads: number[] = [];
    const original = store.readStored.bind(store);
    const spy = jest.spyOn(store, 'readStored').mockImplementation(async (...args) => {
      const result = await original(...args);
      reads.push(result.events.length);
      return result;
    });
    const chunks: string[] = [];
    try {
      for await (const chunk of historyLines(store, { orgId })) chunks.push(chunk);
    } finally {
      spy.mockRestore();
    }
    expect(reads).toEqual([1000, 1000, 500]);
    expect(chunks.map((chunk) => chunk.split('\n').filter(Boolean).length)).toEqual([1000, 1000, 500]);
  });
});
