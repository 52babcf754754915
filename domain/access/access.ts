import type { Organization } from '../organization/organization';
import { DomainError, Forbidden, NotFound, systemAdminsOnly } from '../shared/errors';
import type { Actor } from '../shared/envelope';
import { OWNER_ROLE_ID, type Role } from './roles';

/** An explicit permission given to a member beyond its role (R-ROLE-6). */
export interface Grant {
  grantId: string;
  permission: string;
  location?: string;
  expiresAt?: string;
  reason: string;
  grantedBy: string;
  grantedAt: string;
}

/** What a membership stream says about a member's standing in its org. */
export interface Standing {
  userId: string;
  roleId: string;
  /** null: the role holds across the org; otherwise only in these locations (R-ROLE-5). */
  locations: string[] | null;
  status: 'active' | 'disabled';
  approval: 'approved' | 'pending';
  banned: boolean;
  grants: Grant[];
}

export interface OrgRoles {
  roles: Readonly<Record<string, Role>>;
}

/** A member's standing with its role resolved: enough to answer any permission check. */
export interface MemberAccess extends Standing {
  role: Role | undefined;
  owner: boolean;
}

export type DenyReason = 'missing_permission' | 'disabled' | 'not_approved' | 'banned' | 'outside_locations';
export type Decision =
  | { allowed: true; reason: 'role' | 'grant' }
  | { allowed: false; reason: DenyReason };

/** R-ACC-4, R-ACC-5: purchasing and booking are what pending and banned members may not do. */
const NEEDS_GOOD_STANDING = /^(bookings|purchases)\.create\./;

export function accessOf(org: OrgRoles, standing: Standing): MemberAccess {
  const role = org.roles[standing.roleId];
  return { ...standing, role, owner: role?.owner ?? false };
}

export function isGrantLive(grant: Grant, now: Date): boolean {
  return !grant.expiresAt || grant.expiresAt > now.toISOString();
}

/**
 * The one check every command and every authorization question uses. Fed from the
 * write side (R-ROLE-8); grant expiry is a comparison with `now`, not a job (R-ROLE-6).
 */
export function can(access: MemberAccess, permission: string, at: { now: Date; location?: string }): Decision {
  if (access.status === 'disabled') return { allowed: false, reason: 'disabled' };
  if (NEEDS_GOOD_STANDING.test(permission)) {
    if (access.banned) return { allowed: false, reason: 'banned' };
    if (access.approval === 'pending') return { allowed: false, reason: 'not_approved' };
  }
  let outside = false;
  if (holds(access.role?.permissions ?? [], permission)) {
    if (inScope(access.locations, at.location)) return { allowed: true, reason: 'role' };
    outside = true;
  }
  for (const grant of access.grants) {
    if (!holds([grant.permission], permission) || !isGrantLive(grant, at.now)) continue;
    if (inScope(grant.location ? [grant.location] : null, at.location)) return { allowed: true, reason: 'grant' };
    outside = true;
  }
  return { allowed: false, reason: outside ? 'outside_locations' : 'missing_permission' };
}

/** Scopes nest: `any` (the whole org) covers `location` and `own`; `location` covers `own`. */
function holds(permissions: readonly string[], wanted: string): boolean {
  if (permissions.includes(wanted)) return true;
  const cut = wanted.lastIndexOf('.');
  const base = wanted.slice(0, cut);
  const scope = wanted.slice(cut + 1);
  const wider = scope === 'own' ? ['location', 'any'] : scope === 'location' ? ['any'] : [];
  return wider.some((w) => permissions.includes(`${base}.${w}`));
}

/** A global scope covers everything; a location scope covers only checks made in one of its locations. */
function inScope(locations: string[] | null, location: string | undefined): boolean {
  return locations === null || (location !== undefined && locations.includes(location));
}

/** Throws `forbidden` naming the missing permission (or `access_disabled` for a disabled member). */
export function requirePermission(access: MemberAccess | undefined, permission: string, at: { now: Date; location?: string }): MemberAccess {
  if (!access) throw new Forbidden(permission);
  const decision = can(access, permission, at);
  if (decision.allowed) return access;
  if (decision.reason === 'disabled') throw new DomainError('access_disabled', 'your access to this organization is disabled');
  throw new Forbidden(permission, decision.reason === 'outside_locations' ? `${permission} is not yours in that location` : undefined);
}

/**
 * R-ROLE-2: an actor may hand out a role or a permission only if it holds every
 * permission involved, in the scope it hands them out in (each of `locations`, or org-wide).
 */
export function requireCeiling(access: MemberAccess, permissions: readonly string[], locations: string[] | null, now: Date): void {
  const scopes = locations === null ? [undefined] : locations;
  const missing = permissions.filter((p) => !scopes.every((location) => can(access, p, { now, location }).allowed));
  if (missing.length > 0) {
    throw new DomainError('above_your_ceiling', 'you cannot hand out permissions you do not hold yourself', { missing });
  }
}

/** R-ROLE-1 and R-ROLE-4: the role a member is offered must exist, be active, and not be Owner. */
export function assignableRole(org: OrgRoles, roleId: string): Role {
  const role = org.roles[roleId];
  if (!role) throw new DomainError('unknown_role', `no role ${roleId} in this organization`, { role: roleId });
  if (role.owner) throw new DomainError('owner_not_assignable', 'the Owner role moves only by an ownership transfer');
  if (!role.active) throw new DomainError('role_inactive', `role ${role.name} is not active`, { role: roleId });
  return role;
}

/**
 * R-SEC-4: an account (the global identity: password, links, MFA, sessions,
 * profile, email) belongs to the org or partner that made it. Every other org the
 * person joins manages only the membership.
 */
export type AccountManager = { orgId: string } | { partnerId: string };

