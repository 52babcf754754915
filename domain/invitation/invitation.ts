import { assignableRole, requireCeiling, requirePermission, type MemberAccess } from '../access/access';
import type { Organization } from '../organization/organization';
import type { Context, Decider, DomainEvent } from '../shared/decider';
import { DomainError, NotFound } from '../shared/errors';

/** One stream per (org, invitee email): at most one pending invitation each, by construction (R-INV-3). */
export const invitationStream = (orgId: string, emailKey: string) => `invitation-${orgId}-${emailKey}`;

const HOUR_MS = 3_600_000;

export type InvitationEvent =
  | DomainEvent<
      'UserInvited',
      {
        invitationId: string;
        orgId: string;
        email: string;
        roleId: string;
        firstName?: string;
        lastName?: string;
        invitedBy: string;
        expiresAt: string;
        tokenHash: string;
      }
    >
  | DomainEvent<'InvitationResent', { invitationId: string; orgId: string; resentBy: string; expiresAt: string; tokenHash: string }>;

/** Facts from other streams that the decision needs, gathered by the handler from the write side. */
export interface InviteFacts {
  org: Organization;
  actor: MemberAccess | undefined;
  inviteeIsMember: boolean;
}

export interface InviteUser {
  type: 'InviteUser';
  orgId: string;
  invitationId: string;
  email: string;
  roleId?: string;
  firstName?: string;
  lastName?: string;
  /** Hash of the single-use link token made at the edge (R-CRED-2). */
  tokenHash: string;
  facts: InviteFacts;
}

export type InvitationCommand = InviteUser;

export interface Invitation {
  status: 'none' | 'pending' | 'accepted' | 'revoked';
  invitationId: string;
  expiresAt: string;
}

export const invitation: Decider<Invitation, InvitationCommand, InvitationEvent> = {
  initialState: () => ({ status: 'none', invitationId: '', expiresAt: '' }),

  decide(state, command, context: Context) {
    const { org, actor, inviteeIsMember } = command.facts;
    if (!org.exists || org.status === 'deleted') throw new NotFound('organization');
    const access = requirePermission(actor, 'members.invite.any');
    const role = assignableRole(org, command.roleId ?? org.policy.defaultRole);
    requireCeiling(access, role);
    if (inviteeIsMember) throw new DomainError('already_member', 'this email already belongs to a member of the organization');

    const expiresAt = new Date(context.now.getTime() + org.policy.invitationExpiryHours * HOUR_MS).toISOString();
    const stillPending = state.status === 'pending' && state.expiresAt > context.now.toISOString();
    if (stillPending) {
      return [
        {
          type: 'InvitationResent',
          data: { invitationId: state.invitationId, orgId: command.orgId, resentBy: access.userId, expiresAt, tokenHash: command.tokenHash },
        },
      ];
    }
    return [
      {
        type: 'UserInvited',
        data: {
          invitationId: command.invitationId,
          orgId: command.orgId,
          email: command.email,
          roleId: role.id,
          ...(command.firstName ? { firstName: command.firstName } : {}),
          ...(command.lastName ? { lastName: command.lastName } : {}),
          invitedBy: access.userId,
          expiresAt,
          tokenHash: command.tokenHash,
        },
      },
    ];
  },

  evolve(state, event) {
    switch (event.type) {
      case 'UserInvited':
        return { status: 'pending', invitationId: event.data.invitationId, expiresAt: event.data.expiresAt };
      case 'InvitationResent':
        return { ...state, expiresAt: event.data.expiresAt };
      default:
        return state;
    }
  },
};
