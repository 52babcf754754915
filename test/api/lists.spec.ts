import { createOrg, linkTokenFor, manualClock, startApp, type OrgSession, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';
const HOUR = 3_600_000;

describe.each([
  ['embedded read store', () => ({})],
  ['MongoDB read store (FerretDB in tests)', () => ({ READ_STORE: 'mongodb', MONGODB_URL: process.env.MONGODB_URL!, MONGODB_DATABASE: `gh_lists_${process.pid}` })],
])('lists over HTTP, read from the projections: %s', (_name, env) => {
  const clock = manualClock();
  let t: TestApp;
  let org: OrgSession;
  const people = [
    ['Zoë', 'Ångström', 'zoe@example.com'],
    ['Bob', 'Baker', 'bob@example.com'],
    ['Ana', 'Álvarez', 'ana@example.com'],
    ['Émile', 'Zola', 'emile@example.com'],
    ['Carl', 'Cruz', 'carl@example.com'],
  ];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startApp(env() as Record<string, string>, { clock });
    org = await createOrg(t, { preset: 'studio' });
    for (const [firstName, lastName, email] of people) {
      clock.advance(1000);
      const r = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email, firstName, lastName, mode: 'set-password', password: PASSWORD, role: firstName === 'Bob' ? 'staff' : 'user' } });
      ids[firstName] = r.body.userId;
    }
  });
  afterAll(() => t.close());

  const list = async (query: string, position?: string) => {
    const r = await t.request('GET', `/v1/orgs/${org.orgId}/members?${query}`, { token: org.token, headers: position ? { 'gatehouse-min-position': position } : {} });
    expect(r.status).toBe(200);
    return r.body as { items: Array<Record<string, any>>; nextCursor: string | null };
  };
  const names = (body: { items: Array<Record<string, any>> }) => body.items.map((m) => m.firstName);

  it('R-LIST-5 a client reads its own write: the command gives a position, the read waits for it', async () => {
    clock.advance(1000);
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'dora@example.com', firstName: 'Dora', lastName: 'Diaz', mode: 'setup-email' } });
    const seen = await list('q=dora', created.body.position);
    expect(names(seen)).toEqual(['Dora']);
    ids.Dora = created.body.userId;
    const far = await t.request('GET', `/v1/orgs/${org.orgId}/members?minPosition=${BigInt(created.body.position) + 10_000_000n}`, { token: org.token });
    expect(far).toMatchObject({ status: 503, body: { code: 'read_model_behind' } });
  }, 20_000);

  it('R-LIST-1 shows each member with role, status, approval, availability, sign-in and dates', async () => {
    const { items } = await list('q=bob');
    expect(items).toEqual([
      expect.objectContaining({ userId: ids.Bob, shortId: ids.Bob.slice(0, 8), firstName: 'Bob', lastName: 'Baker', email: 'bob@example.com', roleId: 'staff', status: 'active', approval: 'approved', banned: false, availability: 'available', lastSignInAt: '', joinedAt: expect.any(String), createdAt: expect.any(String), updatedAt: expect.any(String) }),
    ]);
    const signIn = await t.request('POST', '/v1/sessions', { body: { email: 'bob@example.com', password: PASSWORD } });
    const after = await list('q=bob', signIn.body.position);
    expect(after.items[0]).toMatchObject({ lastSignInMethod: 'password', lastSignInAt: clock().toISOString() });
  });

  it('R-LIST-2 filters by text prefix, case- and accent-insensitive, on first name, last name or email', async () => {
    expect(names(await list('q=zo'))).toEqual(['Émile', 'Zoë']); // Zola, Zoë
    expect(names(await list('q=zoe'))).toEqual(['Zoë']);
    expect(names(await list('q=ANGSTR'))).toEqual(['Zoë']);
    expect(names(await list('q=emi'))).toEqual(['Émile']);
    expect(names(await list('q=zola'))).toEqual(['Émile']);
    expect(names(await list('q=alv'))).toEqual(['Ana']);
    expect(names(await list('q=ana%40ex'))).toEqual(['Ana']);
  });

  it('R-LIST-2 filters by role, status, approval and availability; sorts by name, joined and last sign-in', async () => {
    expect(names(await list('role=staff'))).toEqual(['Bob']);
    const m = `/v1/orgs/${org.orgId}/members`;
    await t.request('POST', `${m}/${ids.Carl}/disable`, { token: org.token });
    await t.request('POST', `${m}/${ids.Ana}/pending`, { token: org.token });
    const last = await t.request('PUT', `${m}/${ids.Zoë}/availability`, { token: org.token, body: { availability: 'unavailable' } });
    expect(names(await list('status=disabled', last.body.position))).toEqual(['Carl']);
    expect(names(await list('approval=pending'))).toEqual(['Ana']);
    expect(names(await list('availability=unavailable'))).toEqual(['Zoë']);
    expect(names(await list('sort=name&role=user'))).toEqual(['Ana', 'Carl', 'Dora', 'Émile', 'Zoë']);
    expect(names(await list('sort=-joined&role=user'))).toEqual(['Dora', 'Carl', 'Émile', 'Ana', 'Zoë']);
    expect(names(await list('sort=-lastSignIn&limit=1'))).toEqual(['Bob']);
  });

  it('R-ACC-6 disabled, pending and banned members are left out of assignment lists', async () => {
    const m = `/v1/orgs/${org.orgId}/members`;
    const banned = await t.request('POST', `${m}/${ids.Émile}/ban`, { token: org.token });
    const assignable = names(await list('assignable=true&role=user', banned.body.position));
    expect(assignable).toEqual(['Dora', 'Zoë']);
    expect(names(await list('assignable=false'))).toEqual(['Ana', 'Carl', 'Émile']);
  });

  it('R-LIST-2 pages with a stable cursor, even when rows change between pages', async () => {
    const first = await list('sort=name&limit=2');
    expect(names(first)).toEqual(['Ana', 'Bob']);
    // A new member sorting before the cursor does not shift the next page.
    const added = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'aaron@example.com', firstName: 'Aaron', lastName: 'Abel', mode: 'setup-email' } });
    const second = await list(`sort=name&limit=2&cursor=${first.nextCursor}`, added.body.position);
    expect(names(second)).toEqual(['Carl', 'Dora']);
    const third = await list(`sort=name&limit=2&cursor=${second.nextCursor}`);
    expect(names(third)).toEqual(['Émile', 'Olive']);
    const fourth = await list(`sort=name&limit=2&cursor=${third.nextCursor}`);
    expect(names(fourth)).toEqual(['Zoë']);
    expect(fourth.nextCursor).toBeNull();
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/members?cursor=bogus`, { token: org.token })).status).toBe(400);
  });

  it('R-LIST-3 quick search gives the top 10 matches while typing', async () => {
    const r = await t.request('GET', `/v1/orgs/${org.orgId}/members/search?q=a`, { token: org.token });
    expect(r.status).toBe(200);
    expect(r.body.items.map((m: { firstName: string }) => m.firstName)).toEqual(['Aaron', 'Ana', 'Zoë']); // Zoë Ångström by her last name
    expect(r.body.items[0]).toEqual({ userId: expect.any(String), shortId: expect.any(String), firstName: 'Aaron', lastName: 'Abel', email: 'aaron@example.com', roleId: 'user', status: 'active' });
  });

  it('R-INV-2 lists pending invitations with email, role, inviter and expiry', async () => {
    const sent = await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'inv@example.com', role: 'staff' } });
    await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'gone@example.com' } });
    const revoked = await t.request('DELETE', `/v1/orgs/${org.orgId}/invitations/${(await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'gone@example.com' } })).body.invitationId}`, { token: org.token });
    const r = await t.request('GET', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, headers: { 'gatehouse-min-position': revoked.body.position } });
    expect(r.body.items).toEqual([{ invitationId: sent.body.invitationId, email: 'inv@example.com', role: 'staff', invitedBy: org.ownerId, invitedAt: expect.any(String), expiresAt: sent.body.expiresAt, expired: false }]);
    clock.advance(8 * 24 * HOUR);
    // The Owner's session has expired by then too: sign in again.
    org.token = (await t.request('POST', '/v1/sessions', { body: { email: org.ownerEmail, password: 'correct horse battery' } })).body.token;
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/invitations`, { token: org.token })).body.items[0].expired).toBe(true);
  });

  it('R-LIST-4 member detail: profile, role and scope, grants, sessions, MFA state, access code, invited-at, setup-completed-at, disabled-at/by', async () => {
    await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'detail@example.com', role: 'staff' } });
    clock.advance(60_000);
    const accepted = await t.request('POST', '/v1/invitations/accept', { body: { token: linkTokenFor(t, 'detail@example.com'), password: PASSWORD, firstName: 'De', lastName: 'Tail' } });
    const userId = accepted.body.userId as string;
    const m = `/v1/orgs/${org.orgId}/members/${userId}`;
    await t.request('POST', `${m}/grants`, { token: org.token, body: { permission: 'credits.adjust.any', reason: 'desk' } });
    clock.advance(60_000);
    const disabled = await t.request('POST', `${m}/disable`, { token: org.token });
    const detail = await t.request('GET', m, { token: org.token, headers: { 'gatehouse-min-position': disabled.body.position } });
    expect(detail.body).toMatchObject({
      userId,
      email: 'detail@example.com',
      firstName: 'De',
      role: 'staff',
      locations: null,
      status: 'disabled',
      mfaEnabled: false,
      accessCode: expect.stringMatching(/^\d{6}$/),
      grants: [expect.objectContaining({ permission: 'credits.adjust.any', reason: 'desk' })],
      sessions: [expect.objectContaining({ sessionId: accepted.body.sessionId, method: 'invitation' })],
      invitedAt: new Date(clock().getTime() - 120_000).toISOString(),
      setupCompletedAt: new Date(clock().getTime() - 60_000).toISOString(),
      disabledAt: clock().toISOString(),
      disabledBy: org.ownerId,
    });
  });

  it('R-ROLE-7 permission history shows every role change and grant, active and expired, with actor and time', async () => {
    const m = `/v1/orgs/${org.orgId}/members/${ids.Bob}`;
    await t.request('PUT', `${m}/role`, { token: org.token, body: { role: 'admin' } });
    const grant = await t.request('POST', `${m}/grants`, { token: org.token, body: { permission: 'credits.adjust.any', reason: 'refunds', expiresAt: new Date(clock().getTime() + HOUR).toISOString() } });
    const revoked = await t.request('DELETE', `${m}/grants/${grant.body.grantId}`, { token: org.token });
    const r = await t.request('GET', `${m}/permission-history`, { token: org.token, headers: { 'gatehouse-min-position': revoked.body.position } });
    expect(r.status).toBe(200);
    expect(r.body.items.map((e: { kind: string }) => e.kind)).toEqual(['grant-revoked', 'grant-given', 'role-changed', 'role-set']);
    expect(r.body.items[2]).toMatchObject({ roleId: 'admin', previousRoleId: 'staff', actor: { kind: 'user', id: org.ownerId }, at: expect.any(String) });
    expect(r.body.items[1]).toMatchObject({ permission: 'credits.adjust.any', reason: 'refunds', expiresAt: expect.any(String) });
    const customer = (await t.request('POST', '/v1/sessions', { body: { email: 'zoe@example.com', password: PASSWORD } })).body.token;
    expect(await t.request('GET', `${m}/permission-history`, { token: customer })).toMatchObject({ status: 403, body: { details: { permission: 'audit.read.any' } } });
  });
});
