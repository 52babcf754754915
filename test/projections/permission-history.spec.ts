import { GrantExpiry } from '../../src/access/grant-expiry.service';
import type { EventStore } from '../../infra/eventstore/port';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, manualClock, startApp, type TestApp } from '../support/app';

const HOUR = 3_600_000;

describe('permission history (the audit trail)', () => {
  const clock = manualClock();
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({}, { clock });
  });
  afterAll(() => t.close());

  it('R-ROLE-7 an expired grant keeps the time it expired, beside when it was given and until when', async () => {
    const org = await createOrg(t);
    const members = `/v1/orgs/${org.orgId}/members`;
    const created = await t.request('POST', members, { token: org.token, body: { email: 'audit-me@example.com', firstName: 'Audrey', lastName: 'Trail', mode: 'setup-email' } });
    expect(created.status).toBe(201);
    const userId: string = created.body.userId;
    const expiresAt = new Date(clock().getTime() + HOUR).toISOString();
    const granted = await t.request('POST', `${members}/${userId}/grants`, { token: org.token, body: { permission: 'users.list.any', reason: 'one hour', expiresAt } });
    expect(granted.status).toBe(201);

    clock.advance(2 * HOUR);
    const expiry = t.app.get(GrantExpiry);
    await expiry.ready;
    expect(await expiry.sweep()).toBeGreaterThan(0);
    const head = await t.app.get<EventStore>(EVENT_STORE).headPosition();
    const history = await t.request('GET', `${members}/${userId}/permission-history`, { token: org.token, headers: { 'gatehouse-min-position': String(head) } });
    expect(history.status).toBe(200);

    const given = history.body.items.find((e: { kind: string }) => e.kind === 'grant-given');
    const expired = history.body.items.find((e: { kind: string }) => e.kind === 'grant-expired');
    expect(given).toMatchObject({ permission: 'users.list.any', expiresAt, reason: 'one hour' });
    expect(expired).toMatchObject({ permission: 'users.list.any', grantId: given.grantId, expiredAt: expiresAt, actor: { kind: 'system', id: 'grant-expiry' } });
    // Recorded by the sweep an hour later than it happened: both times are there.
    expect(expired.at > expired.expiredAt).toBe(true);
  });
});
