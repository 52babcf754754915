import { createOrg, startApp, type TestApp } from '../support/app';

const GATEWAY_KEY = 'gateway-secret-for-tests-0123456789abcdef';

describe('R-CRED-10 sign-in through an upstream identity gateway', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ IDENTITY_GATEWAY_KEY: GATEWAY_KEY });
  });
  afterAll(() => t.close());

  const verified = (body: Record<string, unknown>, key = GATEWAY_KEY) => t.request('POST', '/v1/identities/verified', { token: key, body: { emailVerified: true, ...body } });

  it('links a verified Google identity to the account with that email, signs in, and records the method', async () => {
    const org = await createOrg(t);
    const first = await verified({ provider: 'google', subject: 'g-123', email: org.ownerEmail });
    expect(first).toMatchObject({ status: 201, body: { userId: org.ownerId, token: expect.any(String) } });
    expect((await t.request('GET', '/v1/me', { token: first.body.token })).status).toBe(200);
    const again = await verified({ provider: 'google', subject: 'g-123', email: org.ownerEmail });
    expect(again.body.userId).toBe(org.ownerId);
    const list = await t.request('GET', `/v1/orgs/${org.orgId}/members?q=${encodeURIComponent(org.ownerEmail.slice(0, 8))}`, { token: org.token, headers: { 'gatehouse-min-position': again.body.position } });
    expect(list.body.items[0].lastSignInMethod).toBe('google');
  });

  it('one account per identity; unverified emails, unknown accounts and callers without the gateway key are refused', async () => {
    const a = await createOrg(t);
    const b = await createOrg(t);
    expect((await verified({ provider: 'microsoft', subject: 'm-1', email: a.ownerEmail })).status).toBe(201);
    expect(await verified({ provider: 'microsoft', subject: 'm-1', email: b.ownerEmail })).toMatchObject({ status: 409, body: { code: 'identity_taken' } });
    expect(await verified({ provider: 'google', subject: 'x', email: a.ownerEmail, emailVerified: false })).toMatchObject({ status: 422, body: { code: 'email_not_verified' } });
    expect(await verified({ provider: 'google', subject: 'y', email: 'nobody-idp@example.com' })).toMatchObject({ status: 404 });
    expect(await verified({ provider: 'google', subject: 'z', email: a.ownerEmail }, 'wrong-key-0123456789abcdef0123456789')).toMatchObject({ status: 401 });
    expect(await verified({ provider: 'github', subject: 'z', email: a.ownerEmail })).toMatchObject({ status: 400 });
  });
});
