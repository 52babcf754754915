import { assignableRole, can, isGrantLive, managesAccount, requireCeiling, requireNotImpersonating, requirePermission, type AccountManager, type Grant, type MemberAccess, type Standing } from '../access/access';
import { isPermissionName, PERMISSIONS } from '../access/permissions';
import { requireValidAccessCode } from '../accesscode/accesscode';
import type { OrgContext } from '../organization/organization';
import type { Decider, DomainEvent } from '../shared/decider';
import { DomainError, NotFound, type ErrorCode } from '../shared/errors';

export const membershipStream = (orgId: string, userId: string) => `member-${orgId}-${userId}`;

export type Availability = 'available' | 'on-call' | 'unavailable';
export const AVAILABILITIES: readonly Availability[] = ['available', 'on-call', 'unavailable'];
type Via = 'owner' | 'invitation' | 'created' | 'existing' | 'partner';

export type MembershipEvent =
  | DomainEvent<'MemberAdded', { orgId: string; userId: string; roleId: string; locations: string[] | null; approval: 'approved' | 'pending'; via: Via }>
  | DomainEvent<'RoleChanged', { orgId: string; userId: string; roleId: string; locations: string[] | null; previousRoleId: string; previousLocations: string[] | null }>
  | DomainEvent<'AccessDisabled', { orgId: string; userId: string }>
  | DomainEvent<'AccessEnabled', { orgId: string; userId: string }>
  | DomainEvent<'MemberRemoved', { orgId: string; userId: string }>
  | DomainEvent<'MemberApproved', { orgId: string; userId: string }>
  | DomainEvent<'MemberMarkedPending', { orgId: string; userId: string }>
  | DomainEvent<'UserBanned', { orgId: string; userId: string }>
  | DomainEvent<'UserUnbanned', { orgId: string; userId: string }>
  | DomainEvent<'PermissionGranted', { orgId: string; userId: string } & Grant>
  | DomainEvent<'PermissionRevoked', { orgId: string; userId: string; grantId: string; permission: string }>
  | DomainEvent<'PermissionExpired', { orgId: string; userId: string; grantId: string; permission: string; expiredAt: string }>
  | DomainEvent<'AccessCodeAssigned', { orgId: string; userId: string; code: string; previousCode?: string; generated: boolean }>
  | DomainEvent<'MemberNotesUpdated', { orgId: string; userId: string; notes: string }>
  | DomainEvent<'AvailabilityChanged', { orgId: string; userId: string; availability: Availability }>;

export type MembershipCommand =
  /** `codeCandidate`: a random valid code nobody in the org holds, drawn at the edge; given to the member where the org uses door access (R-CODE-1). */
  | { type: 'AddMember'; orgId: string; userId: string; roleId?: string; locations?: string[] | null; via: Via; codeCandidate?: string }
  | { type: 'ChangeRole'; roleId: string; locations?: string[] | null }
  | { type: 'DisableAccess' }
  | { type: 'EnableAccess' }
  | { type: 'RemoveMember' }
  | { type: 'ApproveMember' }
  | { type: 'MarkPending' }
  | { type: 'BanMember' }
  | { type: 'UnbanMember' }
  | { type: 'GrantPermission'; grantId: string; permission: string; location?: string; expiresAt?: string; reason: string }
  | { type: 'RevokePermission'; grantId: string }
  | { type: 'ExpirePermissions' }
  /** R-CODE-2: a code of the admin's choice. */
  | { type: 'AssignAccessCode'; code: string }
  | { type: 'UpdateNotes'; notes: string }
  | { type: 'SetAvailability'; availability: Availability }
  /** R-CODE-1: the org has just turned door access on; a member with no code gets a generated one (drawn at the edge). */
  | { type: 'GiveGeneratedCode'; codeCandidate: string };

export interface Membership extends Standing {
  exists: boolean;
  orgId: string;
  accessCode?: string;
  /** Grants whose expiry has been recorded as PermissionExpired. */
  expiredRecorded: string[];
  notes: string;
  availability: Availability;
}

export const initialMembership = (): Membership => ({
  exists: false,
  orgId: '',
  userId: '',
  roleId: '',
  locations: null,
  status: 'active',
  approval: 'approved',
  banned: false,
  grants: [],
  expiredRecorded: [],
  notes: '',
  availability: 'available',
});

/** The actor's id if it is a person; a service key acts on its own and is never "self". */
const actorUserId = (ctx: OrgContext) => (ctx.actor.kind === 'user' ? ctx.actor.id : undefined);

function requireMember(state: Membership): void {
  if (!state.exists) throw new NotFound('member');
}

