import type { EventStore } from '../../infra/eventstore/port';
import { EVENT_STORE } from '../../src/shared/tokens';
import { GrantExpiry } from '../../src/access/grant-expiry.service';
import { createOrg, manualClock, startApp, type OrgSession, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';

describe('R-IMP-1 impersonation over HTTP', () => {
  let t: TestApp;
  let store: EventStore;
  beforeAll(async () => {
    t = await startApp();
    store = t.app.get(EVENT_STORE);
  });
  afterAll(() => t.close());

  async function member(org: OrgSession, email: string, role: string) {
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email, firstName: 'Im', lastName: 'P', mode: 'set-password', password: PASSWORD, role } });
    return { userId: created.body.userId as string, token: (await t.request('POST', '/v1/sessions', { body: { email, password: PASSWORD } })).body.token as string };
  }

  it('Staff impersonate a customer: a short-lived session, every action recorded with both identities, start and end as events', async () => {
    const org = await createOrg(t, { preset: 'studio' });
    const staff = await member(org, 'imp-staff@example.com', 'staff');
    const customer = await member(org, 'imp-cust@example.com', 'user');
    const head = await store.headPosition();
    const started = await t.request('POST', `/v1/orgs/${org.orgId}/members/${customer.userId}/impersonation`, { token: staff.token });
    expect(started).toMatchObject({ status: 201, body: { token: expect.any(String), userId: customer.userId } });
    expect(Date.parse(started.body.expiresAt) - Date.now()).toBeLessThanOrEqual(30 * 60_000);
    const as = started.body.token as string;

    // Acting as the customer: the event names the customer as actor and the staff member as the real actor.
    const me = await t.request('GET', '/v1/me', { token: as });
    expect(me.body.userId).toBe(customer.userId);
    const asked = await t.request('POST', `/v1/orgs/${org.orgId}/authorize`, { token: as, body: { principal: customer.userId, permission: 'bookings.create.own' } });
    expect(asked.body).toEqual({ allowed: true, reason: 'role' });
    await t.request('POST', '/v1/me/mfa/totp', { token: as }).then((r) => expect(r.status).toBe(403)); // outside the org's routes
    const ended = await t.request('DELETE', '/v1/impersonation', { token: as });
    expect(ended.status).toBe(200);
    expect((await t.request('GET', '/v1/me', { token: as })).status).toBe(401);

    const events = (await store.readAll(head)).events;
    const started_ = events.find((e) => e.type === 'ImpersonationStarted')!;
    expect(started_).toMatchObject({ actor: { kind: 'user', id: staff.userId }, orgId: org.orgId, data: { userId: customer.userId, impersonatorId: staff.userId } });
    const end = events.find((e) => e.type === 'ImpersonationEnded')!;
    expect(end).toMatchObject({ actor: { kind: 'user', id: customer.userId }, realActor: { kind: 'user', id: staff.userId }, orgId: org.orgId });
    // Seed 003: someone acting as the customer is not the customer signing in: their last sign-in stays their own.
    const row = await t.request('GET', `/v1/orgs/${org.orgId}/members/${customer.userId}`, { token: org.token, headers: { 'gatehouse-min-position': String(await store.headPosition()) } });
    expect(row.body.lastSignInMethod).toBe('password');
  });

  it('never the Owner, never someone of higher access, never oneself, and only with users.impersonate.any', async () => {
    const org = await createOrg(t, { preset: 'studio' });
    const staff = await member(org, 'imp-staff2@example.com', 'staff');
    const admin = await member(org, 'imp-admin2@example.com', 'admin');
    const customer = await member(org, 'imp-cust2@example.com', 'user');
    const start = (token: string, userId: string) => t.request('POST', `/v1/orgs/${org.orgId}/members/${userId}/impersonation`, { token });
    expect(await start(admin.token, org.ownerId)).toMatchObject({ status: 403, body: { code: 'owner_protected' } });
    expect(await start(staff.token, admin.userId)).toMatchObject({ status: 403, body: { code: 'above_your_ceiling' } });
    expect(await start(staff.token, staff.userId)).toMatchObject({ status: 403, body: { code: 'cannot_impersonate_self' } });
    expect(await start(customer.token, staff.userId)).toMatchObject({ status: 403, body: { details: { permission: 'users.impersonate.any' } } });
    expect((await start(admin.token, staff.userId)).status).toBe(201);
    // An impersonation session reaches no other org.
    const other = await createOrg(t);
    const session = (await start(admin.token, customer.userId)).body.token;
    expect(await t.request('GET', `/v1/orgs/${other.orgId}`, { token: session })).toMatchObject({ status: 403, body: { code: 'impersonation_scope' } });
    expect(await t.request('DELETE', '/v1/impersonation', { token: customer.token })).toMatchObject({ status: 422, body: { code: 'not_impersonating' } });
  });
});

describe('R-IMP-1 an impersonation that runs out (seed 003)', () => {
  const clock = manualClock(new Date('2026-08-01T10:00:00.000Z'));
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({}, { clock });
  });
  afterAll(() => t.close());

  it('R-IMP-1 is recorded as ended, reason expired, once', async () => {
    const org = await createOrg(t, { preset: 'studio' });
    const make = async (email: string, role: string) => {
      const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email, firstName: 'Ex', lastName: 'Pire', mode: 'set-password', password: PASSWORD, role } });
      return { userId: created.body.userId as string, token: (await t.request('POST', '/v1/sessions', { body: { email, password: PASSWORD } })).body.token as string };
    };
    const staff = await make('exp-staff@example.com', 'staff');
    const customer = await make('exp-cust@example.com', 'user');
    const started = await t.request('POST', `/v1/orgs/${org.orgId}/members/${customer.userId}/impersonation`, { token: staff.token });
    expect(started.status).toBe(201);
    const store = t.app.get<EventStore>(EVENT_STORE);
    const expiry = t.app.get(GrantExpiry);
    const ended = async () => (await store.readAll(0n, { limit: 100_000, filter: { types: ['ImpersonationEnded'] } })).events.filter((e) => e.type === 'ImpersonationEnded' && e.data.userId === customer.userId);

    await expiry.sweep();
    expect(await ended()).toEqual([]); // not before its time
    clock.advance(31 * 60_000);
    expect((await t.request('GET', '/v1/me', { token: started.body.token })).status).toBe(401);
    for (let i = 0; i < 50 && (await ended()).length === 0; i++) {
      await expiry.sweep();
      await new Promise((r) => setTimeout(r, 20));
    }
    const [end] = await ended();
    expect(end).toMatchObject({ orgId: org.orgId, actor: { kind: 'system', id: 'impersonation-expiry' }, data: { sessionId: expect.any(String), impersonatorId: staff.userId, reason: 'expired' } });
    await expiry.sweep();
    expect(await ended()).toHaveLength(1);
  });
});
