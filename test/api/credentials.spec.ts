import type { EventStore } from '../../infra/eventstore/port';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, linkTokenFor, manualClock, startApp, type OrgSession, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';

describe('passwords and sessions over HTTP', () => {
  let t: TestApp;
  let store: EventStore;
  beforeAll(async () => {
    t = await startApp();
    store = t.app.get(EVENT_STORE);
  });
  afterAll(() => t.close());

  const signIn = (email: string, password = PASSWORD) => t.request('POST', '/v1/sessions', { body: { email, password } });
  async function member(org: OrgSession, email: string, role = 'member') {
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email, firstName: 'Mo', lastName: 'Member', mode: 'set-password', password: PASSWORD, role } });
    const session = await signIn(email);
    return { userId: created.body.userId as string, token: session.body.token as string };
  }
  const works = async (token: string) => (await t.request('GET', '/v1/me', { token })).status === 200;

  it('R-CRED-5 a user changes their own password only with the current one', async () => {
    const org = await createOrg(t);
    const m = await member(org, 'own@example.com');
    expect(await t.request('PUT', '/v1/me/password', { token: m.token, body: { currentPassword: 'wrong password here', newPassword: 'brand new phrase 8' } })).toMatchObject({ status: 401, body: { code: 'invalid_credentials' } });
    expect(await t.request('PUT', '/v1/me/password', { token: m.token, body: { currentPassword: PASSWORD, newPassword: 'short' } })).toMatchObject({ status: 422, body: { code: 'weak_password' } });
    expect((await t.request('PUT', '/v1/me/password', { token: m.token, body: { currentPassword: PASSWORD, newPassword: 'brand new phrase 8' } })).status).toBe(200);
    expect((await signIn('own@example.com', 'brand new phrase 8')).status).toBe(201);
    expect((await signIn('own@example.com')).status).toBe(401);
  });

  it('R-CRED-5 an admin sets a password without the current one; the member’s sessions end at once', async () => {
    const org = await createOrg(t);
    const m = await member(org, 'set@example.com');
    expect(await works(m.token)).toBe(true);
    const set = await t.request('PUT', `/v1/orgs/${org.orgId}/members/${m.userId}/password`, { token: org.token, body: { password: 'admin chosen phrase 9', mustChange: true } });
    expect(set.status).toBe(200);
    expect(await works(m.token)).toBe(false);
    expect((await signIn('set@example.com', 'admin chosen phrase 9')).body.mustChangePassword).toBe(true);
  });

  it('R-CRED-4 an admin reset gives a temporary password shown once, forces a change, and revokes all sessions', async () => {
    const org = await createOrg(t);
    const m = await member(org, 'temp@example.com');
    const head = await store.headPosition();
    const reset = await t.request('POST', `/v1/orgs/${org.orgId}/members/${m.userId}/temporary-password`, { token: org.token });
    expect(reset).toMatchObject({ status: 200, body: { temporaryPassword: expect.stringMatching(/^[A-Za-z0-9]{16}$/) } });
    expect(await works(m.token)).toBe(false);
    const forced = await signIn('temp@example.com', reset.body.temporaryPassword);
    expect(forced.body.mustChangePassword).toBe(true);
    // Until the temporary password is changed, nothing else works.
    expect(await t.request('GET', `/v1/orgs/${org.orgId}`, { token: forced.body.token })).toMatchObject({ status: 403, body: { code: 'password_change_required' } });
    expect((await t.request('PUT', '/v1/me/password', { token: forced.body.token, body: { currentPassword: reset.body.temporaryPassword, newPassword: 'my own phrase 11' } })).status).toBe(200);
    expect((await t.request('GET', `/v1/orgs/${org.orgId}`, { token: forced.body.token })).status).toBe(200);
    const events = (await store.readAll(head)).events;
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['PasswordSet', 'SessionsRevoked']));
    expect(JSON.stringify(events.map((e) => e.data))).not.toContain(reset.body.temporaryPassword); // R-CRED-1
  });

  it('R-CRED-4 R-ROLE-2 only users.credentials.any, never over the Owner, never above one’s own role', async () => {
    const org = await createOrg(t, { preset: 'studio' });
    const staff = await member(org, 'staff-cred@example.com', 'staff');
    const admin = await member(org, 'admin-cred@example.com', 'admin');
    const target = await member(org, 'cust-cred@example.com', 'user');
    expect(await t.request('POST', `/v1/orgs/${org.orgId}/members/${target.userId}/temporary-password`, { token: staff.token })).toMatchObject({ status: 403, body: { details: { permission: 'users.credentials.any' } } });
    expect(await t.request('POST', `/v1/orgs/${org.orgId}/members/${org.ownerId}/temporary-password`, { token: admin.token })).toMatchObject({ status: 403, body: { code: 'owner_protected' } });
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${target.userId}/temporary-password`, { token: admin.token })).status).toBe(200);
  });

  it('R-CRED-3 R-SEC-4 a reset email goes to the member and a confirmation without the link to the actor; following it sets a new password and ends old sessions', async () => {
    const org = await createOrg(t);
    const m = await member(org, 'reset@example.com');
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${m.userId}/password-reset`, { token: org.token })).status).toBe(200);
    const mail = t.mailbox().filter((x) => x.to === 'reset@example.com' && x.template === 'password-reset').pop() as { bcc?: string; link?: string };
    expect(mail.bcc).toBeUndefined();
    const token = linkTokenFor(t, 'reset@example.com', 'password-reset');
    const copy = t.mailbox().filter((x) => x.to === org.ownerEmail.toLowerCase() && x.template === 'sent-confirmation').pop()!;
    expect(copy.subject).toContain('reset@example.com');
    expect(copy.link).toBeUndefined();
    expect(JSON.stringify(copy)).not.toContain(token);
    const redeemed = await t.request('POST', '/v1/password-resets/redeem', { body: { token: linkTokenFor(t, 'reset@example.com', 'password-reset'), newPassword: 'fresh phrase 10 ok' } });
    expect(redeemed.status).toBe(200);
    expect(await works(m.token)).toBe(false);
    expect(await works(redeemed.body.token)).toBe(true);
  });

  it('R-SEC-3 "forgot password" answers 202 for known and unknown emails alike, and mails only the known', async () => {
    const org = await createOrg(t);
    const before = t.mailbox().length;
    const known = await t.request('POST', '/v1/password-resets', { body: { email: org.ownerEmail } });
    const unknown = await t.request('POST', '/v1/password-resets', { body: { email: 'nobody-here@example.com' } });
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(known.body).toEqual(unknown.body);
    expect(t.mailbox().slice(before).map((m) => m.to)).toEqual([org.ownerEmail.toLowerCase()]);
  });

  it('R-SEC-3 emails from public endpoints are limited per email and per address, the same for unknown emails', async () => {
    for (const email of ['limit-unknown@example.com', (await createOrg(t)).ownerEmail]) {
      for (let i = 0; i < 5; i++) expect((await t.request('POST', '/v1/password-resets', { body: { email } })).status).toBe(202);
      const limited = await t.request('POST', '/v1/password-resets', { body: { email } });
      expect(limited).toMatchObject({ status: 429, body: { code: 'too_many_requests' } });
      expect(limited.headers['retry-after']).toBeDefined();
    }
  });

  it('R-SEC-3 simultaneous sign-ins of one account all succeed, and simultaneous wrong ones all answer 401', async () => {
    const org = await createOrg(t);
    await member(org, 'twice@example.com');
    const right = await Promise.all(Array.from({ length: 6 }, () => signIn('twice@example.com')));
    expect(right.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
    const wrong = await Promise.all(Array.from({ length: 4 }, (_, i) => signIn('twice@example.com', `not it ${i} at all`)));
    expect(wrong.map((r) => r.status)).toEqual([401, 401, 401, 401]);
  });

  it('R-CRED-9 sessions are listed per user; one can be revoked, or all ("log out everywhere"), effective at once', async () => {
    const org = await createOrg(t);
    await member(org, 'multi@example.com');
    const a = (await signIn('multi@example.com')).body;
    const b = (await signIn('multi@example.com')).body;
    const listed = await t.request('GET', '/v1/me/sessions', { token: a.token, headers: { 'gatehouse-min-position': b.position } });
    expect(listed.body.items.map((s: { sessionId: string }) => s.sessionId)).toEqual(expect.arrayContaining([a.sessionId, b.sessionId]));
    expect(listed.body.items).toHaveLength(3);

    expect((await t.request('DELETE', `/v1/me/sessions/${b.sessionId}`, { token: a.token })).status).toBe(200);
    expect(await works(b.token)).toBe(false);
    expect(await works(a.token)).toBe(true);
    // Someone else's session answers 404.
    expect((await t.request('DELETE', `/v1/me/sessions/${a.sessionId}`, { token: org.token })).status).toBe(404);

    expect((await t.request('DELETE', '/v1/me/sessions', { token: a.token })).status).toBe(200);
    expect(await works(a.token)).toBe(false);
    const fresh = (await signIn('multi@example.com')).body;
    expect(await works(fresh.token)).toBe(true);
    const after = await t.request('GET', '/v1/me/sessions', { token: fresh.token, headers: { 'gatehouse-min-position': fresh.position } });
    expect(after.body.items.map((s: { sessionId: string }) => s.sessionId)).toEqual([fresh.sessionId]);
  });

  it('R-CRED-6 R-CRED-2 signs in by a single-use magic link that lives 30 minutes; unknown emails get the same answer', async () => {
    const org = await createOrg(t);
    await member(org, 'magic@example.com');
    const before = t.mailbox().length;
    const known = await t.request('POST', '/v1/magic-links', { body: { email: 'MAGIC@example.com' } });
    const unknown = await t.request('POST', '/v1/magic-links', { body: { email: 'nobody-magic@example.com' } });
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(known.body).toEqual(unknown.body);
    const sent = t.mailbox().slice(before);
    expect(sent.map((m) => [m.to, m.template])).toEqual([['magic@example.com', 'magic-link']]);
    const token = linkTokenFor(t, 'magic@example.com', 'magic-link');
    const redeemed = await t.request('POST', '/v1/magic-links/redeem', { body: { token } });
    expect(redeemed).toMatchObject({ status: 201, body: { token: expect.any(String) } });
    expect(await works(redeemed.body.token)).toBe(true);
    expect(await t.request('POST', '/v1/magic-links/redeem', { body: { token } })).toMatchObject({ status: 410, body: { code: 'link_used' } });
    const listed = await t.request('GET', `/v1/orgs/${org.orgId}/members?q=magic`, { token: org.token, headers: { 'gatehouse-min-position': redeemed.body.position } });
    expect(listed.body.items[0].lastSignInMethod).toBe('magic-link');
  });

  it('GET /v1/me shows the profile and memberships', async () => {
    const org = await createOrg(t, { name: 'Me Org' });
    const me = await t.request('GET', '/v1/me', { token: org.token, headers: { 'gatehouse-min-position': String(await store.headPosition()) } });
    expect(me.body).toMatchObject({ userId: org.ownerId, email: org.ownerEmail.toLowerCase(), memberships: [{ orgId: org.orgId, orgName: 'Me Org', role: 'owner', status: 'active' }] });
  });
});