const SELF_REFUSALS = { disable: 'cannot_disable_self', ban: 'cannot_ban_self', remove: 'cannot_remove_self', change_role_of: 'cannot_change_own_role' } as const satisfies Record<string, ErrorCode>;

/** R-ACC-2: nobody acts on themselves this way, and the Owner is out of reach. */
function protect(state: Membership, ctx: OrgContext, action: keyof typeof SELF_REFUSALS): void {
  if (actorUserId(ctx) === state.userId) {
    throw new DomainError(SELF_REFUSALS[action], `you cannot ${action.replace(/_/g, ' ')} yourself`);
  }
  if (ctx.org.ownerId === state.userId) throw new DomainError('owner_protected', 'the Owner cannot be changed this way; transfer ownership first');
}

function checkLocations(ctx: OrgContext, locations: string[] | null | undefined): string[] | null {
  if (!locations) return null;
  const unknown = locations.filter((l) => !ctx.org.locations[l]);
  if (unknown.length > 0) throw new DomainError('unknown_location', 'no such location in this organization', { locations: unknown });
  if (locations.length === 0) throw new DomainError('no_locations', 'a location-scoped role needs at least one location');
  return [...new Set(locations)].sort();
}

/**
 * SPEC 5.3: a membership that ends with no decision of the org: its person is
 * erased (R-ACC-3), or the org is deleted (R-SYS-1). No permission of the org is
 * asked: who may do either is checked at the edge.
 */
export function endMembership(state: Membership): MembershipEvent[] {
  return state.exists ? [{ type: 'MemberRemoved', data: { orgId: state.orgId, userId: state.userId } }] : [];
}

