import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventStore } from '../../infra/eventstore/port';
import type { ReadStore } from '../../infra/readstore/port';
import { verifyStore } from '../../src/audit/verify';
import { PROJECTIONS, ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE, PERSONAL_DATA, READ_STORE } from '../../src/shared/tokens';
import type { PersonalData } from '../../infra/personal/personal-data';
import { createOrg, startWithSystemOrg, type OrgSession, type TestApp } from '../support/app';
import { CapturingLogger } from '../support/logger';

const PASSWORD = 'a long passphrase 7';


/** The person to erase: every value unusual enough that finding it anywhere means it is hers. */
const MIA = { email: 'miraculix.erasable@example.com', firstName: 'Miraculixa', lastName: 'Zyxwvutsr', phone: '+15550109876', notes: 'Prefers the Quokka entrance', ip: '198.51.100.77', userAgent: 'EraseMeBrowser/9.1' };
const PERSONAL = [MIA.email, MIA.firstName, MIA.lastName, MIA.phone, MIA.notes, MIA.ip, MIA.userAgent];
/**
 * What anyone who guesses her address could compute without Gatehouse's key: an unkeyed
 * SHA-256 of it (hex, base64url, and the 32-character cut stream names used). None may name
 * her reservations, invitations or key subjects, or a guessed address is confirmed after erasure.
 */
const sha = createHash('sha256').update(MIA.email).digest();
const GUESSABLE = [sha.toString('hex'), sha.toString('base64url').slice(0, 32)];