describe('sign-in activity and throttling over HTTP', () => {
  const clock = manualClock();
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({}, { clock });
  });
  afterAll(() => t.close());

  const attempt = (email: string, password: string, ip: string) =>
    t.app.inject({ method: 'POST', url: '/v1/sessions', remoteAddress: ip, headers: { 'content-type': 'application/json', 'user-agent': 'TestBrowser/1.0' }, payload: JSON.stringify({ email, password }) });

  it('R-CRED-6 records every attempt with outcome, reason, address, user agent, method and time; the list shows the last sign-in', async () => {
    const org = await createOrg(t);
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'act@example.com', firstName: 'Ac', lastName: 'Tivity', mode: 'set-password', password: PASSWORD } });
    expect((await attempt('act@example.com', 'not the password', '127.0.0.11')).statusCode).toBe(401);
    const ok = await attempt('act@example.com', PASSWORD, '127.0.0.11');
    expect(ok.statusCode).toBe(201);
    const position = JSON.parse(ok.body).position;
    const activity = await t.request('GET', `/v1/orgs/${org.orgId}/members/${created.body.userId}/login-activity`, { token: org.token, headers: { 'gatehouse-min-position': position } });
    expect(activity.body.items).toEqual([
      { action: 'sign-in', success: true, ip: '127.0.0.11', userAgent: 'TestBrowser/1.0', method: 'password', at: clock().toISOString() },
      { action: 'sign-in', success: false, failureReason: 'wrong_password', ip: '127.0.0.11', userAgent: 'TestBrowser/1.0', method: 'password', at: clock().toISOString() },
    ]);
    const listed = await t.request('GET', `/v1/orgs/${org.orgId}/members?q=act`, { token: org.token });
    expect(listed.body.items[0]).toMatchObject({ lastSignInMethod: 'password', lastSignInAt: clock().toISOString() });
    // Activity has a stream of its own: the account's stream, which every decision on it folds, does not grow per sign-in (issue 14).
    const userId = created.body.userId as string;
    const store = t.app.get<EventStore>(EVENT_STORE);
    expect((await store.readStream(`sign-ins-${userId}`)).map((e) => e.type)).toEqual(['SignInFailed', 'SignedIn']);
    const account = (await store.readStream(`user-${userId}`)).length;
    for (let i = 0; i < 3; i++) expect((await attempt('act@example.com', PASSWORD, '127.0.0.11')).statusCode).toBe(201);
    expect(await store.readStream(`user-${userId}`)).toHaveLength(account);
  });

  it('R-CRED-7 failures slow down with growing delays; a stranger elsewhere cannot lock the owner out', async () => {
    const org = await createOrg(t);
    await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'target@example.com', firstName: 'Ta', lastName: 'Rget', mode: 'set-password', password: PASSWORD } });
    for (let i = 0; i < 5; i++) expect((await attempt('target@example.com', `guess ${i}`, '127.0.0.21')).statusCode).toBe(401);
    expect((await attempt('target@example.com', 'guess 5', '127.0.0.21')).statusCode).toBe(401); // the 6th failure starts the waits
    const throttled = await attempt('target@example.com', PASSWORD, '127.0.0.21');
    expect(throttled.statusCode).toBe(429);
    expect(JSON.parse(throttled.body)).toMatchObject({ code: 'too_many_attempts', details: { retryAfterSeconds: 1 } });
    expect(throttled.headers['retry-after']).toBe('1');
    // The owner, from their own address, is not held back by the stranger.
    expect((await attempt('target@example.com', PASSWORD, '127.0.0.22')).statusCode).toBe(201);
    // Each further failure doubles the wait.
    clock.advance(1000);
    expect((await attempt('target@example.com', 'guess 6', '127.0.0.21')).statusCode).toBe(401);
    expect(JSON.parse((await attempt('target@example.com', 'x', '127.0.0.21')).body).details.retryAfterSeconds).toBe(2);
    // And it is forgotten after a quiet while: nothing is locked for good.
    clock.advance(16 * 60_000);
    expect((await attempt('target@example.com', PASSWORD, '127.0.0.21')).statusCode).toBe(201);
  });
});
