import type { Role, Preset } from '../access/roles';
import { presetRoles } from '../access/roles';
import { assignableRole, requireCeiling, requirePermission, requireSystemAdmin, type ActorStanding, type MemberAccess } from '../access/access';
import { PERMISSIONS } from '../access/permissions';
import type { Context, Decider, DomainEvent } from '../shared/decider';
import { DomainError, NotFound } from '../shared/errors';

export const orgStream = (orgId: string) => `org-${orgId}`;

export interface OrgPolicy {
  /** R-INV-1: 1 hour to 30 days, default 7 days. */
  invitationExpiryHours: number;
  defaultRole: string;
  /** R-CODE-1: members of an org that uses door access get a 6-digit access code. */
  doorAccess: boolean;
}

export interface Location {
  locationId: string;
  name: string;
}

export const DEFAULT_INVITATION_EXPIRY_HOURS = 7 * 24;
export const INVITATION_EXPIRY_LIMITS = { min: 1, max: 30 * 24 };

/** What a role's editable fields are; RoleUpdated carries only those that changed. */
export type RoleFields = Pick<Role, 'name' | 'color' | 'description' | 'permissions' | 'active'>;

export type OrganizationEvent =
  | DomainEvent<'OrganizationCreated', { orgId: string; name: string; preset: Preset; ownerId: string; roles: Role[]; policy: OrgPolicy; partnerId?: string }>
  | DomainEvent<'LocationAdded', { orgId: string; locationId: string; name: string }>
  | DomainEvent<'PolicyChanged', { orgId: string } & Partial<OrgPolicy>>
  | DomainEvent<'RoleCreated', { orgId: string; roleId: string; name: string; color: string; description: string; permissions: string[]; builtIn: false; active: true }>
  | DomainEvent<'RoleUpdated', { orgId: string; roleId: string } & Partial<RoleFields>>
  | DomainEvent<'OwnershipTransferred', { orgId: string; from: string; to: string }>
  | DomainEvent<'OrganizationSuspended', { orgId: string; reason: string }>
  | DomainEvent<'OrganizationReactivated', { orgId: string }>
  /** R-SYS-1, SPEC 5.3: the org is gone for everyone but system admins; its memberships end in the same commit. */
  | DomainEvent<'OrganizationDeleted', { orgId: string; by: string; keys?: string[] }>
  | DomainEvent<'PlanChanged', { orgId: string; plan: string; previousPlan: string; stripe: StripeSubscription | null }>;

/** The org's seat subscription in Stripe (R-BILL-1): its quantity follows the member count. */
export interface StripeSubscription {
  customerId: string;
  subscriptionId: string;
  subscriptionItemId: string;
}

export interface CreateOrganization {
  type: 'CreateOrganization';
  orgId: string;
  name: string;
  preset: Preset;
  ownerId: string;
  partnerId?: string;
}

export interface AddLocation {
  type: 'AddLocation';
  locationId: string;
  name: string;
}

export interface ChangePolicy {
  type: 'ChangePolicy';
  changes: Partial<OrgPolicy>;
}

export interface CreateRole {
  type: 'CreateRole';
  roleId: string;
  name: string;
  color: string;
  description: string;
  permissions: string[];
}

export interface UpdateRole {
  type: 'UpdateRole';
  roleId: string;
  changes: Partial<RoleFields>;
  /** Deactivating a role in use moves its holders to this role in the same append (R-ROLE-4). */
  moveMembersTo?: string;
  /** Who holds the role now, read by the handler from the membership streams (the org stream does not know). */
  holders: readonly string[];
}

/** R-SYS-1, R-ACC-7: only system admins suspend or reactivate an org (the context's standing says who is one). */
export interface ChangeOrgStatus {
  type: 'SuspendOrganization' | 'ReactivateOrganization';
  reason?: string;
}

/** R-SYS-1: system admins change an org's plan, and with it the Stripe subscription its seats are billed on. */
export interface ChangePlan {
  type: 'ChangePlan';
  plan: string;
  stripe: StripeSubscription | null;
}

