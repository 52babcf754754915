import { membership, type Membership } from '../../domain/membership/membership';
import { organization, type OrganizationCommand, type OrganizationEvent } from '../../domain/organization/organization';
import { transferOwnership } from '../../domain/organization/ownership';
import { fold } from '../../domain/shared/decider';
import { ctx, given } from '../support/given';
import { orgCtx, OWNER_ROLE_ID } from '../support/org';

const created = organization.decide(organization.initialState(), { type: 'CreateOrganization', orgId: 'o1', name: 'Acme', preset: 'team', ownerId: 'u-owner' }, ctx());
const org = fold(organization, created);
const byOwner = orgCtx(org, 'u-owner', OWNER_ROLE_ID);
const byAdmin = orgCtx(org, 'u-admin', 'admin');
const byMember = orgCtx(org, 'u-member', 'member');

const roleCreated = (roleId: string, name: string, permissions: string[]): OrganizationEvent => ({
  type: 'RoleCreated',
  data: { orgId: 'o1', roleId, name, color: '#0891b2', description: 'Checks people in', permissions, builtIn: false, active: true },
});
const frontDesk = roleCreated('front-desk-1', 'Front desk', ['users.list.any']);
const createRole = (over: Partial<Extract<OrganizationCommand, { type: 'CreateRole' }>> = {}): OrganizationCommand => ({
  type: 'CreateRole', roleId: 'front-desk-1', name: 'Front desk', color: '#0891b2', description: 'Checks people in', permissions: ['users.list.any'], ...over,
});
const updateRole = (changes: Extract<OrganizationCommand, { type: 'UpdateRole' }>['changes'], over: Partial<Extract<OrganizationCommand, { type: 'UpdateRole' }>> = {}): OrganizationCommand => ({
  type: 'UpdateRole', roleId: 'front-desk-1', changes, holders: [], ...over,
});

describe('org settings: locations', () => {
  it('adds a location, trimmed', () =>
    given(organization, ...created)
      .when({ type: 'AddLocation', locationId: 'l1', name: ' North studio ' }, byAdmin)
      .then([{ type: 'LocationAdded', data: { orgId: 'o1', locationId: 'l1', name: 'North studio' } }]));

  it('refuses a second location of the same name, case-insensitively', () =>
    given(organization, ...created, { type: 'LocationAdded', data: { orgId: 'o1', locationId: 'l1', name: 'North studio' } })
      .when({ type: 'AddLocation', locationId: 'l2', name: 'NORTH studio' }, byAdmin)
      .thenFails('location_exists'));

  it('needs org.manage.any', () =>
    given(organization, ...created).when({ type: 'AddLocation', locationId: 'l1', name: 'North' }, byMember).thenFails('forbidden', { permission: 'org.manage.any' }));

  it('is recorded in the org state', () => {
    const state = fold(organization, [...created, { type: 'LocationAdded', data: { orgId: 'o1', locationId: 'l1', name: 'North' } }]);
    expect(state.locations).toEqual({ l1: { locationId: 'l1', name: 'North' } });
  });
});

describe('org settings: policy', () => {
  it('R-INV-1 accepts an invitation expiry of 1 hour to 30 days and records only what changed', () => {
    given(organization, ...created)
      .when({ type: 'ChangePolicy', changes: { invitationExpiryHours: 24, defaultRole: 'member', doorAccess: true } }, byAdmin)
      .then([{ type: 'PolicyChanged', data: { orgId: 'o1', invitationExpiryHours: 24, doorAccess: true } }]);
    given(organization, ...created).when({ type: 'ChangePolicy', changes: { invitationExpiryHours: 1 } }, byAdmin).then([{ type: 'PolicyChanged', data: { orgId: 'o1', invitationExpiryHours: 1 } }]);
    given(organization, ...created).when({ type: 'ChangePolicy', changes: { invitationExpiryHours: 720 } }, byAdmin).then([{ type: 'PolicyChanged', data: { orgId: 'o1', invitationExpiryHours: 720 } }]);
    given(organization, ...created).when({ type: 'ChangePolicy', changes: { invitationExpiryHours: 168 } }, byAdmin).then([]);
  });

  it('R-INV-1 refuses an expiry outside 1 hour to 30 days', () => {
    for (const hours of [0, 721, 1.5, -3]) {
      given(organization, ...created).when({ type: 'ChangePolicy', changes: { invitationExpiryHours: hours } }, byAdmin).thenFails('invalid_policy', { field: 'invitationExpiryHours' });
    }
  });

  it('R-ROLE-1 R-ROLE-4 the default role must be assignable: known, active, not Owner', () => {
    given(organization, ...created).when({ type: 'ChangePolicy', changes: { defaultRole: OWNER_ROLE_ID } }, byAdmin).thenFails('owner_not_assignable');
    given(organization, ...created).when({ type: 'ChangePolicy', changes: { defaultRole: 'wizard' } }, byAdmin).thenFails('unknown_role');
    given(organization, ...created, frontDesk, { type: 'RoleUpdated', data: { orgId: 'o1', roleId: 'front-desk-1', active: false } })
      .when({ type: 'ChangePolicy', changes: { defaultRole: 'front-desk-1' } }, byAdmin)
      .thenFails('role_inactive');
  });

  it('needs org.manage.any', () =>
    given(organization, ...created).when({ type: 'ChangePolicy', changes: { doorAccess: true } }, byMember).thenFails('forbidden', { permission: 'org.manage.any' }));

  it('folds into the policy', () => {
    const state = fold(organization, [...created, { type: 'PolicyChanged', data: { orgId: 'o1', invitationExpiryHours: 24 } }]);
    expect(state.policy).toEqual({ invitationExpiryHours: 24, defaultRole: 'member', doorAccess: false });
  });
});

