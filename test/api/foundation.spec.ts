import { EVENT_STORE } from '../../src/shared/tokens';
import type { EventStore } from '../../infra/eventstore/port';
import { InvalidConfiguration, loadSettings } from '../../src/config/config';
import { createTestDatabase, type TestDatabase } from '../rig/postgres';
import { newOrgBody, startApp, type TestApp } from '../support/app';

describe.each([
  ['sqlite (embedded default)', () => Promise.resolve({ env: {}, drop: async () => undefined })],
  [
    'postgres',
    async () => {
      const db: TestDatabase = await createTestDatabase();
      return { env: { EVENT_STORE: 'postgres', POSTGRES_URL: db.url, SECRET_KEY: Buffer.alloc(32, 9).toString('base64') }, drop: () => db.drop() };
    },
  ],
] as const)('foundation slice over HTTP on %s', (_name, backing) => {
  let t: TestApp;
  let drop: () => Promise<void>;
  let store: EventStore;

  beforeAll(async () => {
    const b = await backing();
    drop = b.drop;
    t = await startApp(b.env as Record<string, string>);
    store = t.app.get(EVENT_STORE);
  });
  afterAll(async () => {
    await t?.close();
    await drop?.();
  });

  it('answers liveness and readiness, naming the event store it checked', async () => {
    expect((await t.request('GET', '/health/live')).status).toBe(200);
    const ready = await t.request('GET', '/health');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', checks: { eventStore: { status: 'up', adapter: store.name }, readStore: { status: 'up', adapter: 'sqlite' } } });
    expect(ready.body.projections.map((p: { projection: string }) => p.projection)).toEqual(['directory.v1', 'permission-history.v1', 'login-activity.v1']);
  });

  it('serves Prometheus metrics: request latency per route and projection lag', async () => {
    await t.request('GET', '/health');
    const metrics = await t.request('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('gatehouse_http_request_duration_seconds_count{method="GET",route="/health",status="200"}');
    expect(metrics.body).toMatch(/gatehouse_projection_lag_seconds\{projection="directory.v1"\} \d+/);
    expect(metrics.body).toContain('process_cpu_user_seconds_total');
  });

  it('serves the OpenAPI document at /docs', async () => {
    const spec = await t.request('GET', '/docs/openapi.json');
    expect(spec.status).toBe(200);
    expect(Object.keys(spec.body.paths)).toEqual(expect.arrayContaining(['/v1/orgs', '/v1/orgs/{org}', '/v1/orgs/{org}/invitations']));
    expect((await t.request('GET', '/docs')).status).toBe(200);
  });

  it('creates an organization with its Owner and answers with a session and the position of its last event', async () => {
    const created = await t.request('POST', '/v1/orgs', { body: newOrgBody({ name: 'Acme' }) });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      orgId: expect.any(String),
      ownerId: expect.any(String),
      token: expect.any(String),
      sessionId: expect.any(String),
      expiresAt: expect.any(String),
      position: expect.stringMatching(/^\d+$/),
    });
    expect(created.headers['gatehouse-position']).toBe(created.body.position);
    expect(BigInt(created.body.position)).toBe(await store.headPosition());

    const org = await t.request('GET', `/v1/orgs/${created.body.orgId}`, { token: created.body.token });
    expect(org.status).toBe(200);
    expect(org.body).toMatchObject({ name: 'Acme', status: 'active', ownerId: created.body.ownerId, policy: { invitationExpiryHours: 168, defaultRole: 'member' } });
    expect(org.body.roles.map((r: { name: string }) => r.name)).toEqual(['Owner', 'Admin', 'Member']);

    const events = (await store.readAll(0n, { limit: 10_000 })).events.filter((e) => e.orgId === created.body.orgId);
    expect(events.map((e) => e.type)).toEqual(['EmailReserved', 'UserRegistered', 'PasswordSet', 'OrganizationCreated', 'MemberAdded', 'SessionStarted']);
    expect(new Set(events.map((e) => e.correlationId)).size).toBe(1);
    // R-CRED-1: the password and the session token are nowhere in the events, only their hashes.
    const stored = JSON.stringify(events.map((e) => [e.stream, e.data]));
    expect(stored).not.toContain('correct horse battery');
    expect(stored).not.toContain(created.body.token);
  });

  it('seeds the roles of each preset', async () => {
    const expected = { 'service-desk': ['Owner', 'Admin', 'Technician', 'Viewer'], studio: ['Owner', 'Admin', 'Staff', 'User'], partner: ['Owner', 'Partner Admin', 'Org Admin', 'Org User'] };
    for (const [preset, names] of Object.entries(expected)) {
      const created = await t.request('POST', '/v1/orgs', { body: newOrgBody({ preset }) });
      const org = await t.request('GET', `/v1/orgs/${created.body.orgId}`, { token: created.body.token });
      expect(org.body.roles.map((r: { name: string }) => r.name)).toEqual(names);
    }
  });

  it('refuses a second account for the same email, case-insensitively, even when the requests race', async () => {
    const body = newOrgBody();
    const shouted = { ...body, owner: { ...body.owner, email: body.owner.email.toUpperCase() } };
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => t.request('POST', '/v1/orgs', { body: i % 2 ? shouted : body })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const loser of results.filter((r) => r.status !== 201)) expect(loser).toMatchObject({ status: 409, body: { code: 'email_taken' } });
  });

  it('requires a valid bearer token, and hides other orgs behind 404 (R-SEC-1)', async () => {
    const a = await t.request('POST', '/v1/orgs', { body: newOrgBody() });
    const b = await t.request('POST', '/v1/orgs', { body: newOrgBody() });
    expect(await t.request('GET', `/v1/orgs/${a.body.orgId}`)).toMatchObject({ status: 401, body: { code: 'unauthenticated' } });
    expect(await t.request('GET', `/v1/orgs/${a.body.orgId}`, { token: 'x'.repeat(43) })).toMatchObject({ status: 401 });
    expect(await t.request('GET', `/v1/orgs/${a.body.orgId}`, { token: b.body.token })).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await t.request('GET', `/v1/orgs/not-a-uuid`, { token: b.body.token })).toMatchObject({ status: 404, body: { code: 'not_found' } });
    const invite = await t.request('POST', `/v1/orgs/${a.body.orgId}/invitations`, { token: b.body.token, body: { email: 'probe@example.com' } });
    expect(invite).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });

  describe('inviting (R-INV-1)', () => {
    let org: { orgId: string; token: string; ownerId: string };
    beforeAll(async () => {
      org = (await t.request('POST', '/v1/orgs', { body: newOrgBody() })).body;
    });

    it('R-INV-1 records UserInvited with the default role and a 7-day expiry, and emails a single-use link', async () => {
      const before = t.mailbox().length;
      const head = await store.headPosition();
      const sent = await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'Grace@Example.com', firstName: 'Grace' } });
      expect(sent.status).toBe(201);
      expect(sent.body).toMatchObject({ invitationId: expect.any(String), resent: false, position: expect.stringMatching(/^\d+$/) });
      const days = (Date.parse(sent.body.expiresAt) - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(6.99);
      expect(days).toBeLessThanOrEqual(7);

      const mail = t.mailbox().slice(before);
      expect(mail).toHaveLength(1);
      expect(mail[0]).toMatchObject({ to: 'grace@example.com', template: 'invitation', link: expect.stringContaining('/invitations/accept?token=') });
      const token = new URL(mail[0].link!).searchParams.get('token')!;
      expect(token.length).toBeGreaterThanOrEqual(22); // ≥ 128 bits in base64url (R-CRED-2)

      const [invited] = (await store.readAll(head)).events.filter((e) => e.type === 'UserInvited');
      expect(invited).toMatchObject({
        type: 'UserInvited',
        orgId: org.orgId,
        actor: { kind: 'user', id: org.ownerId },
        data: { invitationId: sent.body.invitationId, email: 'grace@example.com', roleId: 'member', firstName: 'Grace', invitedBy: org.ownerId },
      });
      expect(JSON.stringify(invited, (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(token); // only the token's hash is stored
    });

    it('R-INV-3 resends a pending invitation instead of duplicating it', async () => {
      const first = await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'dup@example.com', role: 'admin' } });
      const again = await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'DUP@example.com' } });
      expect(again.status).toBe(201);
      expect(again.body).toMatchObject({ invitationId: first.body.invitationId, resent: true });
      const links = t.mailbox().filter((m) => m.to === 'dup@example.com').map((m) => m.link);
      expect(new Set(links).size).toBe(2); // a new link each time
    });

    it('R-INV-3 rejects inviting an email that already belongs to a member', async () => {
      const owner = await t.request('GET', `/v1/orgs/${org.orgId}`, { token: org.token });
      expect(owner.status).toBe(200);
      const body = newOrgBody();
      const other = await t.request('POST', '/v1/orgs', { body });
      expect(other.status).toBe(201);
      // The other org's owner is no member here: inviting them is fine.
      expect((await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: body.owner.email } })).status).toBe(201);
      // Inviting that owner into their own org is not.
      const self = await t.request('POST', `/v1/orgs/${other.body.orgId}/invitations`, { token: other.body.token, body: { email: body.owner.email } });
      expect(self).toMatchObject({ status: 409, body: { code: 'already_member' } });
    });

    it('R-ROLE-1 never offers the Owner role; unknown roles are refused by name', async () => {
      const owner = await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'o@example.com', role: 'owner' } });
      expect(owner).toMatchObject({ status: 422, body: { code: 'owner_not_assignable' } });
      const unknown = await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'o@example.com', role: 'wizard' } });
      expect(unknown).toMatchObject({ status: 422, body: { code: 'unknown_role', details: { role: 'wizard' } } });
    });

    it('refuses bad input with 400 and field details, and changes nothing', async () => {
      const head = await store.headPosition();
      const url = `/v1/orgs/${org.orgId}/invitations`;
      const malformed = await t.request('POST', url, { token: org.token, payload: '{"email": "a@b.c",' });
      expect(malformed).toMatchObject({ status: 400, body: { code: 'malformed_json' } });

      const unknownField = await t.request('POST', url, { token: org.token, body: { email: 'a@example.com', isAdmin: true } });
      expect(unknownField).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
      expect(unknownField.body.details.fields).toEqual([{ field: 'isAdmin', problems: ['property isAdmin should not exist'] }]);

      const wrongType = await t.request('POST', url, { token: org.token, body: { email: 42, firstName: ['x'] } });
      expect(wrongType.status).toBe(400);
      expect(wrongType.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['email', 'firstName']);

      const tooLong = await t.request('POST', url, { token: org.token, body: { email: 'a@example.com', lastName: 'x'.repeat(101) } });
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.details.fields).toEqual([{ field: 'lastName', problems: ['lastName must be shorter than or equal to 100 characters'] }]);

      const nested = await t.request('POST', '/v1/orgs', { body: { name: 'X', owner: { email: 'not-an-email', firstName: 'A', lastName: 'B', password: 'short' } } });
      expect(nested.status).toBe(400);
      expect(nested.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['owner.email', 'owner.password']);

      const badPreset = await t.request('POST', '/v1/orgs', { body: newOrgBody({ preset: 'castle' }) });
      expect(badPreset).toMatchObject({ status: 400, body: { details: { fields: [{ field: 'preset' }] } } });

      for (const r of [malformed, unknownField, wrongType, tooLong, nested]) {
        expect(r.body).toEqual({ code: expect.any(String), message: expect.any(String), ...(r.body.details ? { details: expect.anything() } : {}) });
        expect(JSON.stringify(r.body)).not.toMatch(/at .*\.(ts|js):\d+/); // never a stack trace
      }
      expect(await store.headPosition()).toBe(head);
    });
  });
});

describe('configuration', () => {
  it('defaults need no server', () => {
    const s = loadSettings({});
    expect(s).toMatchObject({ EVENT_STORE: 'sqlite', PORT: 3000, SIGNUP: 'open', DATA_DIR: './data' });
  });

  it('stops start-up with a clear message naming each wrong value', () => {
    expect(() => loadSettings({ EVENT_STORE: 'postgres' })).toThrow(InvalidConfiguration);
    expect(() => loadSettings({ EVENT_STORE: 'postgres' })).toThrow(/POSTGRES_URL must be a postgres:\/\/ URL/);
    expect(() => loadSettings({ EVENT_STORE: 'mysql' })).toThrow(/EVENT_STORE="mysql"/);
    expect(() => loadSettings({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadSettings({ EVENT_STORE: 'eventstoredb' })).toThrow(/EVENTSTORE_URL must be set/);
  });
});