export function decide(state: Membership, command: MembershipCommand, ctx: OrgContext): MembershipEvent[] {
  const { now } = ctx;
  const ids = { orgId: state.orgId, userId: state.userId };
  const need = (permission: string): MemberAccess => requirePermission(ctx.access, permission, { now });
  switch (command.type) {
    case 'AddMember': {
      if (state.exists) throw new DomainError('already_member', 'this user is already a member of the organization');
      const { orgId, userId, via } = command;
      const locations = checkLocations(ctx, command.locations);
      // R-CRT-3: the org's default role unless one is given; the Owner arrives only with the org.
      let roleId = command.roleId ?? ctx.org.policy.defaultRole;
      if (via === 'owner') {
        if (!ctx.org.roles[roleId]?.owner) throw new DomainError('owner_not_assignable');
      } else {
        const role = assignableRole(ctx.org, roleId);
        if (via === 'created' || via === 'existing') requireCeiling(need('users.create.any'), role.permissions, locations, now);
        roleId = role.id;
      }
      const added: MembershipEvent = { type: 'MemberAdded', data: { orgId, userId, roleId, locations, approval: 'approved', via } };
      return ctx.org.policy.doorAccess ? [added, generatedCode(orgId, userId, command.codeCandidate)] : [added];
    }
    case 'ChangeRole': {
      requireMember(state);
      const access = need('roles.assign.any');
      protect(state, ctx, 'change_role_of');
      const role = assignableRole(ctx.org, command.roleId);
      const locations = checkLocations(ctx, command.locations);
      requireCeiling(access, role.permissions, locations, now);
      if (role.id === state.roleId && sameLocations(locations, state.locations)) return [];
      return [{ type: 'RoleChanged', data: { ...ids, roleId: role.id, locations, previousRoleId: state.roleId, previousLocations: state.locations } }];
    }
    case 'DisableAccess':
      requireMember(state);
      need('users.disable.any');
      protect(state, ctx, 'disable');
      return state.status === 'disabled' ? [] : [{ type: 'AccessDisabled', data: ids }];
    case 'EnableAccess':
      requireMember(state);
      need('users.disable.any');
      return state.status === 'active' ? [] : [{ type: 'AccessEnabled', data: ids }];
    case 'RemoveMember':
      requireMember(state);
      need('users.delete.any');
      protect(state, ctx, 'remove');
      return [{ type: 'MemberRemoved', data: ids }];
    case 'ApproveMember':
      requireMember(state);
      need('users.approve.any');
      return state.approval === 'approved' ? [] : [{ type: 'MemberApproved', data: ids }];
    case 'MarkPending':
      requireMember(state);
      need('users.approve.any');
      if (ctx.org.ownerId === state.userId) throw new DomainError('owner_protected', 'the Owner is always approved');
      return state.approval === 'pending' ? [] : [{ type: 'MemberMarkedPending', data: ids }];
    case 'BanMember':
      requireMember(state);
      need('users.ban.any');
      protect(state, ctx, 'ban');
      return state.banned ? [] : [{ type: 'UserBanned', data: ids }];
    case 'UnbanMember':
      requireMember(state);
      need('users.ban.any');
      return state.banned ? [{ type: 'UserUnbanned', data: ids }] : [];
    case 'GrantPermission': {
      requireMember(state);
      const access = need('permissions.grant.any');
      if (!isPermissionName(command.permission) || !PERMISSIONS.includes(command.permission)) {
        throw new DomainError('unknown_permission', `no permission ${command.permission}`, { permission: command.permission });
      }
      const locations = command.location ? checkLocations(ctx, [command.location]) : null;
      requireCeiling(access, [command.permission], locations, now);
      if (command.expiresAt && command.expiresAt <= now.toISOString()) throw new DomainError('expiry_in_past', 'a grant must expire in the future');
      if (state.grants.some((g) => g.grantId === command.grantId)) return [];
      const grant: Grant = {
        grantId: command.grantId,
        permission: command.permission,
        ...(command.location ? { location: command.location } : {}),
        ...(command.expiresAt ? { expiresAt: command.expiresAt } : {}),
        reason: command.reason,
        grantedBy: ctx.actor.id,
        grantedAt: now.toISOString(),
      };
      return [{ type: 'PermissionGranted', data: { ...ids, ...grant } }];
    }
    case 'RevokePermission': {
      requireMember(state);
      need('permissions.grant.any');
      const grant = state.grants.find((g) => g.grantId === command.grantId);
      if (!grant) throw new NotFound('grant');
      return [{ type: 'PermissionRevoked', data: { ...ids, grantId: grant.grantId, permission: grant.permission } }];
    }
    case 'ExpirePermissions':
      // R-ROLE-6: checks already ignore an expired grant; this only records that it expired.
      return state.grants
        .filter((g) => !isGrantLive(g, now) && !state.expiredRecorded.includes(g.grantId))
        .map((g) => ({ type: 'PermissionExpired' as const, data: { ...ids, grantId: g.grantId, permission: g.permission, expiredAt: g.expiresAt! } }));
    case 'GiveGeneratedCode':
      // Part of the policy change that turns door access on: its permission was asked there.
      if (!state.exists || state.accessCode || !ctx.org.policy.doorAccess) return [];
      return [generatedCode(state.orgId, state.userId, command.codeCandidate)];
    case 'AssignAccessCode':
      requireMember(state);
      need('accesscodes.update.any');
      requireValidAccessCode(command.code);
      if (state.accessCode === command.code) return [];
      return [{ type: 'AccessCodeAssigned', data: { ...ids, code: command.code, ...(state.accessCode ? { previousCode: state.accessCode } : {}), generated: false } }];
    case 'UpdateNotes':
      requireMember(state);
      need('users.update.any');
      return state.notes === command.notes ? [] : [{ type: 'MemberNotesUpdated', data: { ...ids, notes: command.notes } }];
    case 'SetAvailability':
      requireMember(state);
      need('availability.update.any');
      return state.availability === command.availability ? [] : [{ type: 'AvailabilityChanged', data: { ...ids, availability: command.availability } }];
  }
}

export function evolve(state: Membership, event: MembershipEvent): Membership {
  switch (event.type) {
    case 'MemberAdded':
      // A removed member who comes back starts afresh; the history stays in the stream.
      return { ...initialMembership(), exists: true, orgId: event.data.orgId, userId: event.data.userId, roleId: event.data.roleId, locations: event.data.locations, approval: event.data.approval };
    case 'RoleChanged':
      return { ...state, roleId: event.data.roleId, locations: event.data.locations };
    case 'AccessDisabled':
      return { ...state, status: 'disabled' };
    case 'AccessEnabled':
      return { ...state, status: 'active' };
    case 'MemberRemoved':
      return { ...initialMembership(), orgId: state.orgId, userId: state.userId };
    case 'MemberApproved':
      return { ...state, approval: 'approved' };
    case 'MemberMarkedPending':
      return { ...state, approval: 'pending' };
    case 'UserBanned':
      return { ...state, banned: true };
    case 'UserUnbanned':
      return { ...state, banned: false };
    case 'PermissionGranted': {
      const { orgId: _o, userId: _u, ...grant } = event.data;
      return { ...state, grants: [...state.grants, grant] };
    }
    case 'PermissionRevoked':
      return { ...state, grants: state.grants.filter((g) => g.grantId !== event.data.grantId) };
    case 'PermissionExpired':
      return { ...state, expiredRecorded: [...state.expiredRecorded, event.data.grantId] };
    case 'AccessCodeAssigned':
      return { ...state, accessCode: event.data.code };
    case 'MemberNotesUpdated':
      return { ...state, notes: event.data.notes };
    case 'AvailabilityChanged':
      return { ...state, availability: event.data.availability };
    default:
      return state;
  }
}

