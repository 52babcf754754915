import { accessOf, type MemberAccess, type Standing } from '../../domain/access/access';
import { OWNER_ROLE_ID, type Preset } from '../../domain/access/roles';
import { fold } from '../../domain/shared/decider';
import { organization, type OrgContext, type Organization } from '../../domain/organization/organization';
import { ctx, NOW } from './given';

/** An org as its creation leaves it, with locations added for scope tests. */
export function anOrg(preset: Preset = 'team', over: Partial<Organization> = {}): Organization {
  const created = organization.decide(organization.initialState(), { type: 'CreateOrganization', orgId: 'o1', name: 'Acme', preset, ownerId: 'u-owner' }, ctx());
  const org = fold(organization, created);
  return { ...org, locations: { north: { locationId: 'north', name: 'North studio' }, south: { locationId: 'south', name: 'South studio' } }, ...over };
}

export function standing(userId: string, roleId: string, over: Partial<Standing> = {}): Standing {
  return { userId, roleId, locations: null, status: 'active', approval: 'approved', banned: false, grants: [], ...over };
}

export function accessIn(org: Organization, userId: string, roleId: string, over: Partial<Standing> = {}): MemberAccess {
  return accessOf(org, standing(userId, roleId, over));
}

/** The context of a decision by `actor` (a member with `roleId`) in `org`, at NOW. */
export function orgCtx(org: Organization, actorId: string, roleId: string | undefined, over: Partial<Standing> = {}, now = NOW): OrgContext {
  return { now, actor: { kind: 'user', id: actorId }, org, access: roleId ? accessIn(org, actorId, roleId, over) : undefined };
}

export { OWNER_ROLE_ID };
