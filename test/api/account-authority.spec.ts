import type { EventStore } from '../../infra/eventstore/port';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';
const ORIGINAL = 'correct horse battery';

/** A member made by `org`'s Owner with a password, and signed in. */
async function signedInMember(t: TestApp, org: OrgSession, email: string, role: string) {
  const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email, firstName: 'Mem', lastName: 'Ber', mode: 'set-password', password: PASSWORD, role } });
  expect(created.status).toBe(201);
  return { userId: created.body.userId as string, token: (await t.request('POST', '/v1/sessions', { body: { email, password: PASSWORD } })).body.token as string };
}

/**
 * Issue 11, finding 1: an org that adds an existing account (R-CRT-2) must gain no
 * power over that account. Every credential and profile route from a non-managing
 * org is refused, and the victim still signs in with the old password.
 */
describe('R-SEC-4 an account is managed only by the person, its managing org and system admins', () => {
  let t: TestApp;
  let store: EventStore;
  beforeAll(async () => {
    t = await startApp();
    store = t.app.get(EVENT_STORE);
  });
  afterAll(() => t.close());

  const signIn = (email: string, password: string) => t.request('POST', '/v1/sessions', { body: { email, password } });

  const member = (org: OrgSession, email: string, role: string) => signedInMember(t, org, email, role);

  /** Every route that reaches the account itself, as one org's actor over `userId`. */
  function accountRoutes(org: OrgSession, userId: string, token: string) {
    const base = `/v1/orgs/${org.orgId}/members/${userId}`;
    return {
      'set password': () => t.request('PUT', `${base}/password`, { token, body: { password: 'attacker phrase 99 ok' } }),
      'temporary password': () => t.request('POST', `${base}/temporary-password`, { token }),
      'reset email': () => t.request('POST', `${base}/password-reset`, { token }),
      'setup link': () => t.request('POST', `${base}/setup-link`, { token }),
      'MFA reset': () => t.request('POST', `${base}/mfa-reset`, { token }),
      'profile edit': () => t.request('PATCH', base, { token, body: { firstName: 'Mallory' } }),
      'username edit': () => t.request('PATCH', base, { token, body: { username: 'mallory-owns-you' } }),
    };
  }

  it('the Owner of another org adds the victim and is refused on every credential and profile route; the victim still signs in with the old password', async () => {
    const victim = await createOrg(t);
    const attacker = await createOrg(t);
    const added = await t.request('POST', `/v1/orgs/${attacker.orgId}/members`, { token: attacker.token, body: { email: victim.ownerEmail, firstName: 'X', lastName: 'Y', mode: 'setup-email' } });
    expect(added).toMatchObject({ status: 201, body: { userId: victim.ownerId, addedExisting: true } });
    expect(added.body.temporaryPassword).toBeUndefined();

    const head = await store.headPosition();
    for (const [name, call] of Object.entries(accountRoutes(attacker, victim.ownerId, attacker.token))) {
      const answer = await call();
      expect({ name, status: answer.status, code: answer.body?.code }).toEqual({ name, status: 403, code: 'account_managed_elsewhere' });
    }
    // Nothing was appended, no link went out, and the victim's password still works.
    expect((await store.readAll(head)).events).toEqual([]);
    expect(t.mailbox().filter((m) => m.to === victim.ownerEmail.toLowerCase() && m.link)).toEqual([]);
    expect((await signIn(victim.ownerEmail, ORIGINAL)).status).toBe(201);
    expect((await t.request('GET', `/v1/orgs/${victim.orgId}`, { token: victim.token })).status).toBe(200);
  });

  it('the adding org still manages the membership: role, notes, access', async () => {
    const home = await createOrg(t, { preset: 'service-desk' });
    const worker = await member(home, 'tech-shared@example.com', 'technician');
    const other = await createOrg(t);
    await t.request('POST', `/v1/orgs/${other.orgId}/members`, { token: other.token, body: { email: 'tech-shared@example.com', firstName: 'T', lastName: 'S', mode: 'setup-email' } });
    const base = `/v1/orgs/${other.orgId}/members/${worker.userId}`;
    expect((await t.request('PUT', `${base}/role`, { token: other.token, body: { role: 'admin' } })).status).toBe(200);
    expect((await t.request('PATCH', base, { token: other.token, body: { notes: 'on loan from the service desk' } })).status).toBe(200);
    expect((await t.request('POST', `${base}/disable`, { token: other.token })).status).toBe(200);
    // …and the managing org still manages the account.
    expect((await t.request('POST', `/v1/orgs/${home.orgId}/members/${worker.userId}/temporary-password`, { token: home.token })).status).toBe(200);
  });

  it('the person hears by email when an org adds their existing account', async () => {
    const home = await createOrg(t);
    const other = await createOrg(t, { name: 'Globex Studio' });
    await t.request('POST', `/v1/orgs/${other.orgId}/members`, { token: other.token, body: { email: home.ownerEmail, firstName: 'X', lastName: 'Y', mode: 'temporary-password' } });
    const notice = t.mailbox().filter((m) => m.to === home.ownerEmail.toLowerCase() && m.template === 'member-added');
    expect(notice).toHaveLength(1);
    expect(notice[0].subject).toContain('Globex Studio');
    expect(notice[0].link).toBeUndefined();
  });

  it('studio Staff (users.create.any, users.credentials.any) cannot add-and-rewrite an account either', async () => {
    const victim = await createOrg(t);
    const studio = await createOrg(t, { preset: 'studio' });
    const staff = await member(studio, 'staff-rewrite@example.com', 'staff');
    const added = await t.request('POST', `/v1/orgs/${studio.orgId}/members`, { token: staff.token, body: { email: victim.ownerEmail, firstName: 'X', lastName: 'Y', mode: 'setup-email' } });
    expect(added.body.addedExisting).toBe(true);
    for (const [name, call] of Object.entries(accountRoutes(studio, victim.ownerId, staff.token))) {
      const answer = await call();
      expect({ name, status: answer.status }).toEqual({ name, status: 403 });
    }
    expect((await signIn(victim.ownerEmail, ORIGINAL)).status).toBe(201);
  });

  it("a partner's account is managed by the partner's admins, not by the admins of one of its orgs", async () => {
    const founder = await createOrg(t);
    const p = (await t.request('POST', '/v1/partners', { token: founder.token, body: { name: 'Reseller' } })).body.partnerId as string;
    const orgA = (await t.request('POST', `/v1/partners/${p}/orgs`, { token: founder.token, body: { name: 'Branch A' } })).body;
    const created = await t.request('POST', `/v1/partners/${p}/users`, { token: founder.token, body: { email: 'partner-user@example.com', firstName: 'Pat', lastName: 'Ner', mode: 'set-password', password: PASSWORD, orgs: [{ orgId: orgA.orgId, role: 'org-user' }] } });
    expect(created.status).toBe(201);
    // An Admin of the branch (made by the branch, not a partner admin) manages the membership only.
    const branchAdmin = await member({ ...founder, orgId: orgA.orgId }, 'branch-admin@example.com', 'org-admin');
    expect(await t.request('POST', `/v1/orgs/${orgA.orgId}/members/${created.body.userId}/temporary-password`, { token: branchAdmin.token })).toMatchObject({ status: 403, body: { code: 'account_managed_elsewhere' } });
    expect((await t.request('POST', `/v1/orgs/${orgA.orgId}/members/${created.body.userId}/disable`, { token: branchAdmin.token })).status).toBe(200);
    expect((await t.request('POST', `/v1/orgs/${orgA.orgId}/members/${created.body.userId}/temporary-password`, { token: founder.token })).status).toBe(200);
  });
});