describe('org settings: custom roles (R-ROLE-4)', () => {
  it('R-ROLE-4 creates an active custom role with name, color, description and permissions', () =>
    given(organization, ...created).when(createRole(), byAdmin).then([frontDesk]));

  it('R-ROLE-2 refuses to put a permission the actor does not hold into a role', () =>
    given(organization, ...created).when(createRole({ permissions: ['users.list.any', 'billing.manage.any'] }), byAdmin).thenFails('above_your_ceiling', { missing: ['billing.manage.any'] }));

  it('refuses permissions outside the catalog, naming them', () =>
    given(organization, ...created).when(createRole({ permissions: ['users.fly.any'] }), byOwner).thenFails('unknown_permission', { permissions: ['users.fly.any'] }));

  it('R-ROLE-4 role names are unique per org, case-insensitively', () => {
    given(organization, ...created).when(createRole({ name: 'ADMIN' }), byOwner).thenFails('role_name_taken');
    given(organization, ...created, frontDesk).when(updateRole({ name: 'member' }), byOwner).thenFails('role_name_taken');
  });

  it('refuses a color that is not #rrggbb', () => given(organization, ...created).when(createRole({ color: 'teal' }), byOwner).thenFails('invalid_role', { field: 'color' }));

  it('needs roles.manage.any', () => given(organization, ...created).when(createRole(), byMember).thenFails('forbidden', { permission: 'roles.manage.any' }));

  it('R-ROLE-4 updates only what changed', () =>
    given(organization, ...created, frontDesk)
      .when(updateRole({ name: 'Front desk', color: '#000000', permissions: ['users.list.any', 'users.update.any'] }), byAdmin)
      .then([{ type: 'RoleUpdated', data: { orgId: 'o1', roleId: 'front-desk-1', color: '#000000', permissions: ['users.list.any', 'users.update.any'] } }]));

  it('R-ROLE-2 nobody edits a role above their ceiling, even to take permissions away', () => {
    const billing = roleCreated('billing-1', 'Billing', ['billing.manage.any']);
    given(organization, ...created, billing).when(updateRole({ permissions: [] }, { roleId: 'billing-1' }), byAdmin).thenFails('above_your_ceiling');
    given(organization, ...created, billing).when(updateRole({ permissions: [] }, { roleId: 'billing-1' }), byOwner).then([{ type: 'RoleUpdated', data: { orgId: 'o1', roleId: 'billing-1', permissions: [] } }]);
  });

  it("R-ROLE-4 built-in roles keep their permissions; the Owner role is never changed", () => {
    given(organization, ...created).when(updateRole({ permissions: ['users.list.any'] }, { roleId: 'member' }), byOwner).thenFails('builtin_role');
    given(organization, ...created).when(updateRole({ color: '#111111' }, { roleId: 'member' }), byOwner).then([{ type: 'RoleUpdated', data: { orgId: 'o1', roleId: 'member', color: '#111111' } }]);
    given(organization, ...created).when(updateRole({ color: '#111111' }, { roleId: OWNER_ROLE_ID }), byOwner).thenFails('owner_protected');
  });

  it('answers not_found for a role of no such id', () => given(organization, ...created).when(updateRole({ active: false }, { roleId: 'ghost' }), byOwner).thenFails('not_found'));

  it('R-ROLE-4 deactivates a role nobody holds; it then cannot be assigned', () => {
    const deactivated = { type: 'RoleUpdated' as const, data: { orgId: 'o1', roleId: 'front-desk-1', active: false } };
    given(organization, ...created, frontDesk).when(updateRole({ active: false }), byAdmin).then([deactivated]);
    const state = fold(organization, [...created, frontDesk, deactivated]);
    expect(() => membership.decide(member('u-x', 'member'), { type: 'ChangeRole', roleId: 'front-desk-1' }, orgCtx(state, 'u-admin', 'admin'))).toThrow(expect.objectContaining({ code: 'role_inactive' }));
  });

  it('R-ROLE-4 rejects deactivating a role in use, unless its members are moved in the same command', () => {
    given(organization, ...created, frontDesk).when(updateRole({ active: false }, { holders: ['u-1', 'u-2'] }), byAdmin).thenFails('role_in_use', { holders: 2 });
    given(organization, ...created, frontDesk)
      .when(updateRole({ active: false }, { holders: ['u-1', 'u-2'], moveMembersTo: 'member' }), byAdmin)
      .then([{ type: 'RoleUpdated', data: { orgId: 'o1', roleId: 'front-desk-1', active: false } }]);
  });

  it('R-ROLE-4 moves members only to another active, assignable role, and only when deactivating', () => {
    const deactivate = (moveMembersTo: string) => updateRole({ active: false }, { holders: ['u-1'], moveMembersTo });
    given(organization, ...created, frontDesk).when(deactivate(OWNER_ROLE_ID), byOwner).thenFails('owner_not_assignable');
    given(organization, ...created, frontDesk).when(deactivate('front-desk-1'), byOwner).thenFails('invalid_move');
    given(organization, ...created, frontDesk).when(deactivate('ghost'), byOwner).thenFails('unknown_role');
    given(organization, ...created, frontDesk).when(updateRole({ color: '#222222' }, { moveMembersTo: 'member' }), byOwner).thenFails('invalid_move');
  });

  it("R-ROLE-4 the org's default role cannot be deactivated", () =>
    given(organization, ...created).when(updateRole({ active: false }, { roleId: 'member' }), byOwner).thenFails('role_is_default'));

  it('R-ROLE-3 a manager who holds the role cannot move themselves off it (the move is a ChangeRole)', () => {
    const withRole = fold(organization, [...created, frontDesk]);
    expect(() => membership.decide(member('u-admin', 'front-desk-1'), { type: 'ChangeRole', roleId: 'member' }, orgCtx(withRole, 'u-admin', 'admin'))).toThrow(
      expect.objectContaining({ code: 'cannot_change_own_role' }),
    );
  });
});