/** R-SYS-1, SPEC 5.3: `confirmName` must be the org's name, as the operator reads it back. */
export interface DeleteOrganization {
  type: 'DeleteOrganization';
  confirmName: string;
  /** The names of its members' per-org data keys, kept so that a retry after a crash destroys them all. */
  keys?: string[];
}

export type OrganizationCommand = CreateOrganization | AddLocation | ChangePolicy | CreateRole | UpdateRole | ChangeOrgStatus | ChangePlan | DeleteOrganization;

export interface Organization {
  exists: boolean;
  orgId: string;
  name: string;
  status: 'active' | 'suspended' | 'deleted';
  ownerId: string;
  roles: Record<string, Role>;
  locations: Record<string, Location>;
  policy: OrgPolicy;
  partnerId?: string;
  plan: string;
  stripe: StripeSubscription | null;
  /** Once deleted: its members' per-org data keys, destroyed (again, on a retry). */
  deletedKeys?: string[];
}

/** What every org-scoped decision gets: the time, the actor, the org and the actor's access in it (from the write side). */
export interface OrgContext extends Context {
  org: Organization;
  access: MemberAccess | undefined;
  /** Whether the actor is a system admin or an admin of the org's partner (R-SEC-4, R-SYS-1, R-SYS-2); absent: neither. */
  standing?: ActorStanding;
  /** R-IMP-1: the person really acting when `actor` is being impersonated. */
  realActor?: Context['actor'];
}

/** The org decider runs for the org's creation (no actor access yet) and for its settings (the actor's access in it). */
export type OrgDecisionContext = Context & { access?: MemberAccess; standing?: Pick<ActorStanding, 'systemAdmin'> };

const COLOR = /^#[0-9a-fA-F]{6}$/;
const sameName = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

export const initialOrganization = (): Organization => ({
  exists: false,
  orgId: '',
  name: '',
  status: 'active',
  ownerId: '',
  roles: {},
  locations: {},
  policy: { invitationExpiryHours: DEFAULT_INVITATION_EXPIRY_HOURS, defaultRole: '', doorAccess: false },
  plan: 'free',
  stripe: null,
});

