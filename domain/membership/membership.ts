import type { Context, Decider, DomainEvent } from '../shared/decider';
import { DomainError } from '../shared/errors';

export const membershipStream = (orgId: string, userId: string) => `member-${orgId}-${userId}`;

export type MembershipEvent = DomainEvent<
  'MemberAdded',
  { orgId: string; userId: string; roleId: string; approval: 'approved' | 'pending'; via: 'owner' | 'invitation' | 'created' | 'existing' }
>;

export interface AddMember {
  type: 'AddMember';
  orgId: string;
  userId: string;
  roleId: string;
  via: MembershipEvent['data']['via'];
}

export type MembershipCommand = AddMember;

export interface Membership {
  exists: boolean;
  orgId: string;
  userId: string;
  roleId: string;
  status: 'active' | 'disabled';
}

export const membership: Decider<Membership, MembershipCommand, MembershipEvent> = {
  initialState: () => ({ exists: false, orgId: '', userId: '', roleId: '', status: 'active' }),
  decide(state, command, _context: Context) {
    switch (command.type) {
      case 'AddMember': {
        if (state.exists) throw new DomainError('already_member', 'this user is already a member of the organization');
        const { orgId, userId, roleId, via } = command;
        return [{ type: 'MemberAdded', data: { orgId, userId, roleId, approval: 'approved', via } }];
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'MemberAdded':
        return { exists: true, orgId: event.data.orgId, userId: event.data.userId, roleId: event.data.roleId, status: 'active' };
      default:
        return state;
    }
  },
};
