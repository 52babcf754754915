import { createOrg, linkTokenFor, startApp, type OrgSession, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';

describe('service keys and the authorization check over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  async function join(org: OrgSession, email: string, role: string) {
    await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email, role } });
    const r = await t.request('POST', '/v1/invitations/accept', { body: { token: linkTokenFor(t, email), password: PASSWORD, firstName: 'A', lastName: 'B' } });
    return r.body as { userId: string; token: string };
  }

  it('a scheduler service sets availability with an org-scoped key, and nothing beyond its permissions', async () => {
    const org = await createOrg(t);
    const member = await join(org, 'avail@example.com', 'member');
    const issued = await t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: org.token, body: { name: 'scheduler', permissions: ['availability.update.any'] } });
    expect(issued).toMatchObject({ status: 201, body: { keyId: expect.any(String), key: expect.stringMatching(/^ghk\./) } });
    const key = issued.body.key as string;

    const set = await t.request('PUT', `/v1/orgs/${org.orgId}/members/${member.userId}/availability`, { token: key, body: { availability: 'on-call' } });
    expect(set.status).toBe(200);
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/members/${member.userId}`, { token: org.token })).body.availability).toBe('on-call');
    expect(await t.request('POST', `/v1/orgs/${org.orgId}/members/${member.userId}/disable`, { token: key })).toMatchObject({ status: 403, body: { details: { permission: 'users.disable.any' } } });

    // R-SEC-1: the key reaches no other org.
    const other = await createOrg(t);
    expect(await t.request('GET', `/v1/orgs/${other.orgId}`, { token: key })).toMatchObject({ status: 404 });

    // Revoked: refused at once (R-SEC-2).
    expect((await t.request('DELETE', `/v1/orgs/${org.orgId}/service-keys/${issued.body.keyId}`, { token: org.token })).status).toBe(200);
    expect(await t.request('PUT', `/v1/orgs/${org.orgId}/members/${member.userId}/availability`, { token: key, body: { availability: 'available' } })).toMatchObject({ status: 401 });
    // A forged secret for a real key id is refused too.
    const forged = key.slice(0, -4) + 'AAAA';
    expect((await t.request('GET', `/v1/orgs/${org.orgId}`, { token: forged })).status).toBe(401);
  });

  it('R-ROLE-2 a key carries no permission its issuer lacks; issuing needs org.manage.any', async () => {
    const org = await createOrg(t);
    const admin = await join(org, 'keyadmin@example.com', 'admin');
    const member = await join(org, 'keymember@example.com', 'member');
    expect(await t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: member.token, body: { name: 'x', permissions: [] } })).toMatchObject({ status: 403, body: { details: { permission: 'org.manage.any' } } });
    expect(await t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: admin.token, body: { name: 'billing', permissions: ['billing.manage.any'] } })).toMatchObject({ status: 403, body: { code: 'above_your_ceiling', details: { missing: ['billing.manage.any'] } } });
    expect(await t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: admin.token, body: { name: 'x', permissions: ['rockets.launch.any'] } })).toMatchObject({ status: 422, body: { code: 'unknown_permission' } });
  });

  it('answers "may P do X (in L) in O?" from the write side, with a reason (R-ACC-4, R-ACC-5)', async () => {
    const org = await createOrg(t, { preset: 'studio' });
    const customer = await join(org, 'booker@example.com', 'user');
    const { key } = (await t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: org.token, body: { name: 'bookings', permissions: ['users.list.any'] } })).body;
    const ask = (permission: string, location?: string, principal = customer.userId) =>
      t.request('POST', `/v1/orgs/${org.orgId}/authorize`, { token: key, body: { principal, permission, ...(location ? { location } : {}) } }).then((r) => r.body);

    expect(await ask('bookings.create.own')).toEqual({ allowed: true, reason: 'role' });
    expect(await ask('users.ban.any')).toEqual({ allowed: false, reason: 'missing_permission' });
    await t.request('POST', `/v1/orgs/${org.orgId}/members/${customer.userId}/pending`, { token: org.token });
    expect(await ask('bookings.create.own')).toEqual({ allowed: false, reason: 'not_approved' });
    await t.request('POST', `/v1/orgs/${org.orgId}/members/${customer.userId}/approve`, { token: org.token });
    await t.request('POST', `/v1/orgs/${org.orgId}/members/${customer.userId}/ban`, { token: org.token });
    expect(await ask('purchases.create.own')).toEqual({ allowed: false, reason: 'banned' });
    expect(await ask('bookings.create.own', undefined, '00000000-0000-4000-8000-000000000000')).toEqual({ allowed: false, reason: 'not_member' });

    // A member asks about itself without users.list.any, but not about others.
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/authorize`, { token: customer.token, body: { principal: customer.userId, permission: 'bookings.create.own' } })).body).toEqual({ allowed: false, reason: 'banned' });
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/authorize`, { token: customer.token, body: { principal: org.ownerId, permission: 'bookings.create.own' } })).status).toBe(403);
  });
});