describe('R-SEC-4 SPEC 5.7 the Owner is protected from its own admins', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it("an Admin edits neither the Owner's profile nor sends the Owner a password-replacing setup link", async () => {
    const org = await createOrg(t);
    const admin = (await signedInMember(t, org, 'admin-o@example.com', 'admin')).token;
    expect(await t.request('PATCH', `/v1/orgs/${org.orgId}/members/${org.ownerId}`, { token: admin, body: { lastName: 'Renamed' } })).toMatchObject({ status: 403, body: { code: 'owner_protected' } });
    expect(await t.request('POST', `/v1/orgs/${org.orgId}/members/${org.ownerId}/setup-link`, { token: admin })).toMatchObject({ status: 403, body: { code: 'owner_protected' } });
    // The Owner edits its own.
    expect((await t.request('PATCH', `/v1/orgs/${org.orgId}/members/${org.ownerId}`, { token: org.token, body: { lastName: 'Renamed' } })).status).toBe(200);
  });
});

describe('R-IMP-1 an impersonation session cannot impersonate, mint keys or change credentials', () => {
  let t: TestApp;
  let store: EventStore;
  beforeAll(async () => {
    t = await startApp();
    store = t.app.get(EVENT_STORE);
  });
  afterAll(() => t.close());

  it('a1 impersonates a2; from that session nothing that would outlive it or launder the real actor is allowed', async () => {
    const org = await createOrg(t, { preset: 'studio' });
    const a1 = (await signedInMember(t, org, 'a1@example.com', 'admin')).token;
    const a2 = (await signedInMember(t, org, 'a2@example.com', 'admin')).userId;
    const a3 = (await signedInMember(t, org, 'a3@example.com', 'admin')).userId;
    const customer = (await signedInMember(t, org, 'c3@example.com', 'user')).userId;
    const as = (await t.request('POST', `/v1/orgs/${org.orgId}/members/${a2}/impersonation`, { token: a1 })).body.token as string;
    expect(as).toEqual(expect.any(String));

    const head = await store.headPosition();
    const base = `/v1/orgs/${org.orgId}/members`;
    const refused = {
      'nested impersonation': await t.request('POST', `${base}/${a3}/impersonation`, { token: as }),
      'service key': await t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: as, body: { name: 'backdoor', permissions: ['org.manage.any'] } }),
      "someone's password": await t.request('PUT', `${base}/${customer}/password`, { token: as, body: { password: 'another phrase 42 ok' } }),
      "someone's temporary password": await t.request('POST', `${base}/${customer}/temporary-password`, { token: as }),
      "someone's MFA": await t.request('POST', `${base}/${customer}/mfa-reset`, { token: as }),
      "someone's reset email": await t.request('POST', `${base}/${customer}/password-reset`, { token: as }),
      "someone's setup link": await t.request('POST', `${base}/${customer}/setup-link`, { token: as }),
      "the target's own password": await t.request('PUT', '/v1/me/password', { token: as, body: { currentPassword: PASSWORD, newPassword: 'another phrase 42 ok' } }),
    };
    for (const [name, answer] of Object.entries(refused)) expect({ name, status: answer.status }).toEqual({ name, status: 403 });
    expect(refused['nested impersonation'].body.code).toBe('not_while_impersonating');
    expect(refused['service key'].body.code).toBe('not_while_impersonating');
    expect(refused["someone's password"].body.code).toBe('not_while_impersonating');
    expect((await store.readAll(head)).events).toEqual([]);
    // What a2 could do in the org still works, recorded with both identities.
    expect((await t.request('POST', `${base}/${customer}/ban`, { token: as })).status).toBe(200);
    const [banned] = (await store.readAll(head)).events;
    expect(banned).toMatchObject({ type: 'UserBanned', actor: { id: a2 }, realActor: { kind: 'user' } });
  });
});