export function decide(state: Organization, command: OrganizationCommand, context: OrgDecisionContext): OrganizationEvent[] {
  const { now } = context;
  const orgId = state.orgId;
  if (command.type !== 'CreateOrganization' && !state.exists) throw new NotFound('organization');
  switch (command.type) {
    case 'SuspendOrganization':
    case 'ReactivateOrganization': {
      requireSystemAdmin(context.standing ?? { systemAdmin: false });
      const suspend = command.type === 'SuspendOrganization';
      if ((state.status === 'suspended') === suspend) return [];
      return suspend ? [{ type: 'OrganizationSuspended', data: { orgId, reason: command.reason ?? '' } }] : [{ type: 'OrganizationReactivated', data: { orgId } }];
    }
    case 'DeleteOrganization':
      requireSystemAdmin(context.standing ?? { systemAdmin: false });
      if (state.status === 'deleted') return [];
      if (command.confirmName.trim() !== state.name.trim()) throw new DomainError('confirm_name_mismatch', "confirmName is not the organization's name", { field: 'confirmName' });
      return [{ type: 'OrganizationDeleted', data: { orgId, by: context.actor.id, ...(command.keys ? { keys: command.keys } : {}) } }];
    case 'ChangePlan': {
      requireSystemAdmin(context.standing ?? { systemAdmin: false });
      const sameStripe = JSON.stringify(state.stripe) === JSON.stringify(command.stripe);
      if (state.plan === command.plan && sameStripe) return [];
      return [{ type: 'PlanChanged', data: { orgId, plan: command.plan, previousPlan: state.plan, stripe: command.stripe } }];
    }
    case 'CreateOrganization': {
      if (state.exists) throw new DomainError('org_exists', 'organization already exists');
      const { roles, defaultRole } = presetRoles(command.preset);
      return [
        {
          type: 'OrganizationCreated',
          data: {
            orgId: command.orgId,
            name: command.name,
            preset: command.preset,
            ownerId: command.ownerId,
            roles,
            policy: { invitationExpiryHours: DEFAULT_INVITATION_EXPIRY_HOURS, defaultRole, doorAccess: command.preset === 'studio' },
            ...(command.partnerId ? { partnerId: command.partnerId } : {}),
          },
        },
      ];
    }
    case 'AddLocation': {
      requirePermission(context.access, 'org.manage.any', { now });
      const name = command.name.trim();
      if (!name) throw new DomainError('invalid_location', 'a location needs a name');
      if (Object.values(state.locations).some((l) => sameName(l.name, name))) {
        throw new DomainError('location_exists', `a location named ${name} already exists`, { name });
      }
      return [{ type: 'LocationAdded', data: { orgId, locationId: command.locationId, name } }];
    }
    case 'ChangePolicy': {
      requirePermission(context.access, 'org.manage.any', { now });
      const { invitationExpiryHours, defaultRole, doorAccess } = command.changes;
      if (invitationExpiryHours !== undefined) {
        const { min, max } = INVITATION_EXPIRY_LIMITS;
        if (!Number.isInteger(invitationExpiryHours) || invitationExpiryHours < min || invitationExpiryHours > max) {
          throw new DomainError('invalid_policy', `invitation expiry must be ${min} to ${max} hours (R-INV-1)`, { field: 'invitationExpiryHours', min, max });
        }
      }
      if (defaultRole !== undefined) assignableRole(state, defaultRole); // R-CRT-3 hands it out: it must be assignable
      const changed = Object.fromEntries(
        Object.entries({ invitationExpiryHours, defaultRole, doorAccess }).filter(([k, v]) => v !== undefined && v !== state.policy[k as keyof OrgPolicy]),
      ) as Partial<OrgPolicy>;
      return Object.keys(changed).length === 0 ? [] : [{ type: 'PolicyChanged', data: { orgId, ...changed } }];
    }
    case 'CreateRole': {
      const access = requirePermission(context.access, 'roles.manage.any', { now });
      const { roleId, name, color, description, permissions } = command;
      checkRoleFields(state, { name, color, permissions });
      requireCeiling(access, permissions, null, now);
      if (state.roles[roleId]) throw new DomainError('role_exists', `role ${roleId} already exists`);
      const data = { orgId, roleId, name: name.trim(), color, description, permissions: [...new Set(permissions)], builtIn: false as const, active: true as const };
      return [{ type: 'RoleCreated', data }];
    }
    case 'UpdateRole':
      return updateRole(state, command, context);
  }
}

/** Names are unique per org (case-insensitive), colors are #rrggbb, permissions come from the catalog. */
function checkRoleFields(state: Organization, fields: Partial<RoleFields>, roleId?: string): void {
  const { name, color, permissions } = fields;
  if (name !== undefined) {
    if (!name.trim()) throw new DomainError('invalid_role', 'a role needs a name', { field: 'name' });
    const taken = Object.values(state.roles).find((r) => r.id !== roleId && sameName(r.name, name));
    if (taken) throw new DomainError('role_name_taken', `a role named ${taken.name} already exists`, { role: taken.id });
  }
  if (color !== undefined && !COLOR.test(color)) throw new DomainError('invalid_role', 'a color is #rrggbb', { field: 'color' });
  const unknown = (permissions ?? []).filter((p) => !PERMISSIONS.includes(p));
  if (unknown.length > 0) throw new DomainError('unknown_permission', `no permission ${unknown.join(', ')}`, { permissions: unknown });
}

/**
 * R-ROLE-4. Managing a role needs `roles.manage.any` and, by R-ROLE-2, every permission
 * the role carries before and after the change: nobody edits a role above their own ceiling.
 */
