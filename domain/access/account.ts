import { DomainError, systemAdminsOnly } from '../shared/errors';

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
