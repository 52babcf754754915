import type { Organization } from '../organization/organization';
import { accessOf, can, type ActorStanding, type MemberAccess, type Standing } from './access';
import { OWNER_ROLE_ID } from './roles';
import { DomainError, NotFound, systemAdminsOnly } from '../shared/errors';
import type { Actor } from '../shared/envelope';

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