/** R-IMP-1: an impersonation session does only what the person could do in the org: never start another, mint a service key or change credentials. */
export function requireNotImpersonating(ctx: { realActor?: unknown }, what: string): void {
  if (ctx.realActor) throw new DomainError('not_while_impersonating', `an impersonation session cannot ${what}`);
}

/** What the loaders found out about the actor, beyond its membership of the org. */
export interface ActorStanding {
  /** An admin of SYSTEM_ADMIN_ORG (R-SYS-1). */
  systemAdmin: boolean;
  /** An admin of the org's partner (R-SYS-2). */
  partnerAdmin: boolean;
}

/**
 * May an actor acting in `org` manage the account itself? System admins always;
 * otherwise only from the managing org, or, for a partner's account, as an admin
 * of that partner in one of its orgs.
 */
export function managesAccount(managedBy: AccountManager | undefined, org: { orgId: string; partnerId?: string }, standing: ActorStanding | undefined): boolean {
  if (standing?.systemAdmin) return true;
  if (!managedBy) return false;
  if ('orgId' in managedBy) return managedBy.orgId === org.orgId;
  return managedBy.partnerId === org.partnerId && !!standing?.partnerAdmin;
}

/** R-SYS-1: routes for system administrators only. */
export function requireSystemAdmin(standing: Pick<ActorStanding, 'systemAdmin'>): void {
  if (!standing.systemAdmin) throw systemAdminsOnly();
}

// ---------------------------------------------------------------------------
// Reach: from the loaded facts to the principal and its standing (the one access decision's input).

/** What the loaders found about an actor and one org; nothing here is decided yet. */
export interface ReachFacts {
  actor: Actor;
  org: Organization;
  /** The actor's membership of the org (a person), if it has one. */
  membership?: Standing & { exists: boolean };
  /** The service key the actor is (a service), if any: its org and its access. */
  serviceKey?: { orgId: string; access: MemberAccess };
  standing: ActorStanding;
}

/** How an actor reaches an org, and with what access. */
export interface Reach {
  /** undefined for Gatehouse's own jobs (`system`), which decide nothing that needs access. */
  access: MemberAccess | undefined;
  standing: ActorStanding;
  via: 'membership' | 'service-key' | 'partner' | 'system-admin' | 'system';
}

/** R-SYS-2: the role a partner's admins hold in the partner's orgs: its Partner Admin role, or Admin where the preset has none. */
export function partnerAdminRole(org: Organization): string {
  return org.roles['partner-admin'] ? 'partner-admin' : 'admin';
}

/** R-SYS-1: an admin of SYSTEM_ADMIN_ORG is whoever may manage that org (org.manage.any there), and is active in it. */
export function isSystemAdminOf(systemOrg: Organization, membership: Standing & { exists: boolean }, now: Date): boolean {
  return systemOrg.exists && membership.exists && can(accessOf(systemOrg, membership), 'org.manage.any', { now }).allowed;
}

const standingAs = (userId: string, roleId: string): Standing => ({ userId, roleId, locations: null, status: 'active', approval: 'approved', banned: false, grants: [] });

/**
 * The one access decision (R-SEC-1, R-ACC-1, R-ACC-7, R-SYS-1, R-SYS-2): from the
 * loaded facts, how the actor reaches the org. Someone with no way in gets the same
 * 404 as for an org that does not exist; a disabled member gets access_disabled on
 * every route of the org, reads included; a suspended org is closed to all but
 * system admins.
 */
export function reachOf(facts: ReachFacts): Reach {
  const { actor, org, membership, serviceKey, standing } = facts;
  if (!org.exists) throw new NotFound('organization');
  if (actor.kind === 'system') return { access: undefined, standing, via: 'system' };
  // Deleted (SPEC 5.3): to all but system admins, it does not exist.
  if (org.status === 'deleted' && !standing.systemAdmin) throw new NotFound('organization');
  if (org.status === 'suspended' && !standing.systemAdmin) {
    // Only its own members and keys learn that it is suspended; to anyone else it does not exist (R-SEC-1).
    if ((actor.kind === 'service' && serviceKey?.orgId === org.orgId) || membership?.exists) throw new DomainError('org_suspended', 'this organization is suspended');
    throw new NotFound('organization');
  }
  if (actor.kind === 'service') {
    if (serviceKey?.orgId !== org.orgId) throw new NotFound('organization');
    return { access: serviceKey.access, standing, via: 'service-key' };
  }
  if (actor.kind !== 'user') throw new NotFound('organization');
  if (membership?.exists) {
    if (membership.status === 'disabled') throw new DomainError('access_disabled', 'your access to this organization is disabled');
    return { access: accessOf(org, membership), standing, via: 'membership' };
  }
  if (standing.partnerAdmin) return { access: accessOf(org, standingAs(actor.id, partnerAdminRole(org))), standing, via: 'partner' };
  // System admins reach every org as its Owner would, without owning it; their events name them.
  if (standing.systemAdmin) return { access: { ...accessOf(org, standingAs(actor.id, OWNER_ROLE_ID)), owner: false }, standing, via: 'system-admin' };
  throw new NotFound('organization');
}

/**
 * Who may create a tenant (an org, or a partner): anyone when SIGNUP=open (a partner
 * needs a signed-in person, who becomes its admin); only system admins when closed.
 */
export function requireSignupAllowed(signup: 'open' | 'closed', who: { signedIn: boolean; systemAdmin: boolean }, what: 'organization' | 'partner'): void {
  if (who.systemAdmin) return;
  if (signup === 'open' && (what === 'organization' || who.signedIn)) return;
  throw systemAdminsOnly(`${what === 'organization' ? 'organizations' : 'partners'} are created by system administrators`);
}
