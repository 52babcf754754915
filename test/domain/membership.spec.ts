import { can } from '../../domain/access/access';
import { membership, type MembershipEvent } from '../../domain/membership/membership';
import { given, NOW } from '../support/given';
import { accessIn, anOrg, orgCtx, OWNER_ROLE_ID } from '../support/org';

const team = anOrg('team');
const studio = anOrg('studio');
const ids = { orgId: 'o1', userId: 'u-bob' };
const joined = (roleId = 'member', userId = 'u-bob'): MembershipEvent => ({ type: 'MemberAdded', data: { orgId: 'o1', userId, roleId, locations: null, approval: 'approved', via: 'invitation' } });
const owner = orgCtx(team, 'u-owner', OWNER_ROLE_ID);
const admin = orgCtx(team, 'u-admin', 'admin');
const plain = orgCtx(team, 'u-member', 'member');
const HOUR = 3_600_000;

describe('membership decider', () => {
  describe('adding people', () => {
    it('R-CRT-3 new members are approved and get the default role unless one is given', () => {
      given(membership).when({ type: 'AddMember', orgId: 'o1', userId: 'u-bob', via: 'created' }, admin).then([
        { type: 'MemberAdded', data: { orgId: 'o1', userId: 'u-bob', roleId: 'member', locations: null, approval: 'approved', via: 'created' } },
      ]);
      given(membership).when({ type: 'AddMember', orgId: 'o1', userId: 'u-bob', roleId: 'admin', via: 'created' }, admin).then([
        { type: 'MemberAdded', data: { orgId: 'o1', userId: 'u-bob', roleId: 'admin', locations: null, approval: 'approved', via: 'created' } },
      ]);
    });

    it('R-ROLE-1 the Owner role is never offered when creating a member', () =>
      given(membership).when({ type: 'AddMember', orgId: 'o1', userId: 'u-bob', roleId: OWNER_ROLE_ID, via: 'created' }, owner).thenFails('owner_not_assignable'));

    it('creating a member needs users.create.any', () =>
      given(membership).when({ type: 'AddMember', orgId: 'o1', userId: 'u-bob', via: 'created' }, plain).thenFails('forbidden', { permission: 'users.create.any' }));

    it('R-INV-3 a member cannot join twice', () => given(membership, joined()).when({ type: 'AddMember', orgId: 'o1', userId: 'u-bob', via: 'existing' }, admin).thenFails('already_member'));
  });

  describe('roles', () => {
    it('R-ROLE-3 nobody can change their own role', () =>
      given(membership, joined('admin', 'u-admin')).when({ type: 'ChangeRole', roleId: 'member' }, admin).thenFails('cannot_change_own_role'));

    it("R-ROLE-1 the Owner's role cannot be changed, and nobody is made Owner by a role change", () => {
      given(membership, joined(OWNER_ROLE_ID, 'u-owner')).when({ type: 'ChangeRole', roleId: 'member' }, admin).thenFails('owner_protected');
      given(membership, joined()).when({ type: 'ChangeRole', roleId: OWNER_ROLE_ID }, owner).thenFails('owner_not_assignable');
    });

    it('R-ROLE-2 an actor assigns only roles within its own permissions', () => {
      const desk = anOrg('service-desk');
      const tech = orgCtx(desk, 'u-tech', 'technician', { grants: [{ grantId: 'g', permission: 'roles.assign.any', reason: 'lead', grantedBy: 'u-owner', grantedAt: NOW.toISOString() }] });
      given(membership, joined('viewer')).when({ type: 'ChangeRole', roleId: 'admin' }, tech).thenFails('above_your_ceiling');
      given(membership, joined('viewer')).when({ type: 'ChangeRole', roleId: 'technician' }, tech).then([
        { type: 'RoleChanged', data: { ...ids, roleId: 'technician', locations: null, previousRoleId: 'viewer', previousLocations: null } },
      ]);
    });

    it('R-ROLE-5 a role may be scoped to locations, which must exist', () => {
      const byOwner = orgCtx(studio, 'u-owner', OWNER_ROLE_ID);
      given(membership, joined('user')).when({ type: 'ChangeRole', roleId: 'staff', locations: ['south', 'north'] }, byOwner).then([
        { type: 'RoleChanged', data: { ...ids, roleId: 'staff', locations: ['north', 'south'], previousRoleId: 'user', previousLocations: null } },
      ]);
      given(membership, joined('user')).when({ type: 'ChangeRole', roleId: 'staff', locations: ['east'] }, byOwner).thenFails('unknown_location', { locations: ['east'] });
    });

    it('R-ROLE-5 a scoped member holds its permissions only in its locations', () => {
      const staff = accessIn(studio, 'u-staff', 'staff', { locations: ['north'] });
      expect(can(staff, 'bookings.manage.location', { now: NOW, location: 'north' })).toEqual({ allowed: true, reason: 'role' });
      expect(can(staff, 'bookings.manage.location', { now: NOW, location: 'south' })).toEqual({ allowed: false, reason: 'outside_locations' });
      expect(can(staff, 'bookings.manage.location', { now: NOW })).toEqual({ allowed: false, reason: 'outside_locations' });
    });

    it('R-ROLE-5 scopes nest: a permission for the whole org covers the same one for a location or one\'s own', () => {
      const staff = accessIn(studio, 'u-staff', 'staff');
      expect(can(staff, 'bookings.create.own', { now: NOW })).toEqual({ allowed: true, reason: 'role' });
      expect(can(accessIn(studio, 'u-user', 'user'), 'bookings.create.any', { now: NOW })).toEqual({ allowed: false, reason: 'missing_permission' });
    });

    it('a role change to the same role and scope records nothing', () => given(membership, joined()).when({ type: 'ChangeRole', roleId: 'member' }, owner).then([]));
  });

  describe('access', () => {
    it('R-ACC-1 disable is reversible: disable, then enable', () => {
      given(membership, joined()).when({ type: 'DisableAccess' }, admin).then([{ type: 'AccessDisabled', data: ids }]);
      given(membership, joined(), { type: 'AccessDisabled', data: ids }).when({ type: 'EnableAccess' }, admin).then([{ type: 'AccessEnabled', data: ids }]);
      given(membership, joined(), { type: 'AccessDisabled', data: ids }).when({ type: 'DisableAccess' }, admin).then([]);
    });

    it('R-ACC-1 a disabled member holds no permission', () => {
      const disabled = accessIn(team, 'u-admin', 'admin', { status: 'disabled' });
      expect(can(disabled, 'users.list.any', { now: NOW })).toEqual({ allowed: false, reason: 'disabled' });
    });

    it('R-ACC-2 nobody can disable, ban or remove themselves', () => {
      const self = joined('admin', 'u-admin');
      given(membership, self).when({ type: 'DisableAccess' }, admin).thenFails('cannot_disable_self');
      given(membership, self).when({ type: 'BanMember' }, admin).thenFails('cannot_ban_self');
      given(membership, self).when({ type: 'RemoveMember' }, admin).thenFails('cannot_remove_self');
    });

    it('R-ACC-2 the Owner cannot be disabled, banned or removed', () => {
      const ownerJoined = joined(OWNER_ROLE_ID, 'u-owner');
      for (const type of ['DisableAccess', 'BanMember', 'RemoveMember'] as const) given(membership, ownerJoined).when({ type }, admin).thenFails('owner_protected');
    });

    it('R-ACC-4 pending members can sign in but cannot purchase or book', () => {
      given(membership, joined('user')).when({ type: 'MarkPending' }, orgCtx(studio, 'u-owner', OWNER_ROLE_ID)).then([{ type: 'MemberMarkedPending', data: ids }]);
      const pending = accessIn(studio, 'u-bob', 'user', { approval: 'pending' });
      expect(can(pending, 'bookings.create.own', { now: NOW })).toEqual({ allowed: false, reason: 'not_approved' });
      expect(can(pending, 'purchases.create.own', { now: NOW })).toEqual({ allowed: false, reason: 'not_approved' });
      expect(can(accessIn(studio, 'u-bob', 'user'), 'bookings.create.own', { now: NOW })).toEqual({ allowed: true, reason: 'role' });
    });

    it('R-ACC-5 only roles with users.ban.any may ban (Admin, not Staff); banned members cannot purchase or book; unban restores', () => {
      const staff = orgCtx(studio, 'u-staff', 'staff');
      const studioAdmin = orgCtx(studio, 'u-admin', 'admin');
      given(membership, joined('user')).when({ type: 'BanMember' }, staff).thenFails('forbidden', { permission: 'users.ban.any' });
      given(membership, joined('user')).when({ type: 'BanMember' }, studioAdmin).then([{ type: 'UserBanned', data: ids }]);
      given(membership, joined('user'), { type: 'UserBanned', data: ids }).when({ type: 'UnbanMember' }, studioAdmin).then([{ type: 'UserUnbanned', data: ids }]);
      expect(can(accessIn(studio, 'u-bob', 'user', { banned: true }), 'bookings.create.own', { now: NOW })).toEqual({ allowed: false, reason: 'banned' });
    });
  });

  describe('grants', () => {
    const grant = { type: 'GrantPermission' as const, grantId: 'g1', permission: 'credits.adjust.any', reason: 'month-end', expiresAt: new Date(NOW.getTime() + HOUR).toISOString() };

    it('R-ROLE-6 an explicit grant records permission, expiry, reason, who and when', () =>
      given(membership, joined()).when(grant, admin).then([
        { type: 'PermissionGranted', data: { ...ids, grantId: 'g1', permission: 'credits.adjust.any', expiresAt: grant.expiresAt, reason: 'month-end', grantedBy: 'u-admin', grantedAt: NOW.toISOString() } },
      ]));

    it('R-ROLE-6 at expiry the grant stops working by itself, and PermissionExpired is recorded once', () => {
      const granted: MembershipEvent = { type: 'PermissionGranted', data: { ...ids, grantId: 'g1', permission: 'credits.adjust.any', expiresAt: grant.expiresAt, reason: 'r', grantedBy: 'u-admin', grantedAt: NOW.toISOString() } };
      const member = accessIn(team, 'u-bob', 'member', { grants: [{ ...granted.data }] });
      expect(can(member, 'credits.adjust.any', { now: NOW })).toEqual({ allowed: true, reason: 'grant' });
      const later = new Date(NOW.getTime() + 2 * HOUR);
      expect(can(member, 'credits.adjust.any', { now: later })).toEqual({ allowed: false, reason: 'missing_permission' });
      const expired = { type: 'PermissionExpired' as const, data: { ...ids, grantId: 'g1', permission: 'credits.adjust.any', expiredAt: grant.expiresAt } };
      given(membership, joined(), granted).when({ type: 'ExpirePermissions' }, { ...owner, now: later }).then([expired]);
      given(membership, joined(), granted, expired).when({ type: 'ExpirePermissions' }, { ...owner, now: later }).then([]);
      given(membership, joined(), granted).when({ type: 'ExpirePermissions' }, owner).then([]);
    });

    it('R-ROLE-2 nobody grants a permission it does not hold', () => {
      const desk = anOrg('service-desk');
      const tech = orgCtx(desk, 'u-tech', 'technician', { grants: [{ grantId: 'g0', permission: 'permissions.grant.any', reason: 'lead', grantedBy: 'u-owner', grantedAt: NOW.toISOString() }] });
      given(membership, joined('viewer')).when({ ...grant, permission: 'users.ban.any' }, tech).thenFails('above_your_ceiling', { missing: ['users.ban.any'] });
    });

    it('refuses unknown permissions and expiries in the past', () => {
      given(membership, joined()).when({ ...grant, permission: 'rockets.launch.any' }, admin).thenFails('unknown_permission');
      given(membership, joined()).when({ ...grant, expiresAt: '2020-01-01T00:00:00.000Z' }, admin).thenFails('expiry_in_past');
    });

    it('R-ROLE-6 a revoked grant stops working', () => {
      const granted: MembershipEvent = { type: 'PermissionGranted', data: { ...ids, grantId: 'g1', permission: 'credits.adjust.any', reason: 'r', grantedBy: 'u-admin', grantedAt: NOW.toISOString() } };
      given(membership, joined(), granted).when({ type: 'RevokePermission', grantId: 'g1' }, admin).then([{ type: 'PermissionRevoked', data: { ...ids, grantId: 'g1', permission: 'credits.adjust.any' } }]);
      given(membership, joined()).when({ type: 'RevokePermission', grantId: 'nope' }, admin).thenFails('not_found');
    });
  });

  it('availability is set by whoever holds availability.update.any (a scheduler service, or an admin)', () => {
    given(membership, joined()).when({ type: 'SetAvailability', availability: 'on-call' }, admin).then([{ type: 'AvailabilityChanged', data: { ...ids, availability: 'on-call' } }]);
    given(membership, joined()).when({ type: 'SetAvailability', availability: 'on-call' }, plain).thenFails('forbidden');
  });
});
