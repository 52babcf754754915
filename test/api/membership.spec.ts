import { GrantExpiry } from '../../src/access/grant-expiry.service';
import { EVENT_STORE } from '../../src/shared/tokens';
import type { EventStore } from '../../infra/eventstore/port';
import { createOrg, linkTokenFor, manualClock, startApp, type OrgSession, type TestApp } from '../support/app';

const HOUR = 3_600_000;

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
const PASSWORD = 'a long passphrase 7';

describe('membership over HTTP', () => {
  const clock = manualClock();
  let t: TestApp;
  let store: EventStore;
  beforeAll(async () => {
    t = await startApp({}, { clock });
    store = t.app.get(EVENT_STORE);
  });
  afterAll(() => t.close());

  const members = (org: OrgSession) => `/v1/orgs/${org.orgId}/members`;
  async function invite(org: OrgSession, email: string, body: Record<string, unknown> = {}) {
    const r = await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email, ...body } });
    expect(r.status).toBe(201);
    return r.body as { invitationId: string };
  }
  async function join(org: OrgSession, email: string, role = 'member') {
    await invite(org, email, { role });
    const r = await t.request('POST', '/v1/invitations/accept', { body: { token: linkTokenFor(t, email), password: PASSWORD, firstName: 'Jo', lastName: 'Doe' } });
    expect(r.status).toBe(200);
    return r.body as { userId: string; token: string };
  }

  describe('creating members directly', () => {
    it('R-CRT-1 (a) a setup email carries a single-use link that sets the password', async () => {
      const org = await createOrg(t);
      const created = await t.request('POST', members(org), { token: org.token, body: { email: 'sam@example.com', firstName: 'Sam', lastName: 'Setup', mode: 'setup-email' } });
      expect(created.status).toBe(201);
      expect(created.body.temporaryPassword).toBeUndefined();
      const token = linkTokenFor(t, 'sam@example.com', 'setup');
      const redeemed = await t.request('POST', '/v1/password-resets/redeem', { body: { token, newPassword: PASSWORD } });
      expect(redeemed).toMatchObject({ status: 200, body: { userId: created.body.userId, token: expect.any(String) } });
      expect(await t.request('POST', '/v1/password-resets/redeem', { body: { token, newPassword: PASSWORD + 'x' } })).toMatchObject({ status: 410, body: { code: 'link_used' } });
      expect((await t.request('POST', '/v1/sessions', { body: { email: 'sam@example.com', password: PASSWORD } })).status).toBe(201);
    });

    it('R-CRT-4 the setup link can be resent even after setup was completed; following it then resets the password', async () => {
      const org = await createOrg(t, { preset: 'studio' });
      const created = await t.request('POST', members(org), { token: org.token, body: { email: 'rex@example.com', firstName: 'Rex', lastName: 'Resend', mode: 'setup-email' } });
      await t.request('POST', '/v1/password-resets/redeem', { body: { token: linkTokenFor(t, 'rex@example.com', 'setup'), newPassword: PASSWORD } });
      const resent = await t.request('POST', `${members(org)}/${created.body.userId}/setup-link`, { token: org.token });
      expect(resent.status).toBe(200);
      const mail = t.mailbox().filter((m) => m.to === 'rex@example.com').pop()!;
      expect(mail.subject).toBe('Reset your Gatehouse password');
      expect(Date.parse(/expires at (\S+?)\.?$/.exec(mail.text)![1]) - clock().getTime()).toBe(24 * HOUR);
      const redeemed = await t.request('POST', '/v1/password-resets/redeem', { body: { token: linkTokenFor(t, 'rex@example.com', 'setup'), newPassword: 'another long phrase 9' } });
      expect(redeemed.status).toBe(200);
      expect((await t.request('POST', '/v1/sessions', { body: { email: 'rex@example.com', password: PASSWORD } })).status).toBe(401);
      expect((await t.request('POST', '/v1/sessions', { body: { email: 'rex@example.com', password: 'another long phrase 9' } })).status).toBe(201);
      // It can replace a password: a customer may not (studio Staff may, with their own users.resend-setup.any: seed 000, test/api/onboarding.spec.ts).
      const customerCreated = await t.request('POST', members(org), { token: org.token, body: { email: 'stf@example.com', firstName: 'S', lastName: 'T', mode: 'set-password', password: PASSWORD, role: 'user' } });
      const customer = (await t.request('POST', '/v1/sessions', { body: { email: 'stf@example.com', password: PASSWORD } })).body.token;
      expect(customerCreated.status).toBe(201);
      expect(await t.request('POST', `${members(org)}/${created.body.userId}/setup-link`, { token: customer })).toMatchObject({ status: 403, body: { details: { permission: 'users.credentials.any' } } });
    });

    it('R-CRT-1 (b) a temporary password is returned once, stored only as a hash, never emailed', async () => {
      const org = await createOrg(t);
      const head = await store.headPosition();
      const created = await t.request('POST', members(org), { token: org.token, body: { email: 'tia@example.com', firstName: 'Tia', lastName: 'Temp', mode: 'temporary-password' } });
      const temporary = created.body.temporaryPassword as string;
      expect(temporary).toHaveLength(16);
      const stored = JSON.stringify((await store.readAll(head)).events.map((e) => e.data));
      expect(stored).not.toContain(temporary);
      expect(stored).toContain('$argon2id$');
      expect(t.mailbox().some((m) => m.text.includes(temporary))).toBe(false);
    });

    it('R-CRT-1 (c) the admin sets the password, optionally to be changed at first sign-in; weak ones are refused', async () => {
      const org = await createOrg(t);
      const weak = await t.request('POST', members(org), { token: org.token, body: { email: 'cy@example.com', firstName: 'Cy', lastName: 'Set', mode: 'set-password', password: 'password123!' } });
      expect(weak).toMatchObject({ status: 422, body: { code: 'weak_password', details: { rule: 'too_common' } } });
      const missing = await t.request('POST', members(org), { token: org.token, body: { email: 'cy@example.com', firstName: 'Cy', lastName: 'Set', mode: 'set-password' } });
      expect(missing).toMatchObject({ status: 422, body: { code: 'password_required' } });
      const ok = await t.request('POST', members(org), { token: org.token, body: { email: 'cy@example.com', firstName: 'Cy', lastName: 'Set', mode: 'set-password', password: PASSWORD, mustChangePassword: true } });
      expect(ok.status).toBe(201);
      expect((await t.request('POST', '/v1/sessions', { body: { email: 'cy@example.com', password: PASSWORD } })).body.mustChangePassword).toBe(true);
    });

    it('R-CRT-2 an email with an account elsewhere adds that user directly, with no password issued', async () => {
      const home = await createOrg(t);
      const other = await createOrg(t);
      const added = await t.request('POST', members(other), { token: other.token, body: { email: home.ownerEmail.toUpperCase(), firstName: 'X', lastName: 'Y', mode: 'temporary-password' } });
      expect(added).toMatchObject({ status: 201, body: { userId: home.ownerId, addedExisting: true } });
      expect(added.body.temporaryPassword).toBeUndefined();
      expect((await t.request('GET', `/v1/orgs/${other.orgId}`, { token: home.token })).status).toBe(200);
    });

    it('R-CRT-3 new members are approved and get the default role unless one is given', async () => {
      const org = await createOrg(t, { preset: 'service-desk' });
      const plain = await t.request('POST', members(org), { token: org.token, body: { email: 'd1@example.com', firstName: 'D', lastName: 'One', mode: 'temporary-password' } });
      const tech = await t.request('POST', members(org), { token: org.token, body: { email: 'd2@example.com', firstName: 'D', lastName: 'Two', mode: 'temporary-password', role: 'technician' } });
      expect((await t.request('GET', `${members(org)}/${plain.body.userId}`, { token: org.token })).body).toMatchObject({ role: 'viewer', approval: 'approved', status: 'active' });
      expect((await t.request('GET', `${members(org)}/${tech.body.userId}`, { token: org.token })).body.role).toBe('technician');
    });

    it('needs users.create.any, and a role within the actor’s ceiling (R-ROLE-2)', async () => {
      const org = await createOrg(t);
      const member = await join(org, 'mo@example.com');
      const denied = await t.request('POST', members(org), { token: member.token, body: { email: 'x@example.com', firstName: 'X', lastName: 'Y', mode: 'setup-email' } });
      expect(denied).toMatchObject({ status: 403, body: { code: 'forbidden', details: { permission: 'users.create.any' } } });
    });
  });

  describe('invitations', () => {
    it('R-INV-2 a revoked invitation’s link stops working at once; a resend kills the old link', async () => {
      const org = await createOrg(t);
      const { invitationId } = await invite(org, 'rev@example.com');
      const first = linkTokenFor(t, 'rev@example.com');
      expect((await t.request('POST', `/v1/orgs/${org.orgId}/invitations/${invitationId}/resend`, { token: org.token })).status).toBe(200);
      const second = linkTokenFor(t, 'rev@example.com');
      expect(second).not.toBe(first);
      expect(await t.request('POST', '/v1/invitations/accept', { body: { token: first, password: PASSWORD } })).toMatchObject({ status: 410, body: { code: 'link_superseded' } });
      expect((await t.request('DELETE', `/v1/orgs/${org.orgId}/invitations/${invitationId}`, { token: org.token })).status).toBe(200);
      expect(await t.request('POST', '/v1/invitations/accept', { body: { token: second, password: PASSWORD } })).toMatchObject({ status: 410, body: { code: 'invitation_revoked' } });
      expect(await t.request('DELETE', `/v1/orgs/${org.orgId}/invitations/${invitationId}`, { token: org.token })).toMatchObject({ status: 404 });
    });

    it('R-INV-4 an existing user accepts with their current password', async () => {
      const home = await createOrg(t);
      const other = await createOrg(t);
      await invite(other, home.ownerEmail);
      const token = linkTokenFor(t, home.ownerEmail);
      expect(await t.request('POST', '/v1/invitations/accept', { body: { token, password: 'not the password at all' } })).toMatchObject({ status: 401, body: { code: 'invalid_credentials' } });
      const ok = await t.request('POST', '/v1/invitations/accept', { body: { token, password: 'correct horse battery' } });
      expect(ok).toMatchObject({ status: 200, body: { userId: home.ownerId } });
    });

    it('R-INV-5 used, expired and unknown links are rejected with a reason, and change nothing', async () => {
      const org = await createOrg(t);
      await invite(org, 'once@example.com');
      const token = linkTokenFor(t, 'once@example.com');
      expect((await t.request('POST', '/v1/invitations/accept', { body: { token, password: PASSWORD } })).status).toBe(200);
      const head = await store.headPosition();
      expect(await t.request('POST', '/v1/invitations/accept', { body: { token, password: PASSWORD } })).toMatchObject({ status: 410, body: { code: 'link_used' } });
      expect(await t.request('POST', '/v1/invitations/accept', { body: { token: 'x'.repeat(43), password: PASSWORD } })).toMatchObject({ status: 400, body: { code: 'link_invalid' } });
      await invite(org, 'late@example.com');
      const late = linkTokenFor(t, 'late@example.com');
      const afterInvite = await store.headPosition();
      clock.advance(7 * 24 * HOUR + 1000);
      expect(await t.request('POST', '/v1/invitations/accept', { body: { token: late, password: PASSWORD } })).toMatchObject({ status: 410, body: { code: 'link_expired' } });
      expect(head < afterInvite).toBe(true);
      expect(await store.headPosition()).toBe(afterInvite);
    });

    it('R-INV-3 racing invitations for one email leave one pending invitation', async () => {
      const org = await createOrg(t);
      // Five at once: a sixth would meet R-SEC-6's cap of five link emails an hour to one address.
      const results = await Promise.all(Array.from({ length: 5 }, () => t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'race@example.com' } })));
      expect(results.every((r) => r.status === 201)).toBe(true);
      expect(new Set(results.map((r) => r.body.invitationId)).size).toBe(1);
      expect(results.filter((r) => r.body.resent === false)).toHaveLength(1);
      const invited = (await store.readAll(0n, { limit: 100_000, filter: { types: ['UserInvited'] } })).events.filter((e) => e.orgId === org.orgId);
      expect(invited).toHaveLength(1);
    });
  });

  describe('roles, grants and access', () => {
    it('R-ROLE-8 a grant takes effect for the next check, and a revoke too', async () => {
      const org = await createOrg(t);
      const member = await join(org, 'gr@example.com');
      const detail = `${members(org)}/${org.ownerId}`;
      expect(await t.request('GET', detail, { token: member.token })).toMatchObject({ status: 403, body: { details: { permission: 'users.list.any' } } });
      const granted = await t.request('POST', `${members(org)}/${member.userId}/grants`, { token: org.token, body: { permission: 'users.list.any', reason: 'on-call lead' } });
      expect(granted.status).toBe(201);
      expect((await t.request('GET', detail, { token: member.token })).status).toBe(200);
      expect((await t.request('DELETE', `${members(org)}/${member.userId}/grants/${granted.body.grantId}`, { token: org.token })).status).toBe(200);
      expect((await t.request('GET', detail, { token: member.token })).status).toBe(403);
    });

    it('R-ROLE-6 a grant with an expiry stops working when the clock passes it, with no job', async () => {
      const org = await createOrg(t);
      const member = await join(org, 'ex@example.com');
      const expiresAt = new Date(clock().getTime() + HOUR).toISOString();
      await t.request('POST', `${members(org)}/${member.userId}/grants`, { token: org.token, body: { permission: 'users.list.any', reason: 'one hour', expiresAt } });
      const detail = `${members(org)}/${org.ownerId}`;
      expect((await t.request('GET', detail, { token: member.token })).status).toBe(200);
      clock.advance(HOUR + 1);
      expect((await t.request('GET', detail, { token: member.token })).status).toBe(403);
      const grants = (await t.request('GET', `${members(org)}/${member.userId}`, { token: org.token })).body.grants;
      expect(grants).toEqual([expect.objectContaining({ permission: 'users.list.any', reason: 'one hour', grantedBy: org.ownerId, expired: true })]);

      // ...and PermissionExpired is recorded afterwards, once.
      const expiry = t.app.get(GrantExpiry);
      await expiry.ready;
      await waitFor(async () => (await expiry.sweep()) > 0);
      expect(await expiry.sweep()).toBe(0);
      const expired = (await store.readAll(0n, { limit: 100_000, filter: { types: ['PermissionExpired'] } })).events.filter((e) => e.orgId === org.orgId);
      expect(expired).toHaveLength(1);
      expect(expired[0]).toMatchObject({ actor: { kind: 'system', id: 'grant-expiry' }, data: { userId: member.userId, permission: 'users.list.any', expiredAt: expiresAt } });
    });

    it('R-ACC-4 approve / pending, and R-ACC-5 ban only with users.ban.any (Admin, not Staff)', async () => {
      const org = await createOrg(t, { preset: 'studio' });
      const staff = await join(org, 'staff@example.com', 'staff');
      const customer = await join(org, 'cust@example.com', 'user');
      const url = `${members(org)}/${customer.userId}`;
      expect((await t.request('POST', `${url}/pending`, { token: staff.token })).status).toBe(200);
      expect((await t.request('GET', url, { token: org.token })).body.approval).toBe('pending');
      expect((await t.request('POST', `${url}/approve`, { token: staff.token })).status).toBe(200);
      expect(await t.request('POST', `${url}/ban`, { token: staff.token })).toMatchObject({ status: 403, body: { code: 'forbidden', details: { permission: 'users.ban.any' } } });
      expect((await t.request('POST', `${url}/ban`, { token: org.token })).status).toBe(200);
      expect((await t.request('GET', url, { token: org.token })).body.banned).toBe(true);
      expect((await t.request('POST', `${url}/unban`, { token: org.token })).status).toBe(200);
      expect((await t.request('GET', url, { token: org.token })).body.banned).toBe(false);
    });

    it('R-ACC-2 the Owner cannot be disabled, banned or removed', async () => {
      const org = await createOrg(t);
      const admin = await join(org, 'adm@example.com', 'admin');
      for (const action of ['disable', 'ban']) {
        expect(await t.request('POST', `${members(org)}/${org.ownerId}/${action}`, { token: admin.token })).toMatchObject({ status: 403, body: { code: 'owner_protected' } });
      }
      expect(await t.request('DELETE', `${members(org)}/${org.ownerId}`, { token: admin.token })).toMatchObject({ status: 403, body: { code: 'owner_protected' } });
    });

    it('R-SEC-1 members of another org answer 404', async () => {
      const a = await createOrg(t);
      const b = await createOrg(t);
      expect(await t.request('POST', `${members(a)}/${b.ownerId}/disable`, { token: a.token })).toMatchObject({ status: 404, body: { code: 'not_found' } });
      expect(await t.request('GET', `${members(a)}/${b.ownerId}`, { token: a.token })).toMatchObject({ status: 404 });
    });
  });

  describe('access codes', () => {
    it('R-CODE-1 members of an org with door access get a generated 6-digit code', async () => {
      const org = await createOrg(t, { preset: 'studio' });
      const member = await join(org, 'door@example.com', 'user');
      const { accessCode } = (await t.request('GET', `${members(org)}/${member.userId}`, { token: org.token })).body;
      expect(accessCode).toMatch(/^\d{6}$/);
      expect((await t.request('GET', `${members(org)}/${org.ownerId}`, { token: org.token })).body.accessCode).toMatch(/^\d{6}$/);
    });

    it('R-CODE-2 custom codes: 6 digits, not sequential, not repeated, unique in the org; the old code is freed', async () => {
      const org = await createOrg(t, { preset: 'studio' });
      const a = await join(org, 'ca@example.com', 'user');
      const b = await join(org, 'cb@example.com', 'user');
      const put = (userId: string, code: string) => t.request('PUT', `${members(org)}/${userId}/access-code`, { token: org.token, body: { code } });
      expect(await put(a.userId, '12345')).toMatchObject({ status: 422, body: { code: 'accesscode_format' } });
      expect(await put(a.userId, '234567')).toMatchObject({ status: 422, body: { code: 'accesscode_sequential' } });
      expect(await put(a.userId, '777777')).toMatchObject({ status: 422, body: { code: 'accesscode_repeated' } });
      const old = (await t.request('GET', `${members(org)}/${a.userId}`, { token: org.token })).body.accessCode;
      expect((await put(a.userId, '480215')).status).toBe(200);
      expect(await put(b.userId, '480215')).toMatchObject({ status: 409, body: { code: 'accesscode_taken' } });
      expect((await put(b.userId, old)).status).toBe(200);
    });

    it('R-CODE-1 racing for one code: exactly one member gets it', async () => {
      const org = await createOrg(t, { preset: 'studio' });
      const people = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((n) => join(org, `${n}@example.com`, 'user')));
      const results = await Promise.all(people.map((p) => t.request('PUT', `${members(org)}/${p.userId}/access-code`, { token: org.token, body: { code: '592046' } })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      expect(results.filter((r) => r.status === 409)).toHaveLength(3);
    });
  });

  describe('one account per email and per username, under races', () => {
    it('two orgs creating the same new person at once end with one account', async () => {
      const a = await createOrg(t);
      const b = await createOrg(t);
      const body = { email: 'twin@example.com', firstName: 'T', lastName: 'W', mode: 'temporary-password' };
      const [ra, rb] = await Promise.all([t.request('POST', members(a), { token: a.token, body }), t.request('POST', members(b), { token: b.token, body: { ...body, email: 'TWIN@example.com' } })]);
      expect([ra.status, rb.status]).toEqual([201, 201]);
      expect(ra.body.userId).toBe(rb.body.userId);
      expect([ra.body.addedExisting, rb.body.addedExisting].sort()).toEqual([false, true]);
    });

    it('a username belongs to one account, case-insensitively', async () => {
      const org = await createOrg(t);
      const results = await Promise.all(
        ['u1', 'u2', 'u3'].map((n, i) => t.request('POST', members(org), { token: org.token, body: { email: `${n}@example.com`, firstName: 'U', lastName: n, mode: 'temporary-password', username: i ? 'Nightowl' : 'nightowl' } })),
      );
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      expect(results.filter((r) => r.status === 409).map((r) => r.body.code)).toEqual(['username_taken', 'username_taken']);
    });
  });
});