function member(userId: string, roleId: string, over: Partial<Membership> = {}): Membership {
  return { ...membership.initialState(), exists: true, orgId: 'o1', userId, roleId, ...over };
}

describe('ownership transfer (R-ROLE-1)', () => {
  const owner = member('u-owner', OWNER_ROLE_ID);
  const grace = member('u-grace', 'member', { locations: null });

  it('R-ROLE-1 the Owner hands ownership to an active member and steps down to the top role after Owner', () => {
    expect(transferOwnership(org, { toUserId: 'u-grace' }, { owner, target: grace }, byOwner)).toEqual({
      org: [{ type: 'OwnershipTransferred', data: { orgId: 'o1', from: 'u-owner', to: 'u-grace' } }],
      target: [{ type: 'RoleChanged', data: { orgId: 'o1', userId: 'u-grace', roleId: OWNER_ROLE_ID, locations: null, previousRoleId: 'member', previousLocations: null } }],
      owner: [{ type: 'RoleChanged', data: { orgId: 'o1', userId: 'u-owner', roleId: 'admin', locations: null, previousRoleId: OWNER_ROLE_ID, previousLocations: null } }],
    });
  });

  it('R-ROLE-1 the former Owner may step down to a role of their choice, but not keep the Owner role', () => {
    const { owner: steppedDown } = transferOwnership(org, { toUserId: 'u-grace', formerOwnerRole: 'member' }, { owner, target: grace }, byOwner);
    expect(steppedDown).toMatchObject([{ data: { roleId: 'member' } }]);
    expect(() => transferOwnership(org, { toUserId: 'u-grace', formerOwnerRole: OWNER_ROLE_ID }, { owner, target: grace }, byOwner)).toThrow(expect.objectContaining({ code: 'owner_not_assignable' }));
  });

  it('R-ROLE-1 the new Owner is recorded in the org', () => {
    const { org: events } = transferOwnership(org, { toUserId: 'u-grace' }, { owner, target: grace }, byOwner);
    expect(fold(organization, [...created, ...events]).ownerId).toBe('u-grace');
  });

  it('R-ROLE-1 only the Owner transfers ownership', () => {
    const fails = (code: string, f: () => unknown) => expect(f).toThrow(expect.objectContaining({ code }));
    fails('not_owner', () => transferOwnership(org, { toUserId: 'u-grace' }, { owner, target: grace }, byAdmin));
    fails('cannot_transfer_to_self', () => transferOwnership(org, { toUserId: 'u-owner' }, { owner, target: owner }, byOwner));
    fails('not_found', () => transferOwnership(org, { toUserId: 'u-ghost' }, { owner, target: membership.initialState() }, byOwner));
    fails('target_not_active', () => transferOwnership(org, { toUserId: 'u-grace' }, { owner, target: { ...grace, status: 'disabled' } }, byOwner));
    fails('target_not_active', () => transferOwnership(org, { toUserId: 'u-grace' }, { owner, target: { ...grace, banned: true } }, byOwner));
  });
});
