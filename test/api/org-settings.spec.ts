import { randomUUID } from 'node:crypto';
import type { EventStore } from '../../infra/eventstore/port';
import type { Position } from '../../domain/shared/envelope';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';

describe('org settings over HTTP', () => {
  let t: TestApp;
  let store: EventStore;
  beforeAll(async () => {
    t = await startApp();
    store = t.app.get(EVENT_STORE);
  });
  afterAll(() => t.close());

  let people = 0;
  /** A member created with a password by the Owner, signed in. */
  async function memberOf(org: OrgSession, role: string): Promise<{ userId: string; token: string }> {
    const email = `p${++people}-${process.pid}@example.com`;
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email, firstName: 'Pat', lastName: 'Doe', role, mode: 'set-password', password: PASSWORD } });
    expect(created.status).toBe(201);
    const session = await t.request('POST', '/v1/sessions', { body: { email, password: PASSWORD } });
    return { userId: created.body.userId, token: session.body.token };
  }

  /** A rejected command answers `status` and `code` and appends nothing. */
  async function rejected(call: Promise<{ status: number; body: any }> | (() => Promise<{ status: number; body: any }>), status: number, code: string) {
    const head: Position = await store.headPosition();
    const response = await (typeof call === 'function' ? call() : call);
    expect({ status: response.status, code: response.body.code }).toEqual({ status, code });
    expect(await store.headPosition()).toBe(head);
    return response;
  }

  const eventsSince = async (head: Position) => (await store.readAll(head)).events;

  let org: OrgSession;
  let admin: { userId: string; token: string };
  let plain: { userId: string; token: string };
  beforeAll(async () => {
    org = await createOrg(t);
    admin = await memberOf(org, 'admin');
    plain = await memberOf(org, 'member');
  });
  const url = (path: string, o: OrgSession = org) => `/v1/orgs/${o.orgId}${path}`;

  describe('locations', () => {
    it('adds a location, shown with the org', async () => {
      const added = await t.request('POST', url('/locations'), { token: admin.token, body: { name: 'North studio' } });
      expect(added).toMatchObject({ status: 201, body: { locationId: expect.any(String), position: expect.stringMatching(/^\d+$/) } });
      const shown = await t.request('GET', url(''), { token: plain.token });
      expect(shown.body.locations).toEqual([{ locationId: added.body.locationId, name: 'North studio' }]);
    });

    it('rejects a duplicate name (case-insensitive), a member without org.manage.any, and an empty name', async () => {
      await rejected(() => t.request('POST', url('/locations'), { token: admin.token, body: { name: 'north STUDIO' } }), 409, 'location_exists');
      const forbidden = await rejected(() => t.request('POST', url('/locations'), { token: plain.token, body: { name: 'South' } }), 403, 'forbidden');
      expect(forbidden.body.details).toEqual({ permission: 'org.manage.any' });
      await rejected(() => t.request('POST', url('/locations'), { token: admin.token, body: { name: '' } }), 400, 'validation_failed');
    });

    it('R-SEC-1 hides another org behind 404', async () => {
      const other = await createOrg(t);
      await rejected(() => t.request('POST', url('/locations', other), { token: admin.token, body: { name: 'X' } }), 404, 'not_found');
    });
  });

  describe('policy', () => {
    it('R-INV-1 sets the invitation expiry, recording only what changed, and invitations follow it', async () => {
      const head = await store.headPosition();
      const changed = await t.request('PATCH', url('/policy'), { token: admin.token, body: { invitationExpiryHours: 24, defaultRole: 'member' } });
      expect(changed.status).toBe(200);
      expect((await eventsSince(head)).map((e) => [e.type, e.data])).toEqual([['PolicyChanged', { orgId: org.orgId, invitationExpiryHours: 24 }]]);
      expect((await t.request('GET', url(''), { token: admin.token })).body.policy).toEqual({ invitationExpiryHours: 24, defaultRole: 'member', doorAccess: false });
      const invited = await t.request('POST', url('/invitations'), { token: admin.token, body: { email: `inv-${process.pid}@example.com` } });
      expect(Date.parse(invited.body.expiresAt) - Date.now()).toBeLessThanOrEqual(24 * 3_600_000);
      // Setting what is already so is a no-op: 200, nothing appended.
      const before = await store.headPosition();
      expect((await t.request('PATCH', url('/policy'), { token: admin.token, body: { invitationExpiryHours: 24 } })).body.position).toBe(String(before));
      expect(await store.headPosition()).toBe(before);
    });

    it('R-INV-1 refuses an expiry outside 1 hour to 30 days at the edge', async () => {
      for (const hours of [0, 721, 2.5]) {
        const r = await rejected(() => t.request('PATCH', url('/policy'), { token: admin.token, body: { invitationExpiryHours: hours } }), 400, 'validation_failed');
        expect(r.body.details.fields[0].field).toBe('invitationExpiryHours');
      }
    });

    it('R-ROLE-1 refuses the Owner role or an unknown role as default; needs org.manage.any', async () => {
      await rejected(() => t.request('PATCH', url('/policy'), { token: admin.token, body: { defaultRole: 'owner' } }), 422, 'owner_not_assignable');
      await rejected(() => t.request('PATCH', url('/policy'), { token: admin.token, body: { defaultRole: 'wizard' } }), 422, 'unknown_role');
      await rejected(() => t.request('PATCH', url('/policy'), { token: plain.token, body: { doorAccess: true } }), 403, 'forbidden');
    });
  });

  describe('roles (R-ROLE-4)', () => {
    const frontDesk = { name: 'Front desk', color: '#0891b2', description: 'Checks people in', permissions: ['users.list.any', 'users.approve.any'] };
    let roleId: string;

    it('R-ROLE-4 creates a custom role that any member can read and that can be assigned', async () => {
      const created = await t.request('POST', url('/roles'), { token: admin.token, body: frontDesk });
      expect(created).toMatchObject({ status: 201, body: { roleId: expect.stringMatching(/^front-desk-[0-9a-f]{6}$/) } });
      roleId = created.body.roleId;
      const listed = await t.request('GET', url('/roles'), { token: plain.token });
      expect(listed.status).toBe(200);
      expect(listed.body.items.find((r: { id: string }) => r.id === roleId)).toEqual({ id: roleId, ...frontDesk, builtIn: false, active: true, owner: false });
      expect((await t.request('PUT', url(`/members/${plain.userId}/role`), { token: admin.token, body: { role: roleId } })).status).toBe(200);
    });

    it('R-ROLE-2 R-ROLE-4 rejects permissions above the actor, unknown permissions, taken names, bad colors, and members without roles.manage.any', async () => {
      const role = (over: object) => ({ ...frontDesk, name: 'Other', ...over });
      const above = await rejected(() => t.request('POST', url('/roles'), { token: admin.token, body: role({ permissions: ['billing.manage.any'] }) }), 403, 'above_your_ceiling');
      expect(above.body.details).toEqual({ missing: ['billing.manage.any'] });
      await rejected(() => t.request('POST', url('/roles'), { token: admin.token, body: role({ permissions: ['users.fly.any'] }) }), 422, 'unknown_permission');
      await rejected(() => t.request('POST', url('/roles'), { token: admin.token, body: role({ name: 'FRONT DESK' }) }), 409, 'role_name_taken');
      await rejected(() => t.request('POST', url('/roles'), { token: admin.token, body: role({ color: 'teal' }) }), 400, 'validation_failed');
      await rejected(() => t.request('POST', url('/roles'), { token: plain.token, body: role({}) }), 403, 'forbidden');
    });

    it('R-ROLE-4 edits a custom role; built-in permissions and the Owner role stay as they are', async () => {
      const renamed = await t.request('PATCH', url(`/roles/${roleId}`), { token: admin.token, body: { name: 'Reception', permissions: ['users.list.any'] } });
      expect(renamed.status).toBe(200);
      expect((await t.request('GET', url('/roles'), { token: admin.token })).body.items.find((r: { id: string }) => r.id === roleId)).toMatchObject({ name: 'Reception', permissions: ['users.list.any'] });
      await rejected(() => t.request('PATCH', url('/roles/member'), { token: admin.token, body: { permissions: [] } }), 422, 'builtin_role');
      await rejected(() => t.request('PATCH', url('/roles/owner'), { token: org.token, body: { color: '#000000' } }), 403, 'owner_protected');
      await rejected(() => t.request('PATCH', url('/roles/admin'), { token: admin.token, body: { name: 'member' } }), 409, 'role_name_taken');
      await rejected(() => t.request('PATCH', url('/roles/ghost-role'), { token: admin.token, body: { active: false } }), 404, 'not_found');
      await rejected(() => t.request('PATCH', url('/roles/Not_A_Role!'), { token: admin.token, body: { active: false } }), 404, 'not_found');
    });

    it('R-ROLE-4 rejects deactivating a role in use; moving its members in the same command succeeds, in one append', async () => {
      await rejected(() => t.request('PATCH', url(`/roles/${roleId}`), { token: admin.token, body: { active: false } }), 409, 'role_in_use');
      await rejected(() => t.request('PATCH', url(`/roles/${roleId}`), { token: admin.token, body: { active: false, moveMembersTo: 'owner' } }), 422, 'owner_not_assignable');

      const head = await store.headPosition();
      const moved = await t.request('PATCH', url(`/roles/${roleId}`), { token: admin.token, body: { active: false, moveMembersTo: 'member' } });
      expect(moved).toMatchObject({ status: 200, body: { moved: [plain.userId] } });
      const events = await eventsSince(head);
      expect(events.map((e) => e.type)).toEqual(['RoleUpdated', 'RoleChanged']);
      expect(new Set(events.map((e) => e.correlationId)).size).toBe(1);
      expect(events[1].data).toMatchObject({ userId: plain.userId, roleId: 'member', previousRoleId: roleId });
      expect((await t.request('GET', url(`/members/${plain.userId}`), { token: admin.token })).body.role).toBe('member');
      // Only active roles can be assigned.
      await rejected(() => t.request('PUT', url(`/members/${plain.userId}/role`), { token: admin.token, body: { role: roleId } }), 422, 'role_inactive');
    });

    it('R-ROLE-4 R-ROLE-3 a manager who holds the role cannot deactivate it by moving themselves', async () => {
      const managers = await t.request('POST', url('/roles'), { token: org.token, body: { ...frontDesk, name: 'Managers', permissions: ['roles.manage.any', 'roles.assign.any', 'users.list.any'] } });
      const manager = await memberOf(org, managers.body.roleId);
      await rejected(() => t.request('PATCH', url(`/roles/${managers.body.roleId}`), { token: manager.token, body: { active: false, moveMembersTo: 'member' } }), 403, 'cannot_change_own_role');
      await rejected(() => t.request('PATCH', url('/roles/member'), { token: admin.token, body: { active: false } }), 422, 'role_is_default');
    });
  });

  describe('ownership transfer (R-ROLE-1)', () => {
    it('R-ROLE-1 only the Owner transfers, to an active member other than themselves', async () => {
      const o = await createOrg(t);
      const a = await memberOf(o, 'admin');
      const m = await memberOf(o, 'member');
      const transfer = (token: string, body: object) => t.request('POST', url('/owner-transfer', o), { token, body });
      await rejected(() => transfer(a.token, { toUserId: m.userId }), 403, 'not_owner');
      await rejected(() => transfer(o.token, { toUserId: o.ownerId }), 422, 'cannot_transfer_to_self');
      await rejected(() => transfer(o.token, { toUserId: randomUUID() }), 404, 'not_found');
      await rejected(() => transfer(o.token, { toUserId: m.userId, formerOwnerRole: 'owner' }), 422, 'owner_not_assignable');
      await rejected(() => transfer(o.token, { toUserId: 'nope' }), 400, 'validation_failed');
      expect((await t.request('POST', url(`/members/${m.userId}/disable`, o), { token: o.token })).status).toBe(200);
      await rejected(() => transfer(o.token, { toUserId: m.userId }), 422, 'target_not_active');
    });

    it('R-ROLE-1 one Owner per org, even when two transfers race', async () => {
      const o = await createOrg(t);
      const [x, y] = [await memberOf(o, 'member'), await memberOf(o, 'member')];
      const results = await Promise.all([x, y].map((m) => t.request('POST', url('/owner-transfer', o), { token: o.token, body: { toUserId: m.userId } })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      const roles = await Promise.all([o.ownerId, x.userId, y.userId].map(async (id) => (await t.request('GET', url(`/members/${id}`, o), { token: results[0].status === 200 ? x.token : y.token })).body.role));
      expect(roles.filter((r) => r === 'owner')).toHaveLength(1);
    });

    it('R-ROLE-1 moves ownership and both roles in one append; the old Owner steps down to Admin', async () => {
      const o = await createOrg(t);
      const next = await memberOf(o, 'member');
      const head = await store.headPosition();
      const done = await t.request('POST', url('/owner-transfer', o), { token: o.token, body: { toUserId: next.userId } });
      expect(done).toMatchObject({ status: 200, body: { position: expect.stringMatching(/^\d+$/) } });
      const events = await eventsSince(head);
      expect(events.map((e) => [e.type, e.stream])).toEqual([
        ['OwnershipTransferred', `org-${o.orgId}`],
        ['RoleChanged', `member-${o.orgId}-${o.ownerId}`],
        ['RoleChanged', `member-${o.orgId}-${next.userId}`],
      ]);
      expect(events[0].data).toEqual({ orgId: o.orgId, from: o.ownerId, to: next.userId });
      expect((await t.request('GET', url('', o), { token: next.token })).body.ownerId).toBe(next.userId);
      const roleOf = async (userId: string) => (await t.request('GET', url(`/members/${userId}`, o), { token: next.token })).body.role;
      expect([await roleOf(o.ownerId), await roleOf(next.userId)]).toEqual(['admin', 'owner']);
      // R-ROLE-8: at once, the former Owner is no longer the Owner, and the new one is protected.
      await rejected(() => t.request('POST', url('/owner-transfer', o), { token: o.token, body: { toUserId: next.userId } }), 403, 'not_owner');
      await rejected(() => t.request('POST', url(`/members/${next.userId}/disable`, o), { token: o.token }), 403, 'owner_protected');
    });
  });
});