describe('R-ACC-3 erasure by crypto-shredding (SPEC 5.1, 5.3)', () => {
  const logger = new CapturingLogger();
  let t: TestApp;
  let system: OrgSession;
  let org: OrgSession;
  let miaId: string;

  const signIn = (email: string, password = PASSWORD) =>
    t.app.inject({ method: 'POST', url: '/v1/sessions', remoteAddress: MIA.ip, headers: { 'content-type': 'application/json', 'user-agent': MIA.userAgent }, payload: JSON.stringify({ email, password }) });

  beforeAll(async () => {
    ({ t, system } = await startWithSystemOrg({}, { logger }));
    org = await createOrg(t, { name: 'Quokka Climbing' });
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: MIA.email, firstName: MIA.firstName, lastName: MIA.lastName, phone: MIA.phone, mode: 'set-password', password: PASSWORD } });
    expect(created.status).toBe(201);
    miaId = created.body.userId;
    expect((await t.request('PATCH', `/v1/orgs/${org.orgId}/members/${miaId}`, { token: org.token, body: { notes: MIA.notes } })).status).toBe(200);
    expect((await signIn(MIA.email, 'not her password')).statusCode).toBe(401);
    expect((await signIn(MIA.email)).statusCode).toBe(201);
    // A second org she was invited to before she had an account there.
    const other = await createOrg(t, { name: 'Second Wall' });
    expect((await t.request('POST', `/v1/orgs/${other.orgId}/invitations`, { token: other.token, body: { email: MIA.email, firstName: MIA.firstName } })).status).toBe(201);
  });
  afterAll(() => t.close());

  async function everythingReadable(): Promise<string> {
    const events: EventStore = t.app.get(EVENT_STORE);
    const runner = t.app.get(ProjectionRunner);
    expect(await runner.waitFor(await events.headPosition(), 5000)).toBe(true);
    const readStore: ReadStore = t.app.get(READ_STORE);
    const files = readdirSync(t.dataDir)
      .filter((f) => f.startsWith('events.db'))
      .map((f) => readFileSync(join(t.dataDir, f)).toString('latin1'));
    return [
      JSON.stringify((await events.readAll(0n, { limit: 1_000_000 })).events, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
      ...(await Promise.all(PROJECTIONS.flatMap((p) => p.collections.map(async (c) => JSON.stringify(await readStore.find({ collection: runner.collection(c), where: {}, orderBy: [['id', 'asc']], limit: 1_000_000 })))))),
      ...files,
      ...logger.lines,
    ].join('\n');
  }

  it('R-ACC-3 keeps personal data encrypted in the event store file: the log holds no name, email, phone, note, address or user agent in clear', async () => {
    const files = readdirSync(t.dataDir).filter((f) => f.startsWith('events.db')).map((f) => readFileSync(join(t.dataDir, f)).toString('latin1')).join('\n');
    expect(files).toContain(miaId); // the scan reads the file it checks
    for (const value of [...PERSONAL, ...GUESSABLE]) expect({ value, inEventStoreFile: files.includes(value) }).toEqual({ value, inEventStoreFile: false });
    // ...while the service reads it back in clear.
    const detail = await t.request('GET', `/v1/orgs/${org.orgId}/members/${miaId}`, { token: org.token, headers: { 'gatehouse-min-position': String(await t.app.get<EventStore>(EVENT_STORE).headPosition()) } });
    expect(detail.body).toMatchObject({ email: MIA.email, firstName: MIA.firstName, lastName: MIA.lastName });
  });

  it('R-ACC-3 R-SYS-1 a system admin erases a person: memberships and sessions end, every copy of their data is gone, the chain still verifies, the email is free again', async () => {
    const session = (await signIn(MIA.email)).json().token as string;
    expect((await t.request('GET', '/v1/me', { token: session })).status).toBe(200);
    expect(await everythingReadable()).toContain(MIA.lastName); // before: there to be found

    expect(await t.request('POST', `/v1/system/users/${miaId}/erase`, { token: org.token })).toMatchObject({ status: 403 });
    const erased = await t.request('POST', `/v1/system/users/${miaId}/erase`, { token: system.token });
    expect(erased.status).toBe(200);

    expect((await t.request('GET', '/v1/me', { token: session })).status).toBe(401);
    expect((await signIn(MIA.email)).statusCode).toBe(401);
    const after = { 'gatehouse-min-position': String(erased.body.position) };
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/members/${miaId}`, { token: org.token, headers: after })).status).toBe(404);
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/members?q=mira`, { token: org.token, headers: after })).body.items).toEqual([]);

    const everything = await everythingReadable();
    for (const value of [...PERSONAL, ...GUESSABLE]) expect({ value, found: everything.includes(value) }).toEqual({ value, found: false });

    // The export keeps every event, its data's shape and its hash; nothing of her is shown under `personal`.
    const history = await t.app.inject({ method: 'GET', url: `/v1/orgs/${org.orgId}/history?user=${miaId}`, headers: { authorization: `Bearer ${org.token}` } });
    const lines = history.body.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const registered = lines.find((l) => l.type === 'UserRegistered');
    expect(registered.data).toMatchObject({ userId: miaId, email: expect.stringMatching(/^pd1\./), firstName: expect.stringMatching(/^pd1\./) });
    expect(lines.filter((l) => l.personal)).toEqual([]);
    expect(lines.map((l) => l.type)).toContain('MemberRemoved');
    expect(await verifyStore(t.app.get<EventStore>(EVENT_STORE), () => undefined)).toMatchObject({ ok: true });

    // Her address can make a new account; nothing of the old one comes back with it.
    const again = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: MIA.email, firstName: 'New', lastName: 'Person', mode: 'set-password', password: PASSWORD } });
    expect(again.status).toBe(201);
    expect(again.body.userId).not.toBe(miaId);
    expect(again.body.addedExisting).not.toBe(true);
  });

  it('R-SYS-1 deleting an org, confirmed by its name: memberships end, the org is gone but for system admins, its notes are shredded, people it was the only org of are erased', async () => {
    const doomed = await createOrg(t, { name: 'Doomed Bouldering' });
    const only = await t.request('POST', `/v1/orgs/${doomed.orgId}/members`, { token: doomed.token, body: { email: 'only.here@example.com', firstName: 'Onlyhere', lastName: 'Qwertzuiop', mode: 'set-password', password: PASSWORD } });
    await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'two.orgs@example.com', firstName: 'Twoorgs', lastName: 'Stays', mode: 'set-password', password: PASSWORD } });
    const both = await t.request('POST', `/v1/orgs/${doomed.orgId}/members`, { token: doomed.token, body: { email: 'two.orgs@example.com', firstName: 'Twoorgs', lastName: 'Stays', mode: 'setup-email' } });
    expect(both.body.addedExisting).toBe(true);
    expect((await t.request('PATCH', `/v1/orgs/${doomed.orgId}/members/${both.body.userId}`, { token: doomed.token, body: { notes: 'Climbs only on Zanzibar Tuesdays' } })).status).toBe(200);

    expect(await t.request('DELETE', `/v1/system/orgs/${doomed.orgId}`, { token: doomed.token, body: { confirmName: 'Doomed Bouldering' } })).toMatchObject({ status: 403 });
    expect(await t.request('DELETE', `/v1/system/orgs/${doomed.orgId}`, { token: system.token, body: { confirmName: 'Doomed' } })).toMatchObject({ status: 422, body: { code: 'confirm_name_mismatch' } });
    expect((await t.request('GET', `/v1/orgs/${doomed.orgId}`, { token: doomed.token })).status).toBe(200); // a refused deletion changed nothing
    const deleted = await t.request('DELETE', `/v1/system/orgs/${doomed.orgId}`, { token: system.token, body: { confirmName: 'Doomed Bouldering' } });
    expect(deleted).toMatchObject({ status: 200, body: { membersRemoved: 3, usersErased: 2 } });

    const twoOrgs = (await t.request('POST', '/v1/sessions', { body: { email: 'two.orgs@example.com', password: PASSWORD } })).body.token;
    const after = { 'gatehouse-min-position': String(deleted.body.position) };
    expect((await t.request('GET', `/v1/orgs/${doomed.orgId}`, { token: twoOrgs, headers: after })).status).toBe(404);
    expect((await t.request('GET', `/v1/orgs/${doomed.orgId}`, { token: system.token, headers: after })).status).toBe(200);
    expect((await t.request('GET', '/v1/me', { token: doomed.token })).status).toBe(401); // its Owner belonged nowhere else: erased
    expect((await t.request('GET', '/v1/me', { token: twoOrgs, headers: after })).body.memberships.map((m: { orgId: string }) => m.orgId)).toEqual([org.orgId]);
    expect((await t.request('POST', '/v1/sessions', { body: { email: 'only.here@example.com', password: PASSWORD } })).status).toBe(401);
    const listed = await t.request('GET', '/v1/system/orgs', { token: system.token, headers: after });
    expect(listed.body.items.find((o: { orgId: string }) => o.orgId === doomed.orgId)).toMatchObject({ status: 'deleted' });

    const everything = await everythingReadable();
    for (const value of ['Climbs only on Zanzibar Tuesdays', 'only.here@example.com', 'Onlyhere', 'Qwertzuiop']) expect({ value, found: everything.includes(value) }).toEqual({ value, found: false });
    expect(everything).toContain('two.orgs@example.com'); // who stays keeps their account
    // The deleted org's history keeps the notes' event, its ciphertext and its hash; their key is gone, so nothing shows under `personal`.
    const history = await t.app.inject({ method: 'GET', url: `/v1/orgs/${doomed.orgId}/history?types=MemberNotesUpdated,OrganizationDeleted`, headers: { authorization: `Bearer ${system.token}` } });
    const lines = history.body.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['MemberNotesUpdated', 'OrganizationDeleted']);
    expect(lines[0].data.notes).toMatch(/^pd1\.member-/);
    expect(lines[0].personal).toBeUndefined();
    expect(await verifyStore(t.app.get<EventStore>(EVENT_STORE), () => undefined)).toMatchObject({ ok: true });
    expect(only.status).toBe(201);
  });

  it('R-ACC-3 an erasure cut off after its commit, before its keys were destroyed, is finished by asking again', async () => {
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'half.erased@example.com', firstName: 'Halfway', lastName: 'Xylophonic', mode: 'set-password', password: PASSWORD } });
    // Notes are under a key of the person in this org, which the retry must destroy too: the erased account no longer says which orgs it was in.
    expect((await t.request('PATCH', `/v1/orgs/${org.orgId}/members/${created.body.userId}`, { token: org.token, body: { notes: 'Belays on Wednesdays' } })).status).toBe(200);
    const personal = t.app.get<PersonalData>(PERSONAL_DATA);
    const crash = jest.spyOn(personal, 'forgetNamed').mockRejectedValueOnce(new Error('the process died here'));
    expect((await t.request('POST', `/v1/system/users/${created.body.userId}/erase`, { token: system.token })).status).toBe(500);
    crash.mockRestore();
    const personalLines = async () => {
      const history = await t.app.inject({ method: 'GET', url: `/v1/orgs/${org.orgId}/history?user=${created.body.userId}`, headers: { authorization: `Bearer ${org.token}` } });
      return history.body.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.personal);
    };
    expect((await personalLines()).length).toBeGreaterThan(0); // committed, but the keys are still there
    expect((await t.request('POST', `/v1/system/users/${created.body.userId}/erase`, { token: system.token })).status).toBe(200);
    expect(await personalLines()).toEqual([]);
    expect(await everythingReadable()).not.toContain('Belays on Wednesdays');
  });

  it('R-ACC-3 a person erases themselves with their password; an Owner transfers ownership first', async () => {
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'self.eraser@example.com', firstName: 'Selma', lastName: 'Eraser', mode: 'set-password', password: PASSWORD } });
    const token = (await t.request('POST', '/v1/sessions', { body: { email: 'self.eraser@example.com', password: PASSWORD } })).body.token;
    expect(await t.request('POST', '/v1/me/erase', { token, body: { password: 'not my password' } })).toMatchObject({ status: 401, body: { code: 'invalid_credentials' } });
    expect(await t.request('POST', '/v1/me/erase', { token, body: {} })).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    expect((await t.request('POST', '/v1/me/erase', { token, body: { password: PASSWORD } })).status).toBe(200);
    expect((await t.request('GET', '/v1/me', { token })).status).toBe(401);
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/members/${created.body.userId}`, { token: org.token })).status).toBe(404);

    expect(await t.request('POST', '/v1/me/erase', { token: org.token, body: { password: 'correct horse battery' } })).toMatchObject({ status: 409, body: { code: 'owner_cannot_be_erased', details: { orgId: org.orgId } } });
    expect((await t.request('GET', '/v1/me', { token: org.token })).status).toBe(200);
  });
});