/** R-CODE-1: every member of an org that uses door access gets a generated 6-digit code; which one is drawn outside, unique in the org. */
function generatedCode(orgId: string, userId: string, candidate: string | undefined): MembershipEvent {
  if (candidate === undefined) throw new Error('a member of a door-access org needs a code candidate (R-CODE-1)');
  requireValidAccessCode(candidate);
  return { type: 'AccessCodeAssigned', data: { orgId, userId, code: candidate, generated: true } };
}

function sameLocations(a: string[] | null, b: string[] | null): boolean {
  return a === b || (a !== null && b !== null && a.join() === b.join());
}

export const membership: Decider<Membership, MembershipCommand, MembershipEvent, OrgContext> = {
  initialState: initialMembership,
  decide,
  evolve,
};

/** R-SEC-4: only the managing org (or partner) and system admins reach the account itself; other orgs manage the membership only. */
function requireManagedHere(account: { managedBy?: AccountManager }, ctx: OrgContext): void {
  if (!managesAccount(account.managedBy, ctx.org, ctx.standing)) {
    throw new DomainError('account_managed_elsewhere', 'this account is managed by another organization: here you manage only the membership');
  }
}

/**
 * Who may set, reset or send a reset of a member's password, reset its MFA or send
 * it a setup link (R-CRED-4, R-CRED-5, R-CRED-8, R-CRT-4): an actor with
 * users.credentials.any, in the org that manages the account (R-SEC-4), over a
 * member whose role it could itself assign (R-ROLE-2), never over the Owner unless
 * it is the Owner, and never from an impersonation session (R-IMP-1).
 */
/**
 * Seed 000, R-CRT-4: resending a setup link (which, after setup, replaces the
 * password) is the credentials authority, with either users.credentials.any or the
 * narrower users.resend-setup.any that studio Staff hold.
 */
export function requireSetupLinkAuthority(target: Membership, account: { managedBy?: AccountManager }, ctx: OrgContext): void {
  const narrow = ctx.access && can(ctx.access, 'users.resend-setup.any', ctx).allowed;
  requireCredentialsAuthority(target, account, ctx, narrow ? 'users.resend-setup.any' : 'users.credentials.any');
}

export function requireCredentialsAuthority(target: Membership, account: { managedBy?: AccountManager }, ctx: OrgContext, permission = 'users.credentials.any'): void {
  requireMember(target);
  requireNotImpersonating(ctx, "change anyone's credentials");
  const access = requirePermission(ctx.access, permission, ctx);
  if (ctx.org.ownerId === target.userId && actorUserId(ctx) !== target.userId) {
    throw new DomainError('owner_protected', "only the Owner changes the Owner's credentials");
  }
  requireManagedHere(account, ctx);
  const role = ctx.org.roles[target.roleId];
  if (role && !role.owner) requireCeiling(access, role.permissions, target.locations, ctx.now);
}

/**
 * Who may edit a member's profile (name, phone, bio, username): users.update.any in
 * the org that manages the account (R-SEC-4); the Owner's profile only by the Owner (SPEC 5.7).
 */
export function requireProfileAuthority(target: Membership, account: { managedBy?: AccountManager }, ctx: OrgContext): void {
  requireMember(target);
  requirePermission(ctx.access, 'users.update.any', ctx);
  if (actorUserId(ctx) === target.userId) return;
  if (ctx.org.ownerId === target.userId) throw new DomainError('owner_protected', "only the Owner edits the Owner's profile");
  requireManagedHere(account, ctx);
}

/**
 * R-IMP-1: impersonation needs users.impersonate.any, over an active member of
 * lower or equal access (every permission of its role is the actor's), never the
 * Owner, never oneself, and never from an impersonation session.
 */
export function requireImpersonationAuthority(target: Membership, ctx: OrgContext): void {
  requireMember(target);
  requireNotImpersonating(ctx, 'start another impersonation');
  const access = requirePermission(ctx.access, 'users.impersonate.any', ctx);
  if (actorUserId(ctx) === target.userId) throw new DomainError('cannot_impersonate_self', 'you cannot impersonate yourself');
  if (ctx.org.ownerId === target.userId) throw new DomainError('owner_protected', 'the Owner cannot be impersonated');
  if (target.status !== 'active') throw new DomainError('target_not_active', 'only active members can be impersonated');
  const role = ctx.org.roles[target.roleId];
  requireCeiling(access, role?.permissions ?? [], target.locations, ctx.now);
}
