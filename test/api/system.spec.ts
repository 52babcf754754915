import type { EventStore } from '../../infra/eventstore/port';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';

describe('system administration over HTTP (R-SYS-1, R-ACC-7)', () => {
  let t: TestApp;
  let system: OrgSession;
  let tenant: OrgSession;

  beforeAll(async () => {
    // The system org is an ordinary org, named by SYSTEM_ADMIN_ORG when the service starts.
    const first = await startApp();
    system = await createOrg(first, { name: 'Gatehouse operators' });
    await first.close({ keepData: true });
    t = await startApp({ SYSTEM_ADMIN_ORG: system.orgId }, { dataDir: first.dataDir });
    tenant = await createOrg(t, { name: 'Tenant Co', preset: 'studio' });
  });
  afterAll(() => t.close());

  it('R-SYS-1 system admins list every org; others may not', async () => {
    const listed = await t.request('GET', '/v1/system/orgs', { token: system.token, headers: { 'gatehouse-min-position': String(BigInt(0)) } });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((o: { name: string }) => o.name)).toEqual(expect.arrayContaining(['Gatehouse operators', 'Tenant Co']));
    expect(await t.request('GET', '/v1/system/orgs', { token: tenant.token })).toMatchObject({ status: 403, body: { details: { permission: 'system' } } });
  });

  it('R-SYS-1 GET /v1/me says whether the person is a system admin, so a console offers the system panel without asking a route that refuses', async () => {
    expect((await t.request('GET', '/v1/me', { token: system.token })).body).toMatchObject({ systemAdmin: true });
    expect((await t.request('GET', '/v1/me', { token: tenant.token })).body).toMatchObject({ systemAdmin: false });
  });

  it('R-SYS-1 system admins manage users in any org (set passwords, reset MFA), and those events name them', async () => {
    const created = await t.request('POST', `/v1/orgs/${tenant.orgId}/members`, { token: tenant.token, body: { email: 'tenant-user@example.com', firstName: 'T', lastName: 'U', mode: 'set-password', password: PASSWORD } });
    const set = await t.request('PUT', `/v1/orgs/${tenant.orgId}/members/${created.body.userId}/password`, { token: system.token, body: { password: 'set by operators 15' } });
    expect(set.status).toBe(200);
    const store = t.app.get(EVENT_STORE) as EventStore;
    const [recorded] = (await store.readStream(`user-${created.body.userId}`)).filter((e) => e.type === 'PasswordSet').slice(-1);
    expect(recorded).toMatchObject({ actor: { kind: 'user', id: system.ownerId }, orgId: tenant.orgId, data: { by: 'admin' } });
    expect((await t.request('POST', `/v1/orgs/${tenant.orgId}/members/${created.body.userId}/mfa-reset`, { token: system.token })).status).toBe(200);
    expect((await t.request('POST', '/v1/sessions', { body: { email: 'tenant-user@example.com', password: 'set by operators 15' } })).status).toBe(201);
    // But a system admin is no Owner of the tenant: the Owner stays protected.
    expect(await t.request('POST', `/v1/orgs/${tenant.orgId}/members/${tenant.ownerId}/disable`, { token: system.token })).toMatchObject({ status: 403, body: { code: 'owner_protected' } });
  });

  it('R-ACC-7 a suspended org is closed to its members and keys; reactivation restores access', async () => {
    const before = await t.request('GET', `/v1/orgs/${tenant.orgId}`, { token: tenant.token });
    expect(before.status).toBe(200);
    expect(await t.request('POST', `/v1/system/orgs/${tenant.orgId}/suspend`, { token: tenant.token, body: {} })).toMatchObject({ status: 403 });
    expect((await t.request('POST', `/v1/system/orgs/${tenant.orgId}/suspend`, { token: system.token, body: { reason: 'unpaid' } })).status).toBe(200);
    expect(await t.request('GET', `/v1/orgs/${tenant.orgId}`, { token: tenant.token })).toMatchObject({ status: 403, body: { code: 'org_suspended' } });
    expect((await t.request('GET', `/v1/orgs/${tenant.orgId}`, { token: system.token })).status).toBe(200);
    expect((await t.request('POST', `/v1/system/orgs/${tenant.orgId}/reactivate`, { token: system.token })).status).toBe(200);
    expect((await t.request('GET', `/v1/orgs/${tenant.orgId}`, { token: tenant.token })).status).toBe(200);
  });

  it('R-SYS-1 with SIGNUP=closed only system admins create orgs', async () => {
    // A second process on the same data, started with sign-up closed.
    const closed = await startApp({ SIGNUP: 'closed', SYSTEM_ADMIN_ORG: system.orgId }, { dataDir: t.dataDir });
    try {
      const body = { name: 'Anyone', owner: { email: 'anyone@example.com', firstName: 'A', lastName: 'Nyone', password: PASSWORD } };
      expect(await closed.request('POST', '/v1/orgs', { body })).toMatchObject({ status: 403, body: { details: { permission: 'system' } } });
      expect(await closed.request('POST', '/v1/orgs', { body, token: tenant.token })).toMatchObject({ status: 403 });
      const made = await closed.request('POST', '/v1/orgs', { body, token: system.token });
      expect(made.status).toBe(201);
      // One signup policy: partners too are created by system admins only (before, by nobody at all).
      expect(await closed.request('POST', '/v1/partners', { token: tenant.token, body: { name: 'Closed Reseller' } })).toMatchObject({ status: 403, body: { details: { permission: 'system' } } });
      expect((await closed.request('POST', '/v1/partners', { token: system.token, body: { name: 'Closed Reseller' } })).status).toBe(201);
    } finally {
      await closed.close({ keepData: true });
    }
  });

  it('R-IMP-1 system admins are never impersonated', async () => {
    // A system admin who is also a member of the tenant, as staff.
    const added = await t.request('POST', `/v1/orgs/${tenant.orgId}/members`, { token: tenant.token, body: { email: system.ownerEmail, firstName: 'S', lastName: 'A', mode: 'setup-email', role: 'user' } });
    expect(added.body.addedExisting).toBe(true);
    const admin = await t.request('POST', `/v1/orgs/${tenant.orgId}/members`, { token: tenant.token, body: { email: 'imp-admin-sys@example.com', firstName: 'I', lastName: 'A', mode: 'set-password', password: PASSWORD, role: 'admin' } });
    expect(admin.status).toBe(201);
    const token = (await t.request('POST', '/v1/sessions', { body: { email: 'imp-admin-sys@example.com', password: PASSWORD } })).body.token;
    expect(await t.request('POST', `/v1/orgs/${tenant.orgId}/members/${system.ownerId}/impersonation`, { token })).toMatchObject({ status: 403, body: { code: 'system_admin_protected' } });
  });
});
