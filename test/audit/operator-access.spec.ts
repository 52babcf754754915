import { createOrg, manualClock, startWithSystemOrg, type OrgSession, type TestApp } from '../support/app';

/** R-SEC-1: operators reach other orgs only through their own rules, and that access is recorded in the org's history. */
describe('R-SEC-1 operator access is recorded', () => {
  const clock = manualClock(new Date('2026-07-01T09:00:00.000Z'));
  let t: TestApp;
  let system: OrgSession;
  let tenant: OrgSession;

  beforeAll(async () => {
    ({ t, system } = await startWithSystemOrg({}, { clock }));
    tenant = await createOrg(t, { name: 'Tenant Co' });
  });
  afterAll(() => t.close());

  const accesses = async () => {
    const response = await t.app.inject({ method: 'GET', url: `/v1/orgs/${tenant.orgId}/history?types=OperatorAccessed`, headers: { authorization: `Bearer ${tenant.token}` } });
    expect(response.statusCode).toBe(200);
    return response.body.split('\n').filter(Boolean).map((line) => JSON.parse(line));
  };

  it('R-SEC-1 a system admin reading another org leaves who, what and when in that org history; its own members reading leave nothing', async () => {
    expect((await t.request('GET', `/v1/orgs/${tenant.orgId}/members`, { token: tenant.token })).status).toBe(200);
    expect(await accesses()).toEqual([]);

    expect((await t.request('GET', `/v1/orgs/${tenant.orgId}/members`, { token: system.token })).status).toBe(200);
    const [access] = await accesses();
    expect(access).toMatchObject({
      type: 'OperatorAccessed',
      orgId: tenant.orgId,
      actor: { kind: 'user', id: system.ownerId },
      recordedAt: clock().toISOString(),
      data: { orgId: tenant.orgId, operatorId: system.ownerId, via: 'system-admin', action: 'GET /v1/orgs/:org/members' },
    });

    // The same read again within a minute is the same access; another route, or a later read, is another.
    expect((await t.request('GET', `/v1/orgs/${tenant.orgId}/members`, { token: system.token })).status).toBe(200);
    expect((await t.request('GET', `/v1/orgs/${tenant.orgId}`, { token: system.token })).status).toBe(200);
    clock.advance(61_000);
    expect((await t.request('GET', `/v1/orgs/${tenant.orgId}/members`, { token: system.token })).status).toBe(200);
    expect((await accesses()).map((a) => a.data.action)).toEqual(['GET /v1/orgs/:org/members', 'GET /v1/orgs/:org', 'GET /v1/orgs/:org/members']);

    // A read that is refused reaches nothing, and records nothing.
    const stranger = await createOrg(t, { name: 'Stranger Co' });
    expect((await t.request('GET', `/v1/orgs/${tenant.orgId}/members`, { token: stranger.token })).status).toBe(404);
    expect(await accesses()).toHaveLength(3);
  });
});
