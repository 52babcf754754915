import { createOrg, manualClock, startApp, type OrgSession, type TestApp } from '../support/app';

const PASSWORD = 'correct horse battery staple';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** SPEC 5.2's answer, key for key and in its order. */
const KEYS = ['orgId', 'userId', 'at', 'position', 'member', 'status', 'approval', 'banned', 'roleId', 'locations', 'permissions'];

describe('R-AUD-2 GET /v1/orgs/{org}/members/{user}/capabilities?at=: what a member could do at a time, replayed', () => {
  let t: TestApp;
  const clock = manualClock(new Date('2026-06-01T08:00:00.000Z'));
  let org: OrgSession;
  let other: OrgSession;
  let north: string;
  let south: string;
  let mia: string;
  let miaToken: string;
  let hourGrant: string;
  let northGrant: string;
  let expiresAt: string;
  /** The time of each step of the story below, by name. */
  const when: Record<string, Date> = {};
  const step = (name: string, ms = MINUTE) => {
    clock.advance(ms);
    when[name] = clock();
  };
  const after = (name: string, ms = 30_000) => new Date(when[name].getTime() + ms).toISOString();

  const members = () => `/v1/orgs/${org.orgId}/members`;
  const capabilities = (at: string, { user = mia, token = org.token, orgId = org.orgId } = {}) =>
    t.request('GET', `/v1/orgs/${orgId}/members/${user}/capabilities?at=${encodeURIComponent(at)}`, { token });

  beforeAll(async () => {
    t = await startApp({}, { clock });
    org = await createOrg(t, { preset: 'studio' });
    other = await createOrg(t);
    north = (await t.request('POST', `/v1/orgs/${org.orgId}/locations`, { token: org.token, body: { name: 'North studio' } })).body.locationId;
    south = (await t.request('POST', `/v1/orgs/${org.orgId}/locations`, { token: org.token, body: { name: 'South studio' } })).body.locationId;

    step('joined');
    const added = await t.request('POST', members(), { token: org.token, body: { email: 'mia@example.com', firstName: 'Mia', lastName: 'Member', mode: 'set-password', password: PASSWORD } });
    expect(added.status).toBe(201);
    mia = added.body.userId;
    miaToken = (await t.request('POST', '/v1/sessions', { body: { email: 'mia@example.com', password: PASSWORD } })).body.token;

    step('granted');
    expiresAt = new Date(clock().getTime() + HOUR).toISOString();
    hourGrant = (await t.request('POST', `${members()}/${mia}/grants`, { token: org.token, body: { permission: 'users.list.any', reason: 'one hour', expiresAt } })).body.grantId;
    northGrant = (await t.request('POST', `${members()}/${mia}/grants`, { token: org.token, body: { permission: 'tickets.view.any', location: north, reason: 'north desk' } })).body.grantId;

    step('staff in north');
    expect((await t.request('PUT', `${members()}/${mia}/role`, { token: org.token, body: { role: 'staff', locations: [north] } })).status).toBe(200);

    step('banned', 2 * HOUR);
    expect((await t.request('POST', `${members()}/${mia}/ban`, { token: org.token })).status).toBe(200);

    step('disabled');
    expect((await t.request('POST', `${members()}/${mia}/disable`, { token: org.token })).status).toBe(200);

    step('removed');
    expect((await t.request('DELETE', `${members()}/${mia}`, { token: org.token })).status).toBe(200);
    step('now');
  });
  afterAll(() => t.close());

  it('R-AUD-2 answers with exactly the fields of SPEC 5.2; a role held at the time is there, with its permissions', async () => {
    const response = await capabilities(after('joined'));
    expect(response.status).toBe(200);
    expect(Object.keys(response.body)).toEqual(KEYS);
    expect(response.body).toEqual({
      orgId: org.orgId,
      userId: mia,
      at: after('joined'),
      position: expect.stringMatching(/^[1-9]\d*$/),
      member: true,
      status: 'active',
      approval: 'approved',
      banned: false,
      roleId: 'user',
      locations: null,
      permissions: [
        { permission: 'bookings.create.own', via: 'role' },
        { permission: 'purchases.create.own', via: 'role' },
      ],
    });
  });

  it('R-AUD-2 R-ROLE-6 a grant is there with its id and expiry while it is live, and absent once it had expired by `at`', async () => {
    const granted = (await capabilities(after('granted'))).body;
    expect(granted.permissions).toEqual(
      expect.arrayContaining([
        { permission: 'users.list.any', via: 'grant', grantId: hourGrant, expiresAt },
        { permission: 'tickets.view.any', location: north, via: 'grant', grantId: northGrant },
      ]),
    );
    const justBefore = new Date(Date.parse(expiresAt) - 1).toISOString();
    expect((await capabilities(justBefore)).body.permissions.filter((p: { grantId?: string }) => p.grantId === hourGrant)).toHaveLength(1);
    // Expiry is a comparison with the time asked about, as live checks compare with now: at the expiry itself it is gone.
    for (const at of [expiresAt, after('banned')]) {
      const { permissions } = (await capabilities(at)).body;
      expect(permissions.filter((p: { grantId?: string }) => p.grantId === hourGrant)).toEqual([]);
      expect(permissions).toContainEqual({ permission: 'tickets.view.any', location: north, via: 'grant', grantId: northGrant });
    }
  });

  it('R-AUD-2 R-ROLE-5 a role scoped to locations holds only there; a later change does not reach back', async () => {
    const before = (await capabilities(after('granted'))).body;
    expect(before).toMatchObject({ roleId: 'user', locations: null });
    const scoped = (await capabilities(after('staff in north'))).body;
    expect(scoped).toMatchObject({ member: true, roleId: 'staff', locations: [north] });
    const byRole = scoped.permissions.filter((p: { via: string }) => p.via === 'role');
    expect(byRole.length).toBeGreaterThan(0);
    for (const entry of byRole) expect(entry.location).toBe(north);
    expect(byRole).toContainEqual({ permission: 'users.list.any', location: north, via: 'role' });
    expect(byRole.some((p: { location?: string }) => p.location === south)).toBe(false);
    // The org-wide grant of users.list.any is still live at that time, beside the role's.
    expect(scoped.permissions).toContainEqual({ permission: 'users.list.any', via: 'grant', grantId: hourGrant, expiresAt });
  });

  it('R-AUD-2 R-ACC-5 R-ACC-1 banned at the time: no booking or purchase; disabled at the time: nothing at all', async () => {
    const banned = (await capabilities(after('banned'))).body;
    expect(banned).toMatchObject({ member: true, banned: true, status: 'active' });
    expect(banned.permissions.length).toBeGreaterThan(0);
    expect(banned.permissions.filter((p: { permission: string }) => /^(bookings|purchases)\.create\./.test(p.permission))).toEqual([]);
    expect((await capabilities(after('disabled'))).body).toMatchObject({ member: true, status: 'disabled', banned: true, permissions: [] });
  });

  it('R-AUD-2 not a member at the time (before joining, after removal, never): member false, no permissions', async () => {
    const notYet = (await capabilities(after('joined', -30_000))).body;
    expect(Object.keys(notYet)).toEqual(KEYS);
    expect(notYet).toMatchObject({ orgId: org.orgId, userId: mia, member: false, status: null, approval: null, banned: null, roleId: null, locations: null, permissions: [] });
    expect((await capabilities(after('removed'))).body).toMatchObject({ member: false, permissions: [] });
    expect((await capabilities(clock().toISOString(), { user: other.ownerId })).body).toMatchObject({ member: false, permissions: [], position: expect.any(String) });
    // The Owner, asked about at the org's start, is a member with every permission of the catalog.
    const owner = (await capabilities(after('joined'), { user: org.ownerId })).body;
    expect(owner).toMatchObject({ member: true, roleId: 'owner', locations: null });
    expect(owner.permissions.every((p: { via: string; location?: string }) => p.via === 'role' && p.location === undefined)).toBe(true);
  });

  it('R-AUD-2 R-ACC-3 an erased person keeps their past: capabilities before the erasure are as they were, after it not a member', async () => {
    const added = await t.request('POST', members(), { token: org.token, body: { email: 'eve@example.com', firstName: 'Eve', lastName: 'Erased', mode: 'set-password', password: PASSWORD } });
    const eve = added.body.userId;
    const granted = (await t.request('POST', `${members()}/${eve}/grants`, { token: org.token, body: { permission: 'tickets.view.any', reason: 'front desk' } })).body.grantId;
    clock.advance(MINUTE);
    const before = clock().toISOString();
    const expected = (await capabilities(before, { user: eve })).body;
    expect(expected).toMatchObject({ member: true, roleId: 'user' });
    expect(expected.permissions).toContainEqual({ permission: 'tickets.view.any', via: 'grant', grantId: granted });
    clock.advance(MINUTE);
    const token = (await t.request('POST', '/v1/sessions', { body: { email: 'eve@example.com', password: PASSWORD } })).body.token;
    expect((await t.request('POST', '/v1/me/erase', { token, body: { password: PASSWORD } })).status).toBe(200);
    clock.advance(MINUTE);
    expect((await capabilities(before, { user: eve })).body).toEqual(expected);
    expect((await capabilities(clock().toISOString(), { user: eve })).body).toMatchObject({ member: false, permissions: [] });
  });

  it('R-AUD-2 `position` is the last event folded: the same for two times with nothing recorded between, later once something is', async () => {
    const [a, b, c] = await Promise.all([capabilities(after('joined', 1000)), capabilities(after('joined', 2000)), capabilities(after('granted'))]);
    expect(a.body.position).toBe(b.body.position);
    expect(BigInt(c.body.position) > BigInt(a.body.position)).toBe(true);
  });

  it('R-AUD-2 `at` later than now is 422 at_in_future; a bad or missing `at` is 400 validation_failed; now itself is fine', async () => {
    const future = new Date(clock().getTime() + 1).toISOString();
    expect(await capabilities(future)).toMatchObject({ status: 422, body: { code: 'at_in_future' } });
    expect(await capabilities(clock().toISOString())).toMatchObject({ status: 200, body: { member: false } });
    // An offset is honoured; a date alone is its midnight UTC.
    const inBerlin = after('joined').replace(/T08(.*)Z$/, 'T10$1+02:00');
    expect(inBerlin).toMatch(/T10:.*\+02:00$/);
    expect((await capabilities(inBerlin)).body).toMatchObject({ at: after('joined'), roleId: 'user' });
    expect((await capabilities('2026-06-01')).body).toMatchObject({ at: '2026-06-01T00:00:00.000Z', member: false });
    // An ordinal date (2026-012 is 12 January, which Date reads as December) and a time without an offset are refused, not guessed.
    for (const bad of ['yesterday', '2026-13-01T00:00:00Z', '2026-W05-3', '2026-012', '2026-06-01T10:00:00', '']) {
      expect(await capabilities(bad)).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    }
    expect(await t.request('GET', `${members()}/${mia}/capabilities`, { token: org.token })).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it('R-AUD-2 R-SEC-1 needs audit.read.any: a member without it gets 403, another org (or one left) 404, no session 401', async () => {
    const other2 = await createOrg(t);
    const added = await t.request('POST', `/v1/orgs/${other2.orgId}/members`, { token: other2.token, body: { email: 'pat@example.com', firstName: 'Pat', lastName: 'Plain', mode: 'set-password', password: PASSWORD } });
    const patToken = (await t.request('POST', '/v1/sessions', { body: { email: 'pat@example.com', password: PASSWORD } })).body.token;
    const at = clock().toISOString();
    expect(await capabilities(at, { orgId: other2.orgId, user: other2.ownerId, token: patToken })).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect(await capabilities(at, { orgId: other2.orgId, user: added.body.userId, token: other.token })).toMatchObject({ status: 404 });
    // Mia was removed from the org: it no longer exists for her.
    expect(await capabilities(at, { token: miaToken })).toMatchObject({ status: 404 });
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/members/${mia}/capabilities?at=${at}`)).status).toBe(401);
  });
});