function updateRole(state: Organization, command: UpdateRole, context: OrgDecisionContext): OrganizationEvent[] {
  const { now } = context;
  const access = requirePermission(context.access, 'roles.manage.any', { now });
  const role = state.roles[command.roleId];
  if (!role) throw new NotFound('role');
  if (role.owner) throw new DomainError('owner_protected', 'the Owner role cannot be changed');
  const changed = Object.fromEntries(
    Object.entries(command.changes).filter(([k, v]) => v !== undefined && !sameValue(v, role[k as keyof RoleFields])),
  ) as Partial<RoleFields>;
  if (changed.permissions) {
    if (role.builtIn) throw new DomainError('builtin_role', `the permissions of built-in role ${role.name} cannot be edited`);
    changed.permissions = [...new Set(changed.permissions)];
  }
  checkRoleFields(state, changed, role.id);
  requireCeiling(access, [...new Set([...role.permissions, ...(changed.permissions ?? [])])], null, now);

  const deactivating = changed.active === false;
  if (command.moveMembersTo !== undefined) {
    if (!deactivating) throw new DomainError('invalid_move', 'members are moved only when their role is deactivated');
    if (command.moveMembersTo === role.id) throw new DomainError('invalid_move', 'members cannot be moved to the role being deactivated');
    assignableRole(state, command.moveMembersTo);
  }
  if (deactivating) {
    if (state.policy.defaultRole === role.id) throw new DomainError('role_is_default', 'the default role cannot be deactivated; change the policy first');
    if (command.holders.length > 0 && command.moveMembersTo === undefined) {
      throw new DomainError('role_in_use', `${command.holders.length} member(s) hold role ${role.name}; move them first or with moveMembersTo`, { holders: command.holders.length });
    }
  }
  return Object.keys(changed).length === 0 ? [] : [{ type: 'RoleUpdated', data: { orgId: state.orgId, roleId: role.id, ...changed } }];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && [...a].sort().join() === [...b].sort().join();
  return a === b;
}

export function evolve(state: Organization, event: OrganizationEvent): Organization {
  switch (event.type) {
    case 'OrganizationCreated':
      return {
        exists: true,
        orgId: event.data.orgId,
        name: event.data.name,
        status: 'active',
        ownerId: event.data.ownerId,
        roles: Object.fromEntries(event.data.roles.map((r) => [r.id, r])),
        locations: {},
        policy: event.data.policy,
        ...(event.data.partnerId ? { partnerId: event.data.partnerId } : {}),
        plan: 'free',
        stripe: null,
      };
    case 'LocationAdded': {
      const { locationId, name } = event.data;
      return { ...state, locations: { ...state.locations, [locationId]: { locationId, name } } };
    }
    case 'PolicyChanged': {
      const { orgId: _, ...changes } = event.data;
      return { ...state, policy: { ...state.policy, ...changes } };
    }
    case 'RoleCreated': {
      const { orgId: _, roleId, ...role } = event.data;
      return { ...state, roles: { ...state.roles, [roleId]: { id: roleId, ...role, owner: false } } };
    }
    case 'RoleUpdated': {
      const { orgId: _, roleId, ...changes } = event.data;
      return { ...state, roles: { ...state.roles, [roleId]: { ...state.roles[roleId], ...changes } } };
    }
    case 'OwnershipTransferred':
      return { ...state, ownerId: event.data.to };
    case 'OrganizationSuspended':
      return { ...state, status: 'suspended' };
    case 'OrganizationReactivated':
      return { ...state, status: 'active' };
    case 'OrganizationDeleted':
      return { ...state, status: 'deleted', deletedKeys: event.data.keys ?? [] };
    case 'PlanChanged':
      return { ...state, plan: event.data.plan, stripe: event.data.stripe };
    default:
      return state;
  }
}

export const organization: Decider<Organization, OrganizationCommand, OrganizationEvent, OrgDecisionContext> = {
  initialState: initialOrganization,
  decide,
  evolve,
};
