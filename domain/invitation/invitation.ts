import { assignableRole, requireCeiling, requirePermission } from '../access/access';
import { invitationExpiresAt } from '../link/link';
import type { OrgContext } from '../organization/organization';
import type { Decider, DomainEvent } from '../shared/decider';
import { DomainError, NotFound } from '../shared/errors';

/**
 * One stream per (org, invitee email), and the invitation's id is that email's
 * key: at most one pending invitation each, by construction (R-INV-3).
 */
export const invitationStream = (orgId: string, invitationId: string) => `invitation-${orgId}-${invitationId}`;

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
  | DomainEvent<'InvitationResent', { invitationId: string; orgId: string; resentBy: string; expiresAt: string; tokenHash: string }>
  | DomainEvent<'InvitationRevoked', { invitationId: string; orgId: string; revokedBy: string }>
  | DomainEvent<'InvitationAccepted', { invitationId: string; orgId: string; userId: string }>;

export type InvitationCommand =
  | {
      type: 'InviteUser';
      orgId: string;
      invitationId: string;
      email: string;
      roleId?: string;
      firstName?: string;
      lastName?: string;
      /** Hash of the single-use link token made at the edge (R-CRED-2). */
      tokenHash: string;
      inviteeIsMember: boolean;
    }
  | { type: 'ResendInvitation'; tokenHash: string }
  | { type: 'RevokeInvitation' }
  | { type: 'AcceptInvitation'; tokenHash: string; userId: string };

export interface Invitation {
  status: 'none' | 'pending' | 'accepted' | 'revoked';
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

export const initialInvitation = (): Invitation => ({
  status: 'none',
  invitationId: '',
  orgId: '',
  email: '',
  roleId: '',
  invitedBy: '',
  expiresAt: '',
  tokenHash: '',
});

/** R-INV-1: an invitation sent (or sent again) now lives as long as the org's policy says; its link with it. */
const expiryFrom = (ctx: OrgContext) => invitationExpiresAt(ctx.org.policy, ctx.now);

export function decide(state: Invitation, command: InvitationCommand, ctx: OrgContext): InvitationEvent[] {
  const now = ctx.now.toISOString();
  switch (command.type) {
    case 'InviteUser': {
      const access = requirePermission(ctx.access, 'members.invite.any', ctx);
      const role = assignableRole(ctx.org, command.roleId ?? ctx.org.policy.defaultRole);
      requireCeiling(access, role.permissions, null, ctx.now);
      if (command.inviteeIsMember) throw new DomainError('already_member', 'this email already belongs to a member of the organization');
      const expiresAt = expiryFrom(ctx);
      if (state.status === 'pending' && state.expiresAt > now) {
        return [{ type: 'InvitationResent', data: { invitationId: state.invitationId, orgId: state.orgId, resentBy: ctx.actor.id, expiresAt, tokenHash: command.tokenHash } }];
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
            invitedBy: ctx.actor.id,
            expiresAt,
            tokenHash: command.tokenHash,
          },
        },
      ];
    }
    case 'ResendInvitation': {
      if (state.status !== 'pending') throw new NotFound('invitation');
      requirePermission(ctx.access, 'members.invite.any', ctx);
      return [{ type: 'InvitationResent', data: { invitationId: state.invitationId, orgId: state.orgId, resentBy: ctx.actor.id, expiresAt: expiryFrom(ctx), tokenHash: command.tokenHash } }];
    }
    case 'RevokeInvitation': {
      if (state.status !== 'pending') throw new NotFound('invitation');
      requirePermission(ctx.access, 'members.invite.any', ctx);
      return [{ type: 'InvitationRevoked', data: { invitationId: state.invitationId, orgId: state.orgId, revokedBy: ctx.actor.id } }];
    }
    case 'AcceptInvitation': {
      // R-INV-5: each dead link says why, and changes nothing.
      if (state.status === 'none') throw new DomainError('link_invalid', 'this invitation link is not valid');
      if (state.status === 'revoked') throw new DomainError('invitation_revoked', 'this invitation was revoked');
      if (state.status === 'accepted') throw new DomainError('link_used', 'this invitation was already accepted');
      if (state.tokenHash !== command.tokenHash) throw new DomainError('link_superseded', 'a newer invitation link was sent; use that one');
      if (state.expiresAt <= now) throw new DomainError('invitation_expired', 'this invitation has expired; ask for a new one');
      return [{ type: 'InvitationAccepted', data: { invitationId: state.invitationId, orgId: state.orgId, userId: command.userId } }];
    }
  }
}

export function evolve(state: Invitation, event: InvitationEvent): Invitation {
  switch (event.type) {
    case 'UserInvited': {
      const { tokenHash, ...rest } = event.data;
      return { ...initialInvitation(), ...rest, tokenHash, status: 'pending' };
    }
    case 'InvitationResent':
      return { ...state, expiresAt: event.data.expiresAt, tokenHash: event.data.tokenHash };
    case 'InvitationRevoked':
      return { ...state, status: 'revoked' };
    case 'InvitationAccepted':
      return { ...state, status: 'accepted' };
    default:
      return state;
  }
}

export const invitation: Decider<Invitation, InvitationCommand, InvitationEvent, OrgContext> = { initialState: initialInvitation, decide, evolve };