describe('R-ACC-1 SPEC 5.7 a disabled member is refused on every route of the org, reads included', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('old and new tokens get 403 access_disabled from the org, its roles, authorize and the members list; enabling restores access', async () => {
    const org = await createOrg(t);
    const signedIn = await signedInMember(t, org, 'disabled-reads@example.com', 'admin');
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${signedIn.userId}/disable`, { token: org.token })).status).toBe(200);
    const reads = (token: string) => [
      t.request('GET', `/v1/orgs/${org.orgId}`, { token }),
      t.request('GET', `/v1/orgs/${org.orgId}/roles`, { token }),
      t.request('POST', `/v1/orgs/${org.orgId}/authorize`, { token, body: { principal: org.ownerId, permission: 'users.list.any' } }),
      t.request('GET', `/v1/orgs/${org.orgId}/members`, { token }),
      t.request('GET', `/v1/orgs/${org.orgId}/members/${org.ownerId}`, { token }),
    ];
    for (const answer of await Promise.all(reads(signedIn.token))) expect(answer).toMatchObject({ status: 403, body: { code: 'access_disabled' } });
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${signedIn.userId}/enable`, { token: org.token })).status).toBe(200);
    for (const answer of await Promise.all(reads(signedIn.token))) expect(answer.status).toBe(200);
  });
});

describe('R-SEC-1 no probing across orgs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it("another org's member has no permission history here (404), while a removed member's history stays readable", async () => {
    const mine = await createOrg(t);
    const theirs = await createOrg(t);
    expect(await t.request('GET', `/v1/orgs/${mine.orgId}/members/${theirs.ownerId}/permission-history`, { token: mine.token })).toMatchObject({ status: 404, body: { code: 'not_found' } });
    const added = await t.request('POST', `/v1/orgs/${mine.orgId}/members`, { token: mine.token, body: { email: 'leaver@example.com', firstName: 'L', lastName: 'V', mode: 'setup-email' } });
    await t.request('DELETE', `/v1/orgs/${mine.orgId}/members/${added.body.userId}`, { token: mine.token });
    const history = await t.request('GET', `/v1/orgs/${mine.orgId}/members/${added.body.userId}/permission-history`, { token: mine.token, headers: { 'gatehouse-min-position': '0' } });
    expect(history.status).toBe(200);
  });

  it('a partner answers 404 alike to a non-admin for an existing id and a random one', async () => {
    const founder = await createOrg(t);
    const stranger = await createOrg(t);
    const p = (await t.request('POST', '/v1/partners', { token: founder.token, body: { name: 'Hidden' } })).body.partnerId as string;
    const real = await t.request('GET', `/v1/partners/${p}/orgs`, { token: stranger.token });
    const random = await t.request('GET', '/v1/partners/00000000-0000-4000-8000-000000000000/orgs', { token: stranger.token });
    expect([real.status, random.status]).toEqual([404, 404]);
    expect(real.body).toEqual(random.body);
  });
});
