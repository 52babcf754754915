import { assignableRole } from '../access/access';
import type { Membership, MembershipEvent } from '../membership/membership';
import { DomainError, NotFound } from '../shared/errors';
import type { OrganizationEvent, OrgDecisionContext, Organization } from './organization';

export interface TransferOwnership {
  toUserId: string;
  /** The role the Owner steps down to; by default the preset's most powerful role after the Owner. */
  formerOwnerRole?: string;
}

/**
 * R-ROLE-1: ownership moves only by the Owner's explicit transfer. One decision over
 * three streams: the org records the new Owner, and both memberships change role. It
 * is not a membership ChangeRole, which rightly refuses the Owner role and one's own role.
 */
export function transferOwnership(
  state: Organization,
  command: TransferOwnership,
  members: { owner: Membership; target: Membership },
  context: OrgDecisionContext,
): { org: OrganizationEvent[]; owner: MembershipEvent[]; target: MembershipEvent[] } {
  if (context.actor.kind !== 'user' || context.actor.id !== state.ownerId) throw new DomainError('not_owner', 'only the Owner can transfer ownership');
  const { owner, target } = members;
  if (command.toUserId === state.ownerId) throw new DomainError('cannot_transfer_to_self', 'you already own this organization');
  if (!target.exists) throw new NotFound('member');
  if (target.status !== 'active' || target.approval !== 'approved' || target.banned) {
    throw new DomainError('target_not_active', 'ownership goes only to an active, approved member who is not banned');
  }
  const ownerRole = Object.values(state.roles).find((r) => r.owner)!;
  const stepDownTo = command.formerOwnerRole ?? Object.values(state.roles).find((r) => r.builtIn && !r.owner && r.active)?.id ?? '';
  const formerRole = assignableRole(state, stepDownTo);
  const orgId = state.orgId;
  return {
    org: [{ type: 'OwnershipTransferred', data: { orgId, from: state.ownerId, to: target.userId } }],
    target: [{ type: 'RoleChanged', data: { orgId, userId: target.userId, roleId: ownerRole.id, locations: null, previousRoleId: target.roleId, previousLocations: target.locations } }],
    owner: [{ type: 'RoleChanged', data: { orgId, userId: owner.userId, roleId: formerRole.id, locations: null, previousRoleId: owner.roleId, previousLocations: owner.locations } }],
  };
}
