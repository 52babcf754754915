import { invitation, type InvitationCommand, type InvitationEvent } from '../../domain/invitation/invitation';
import { fold } from '../../domain/shared/decider';
import { given, NOW } from '../support/given';
import { anOrg, orgCtx, OWNER_ROLE_ID } from '../support/org';

const org = anOrg();
const byOwner = orgCtx(org, 'u-owner', OWNER_ROLE_ID);
const byAdmin = orgCtx(org, 'u-admin', 'admin');

const invite = (over: Partial<Extract<InvitationCommand, { type: 'InviteUser' }>> = {}): InvitationCommand => ({
  type: 'InviteUser',
  orgId: 'o1',
  invitationId: 'inv-1',
  email: 'grace@example.com',
  tokenHash: 'hash-1',
  inviteeIsMember: false,
  ...over,
});

const invited = (expiresAt: string): InvitationEvent => ({
  type: 'UserInvited',
  data: { invitationId: 'inv-1', orgId: 'o1', email: 'grace@example.com', roleId: 'member', invitedBy: 'u-owner', expiresAt, tokenHash: 'hash-0' },
});
const pending = invited('2026-11-30T00:00:00.000Z');

describe('invitation decider', () => {
  it('R-INV-1 invites with the org default role and the policy expiry (7 days by default)', () =>
    given(invitation)
      .when(invite(), byOwner)
      .then([
        {
          type: 'UserInvited',
          data: { invitationId: 'inv-1', orgId: 'o1', email: 'grace@example.com', roleId: 'member', invitedBy: 'u-owner', expiresAt: '2026-12-02T10:00:00.000Z', tokenHash: 'hash-1' },
        },
      ]));

  it('R-INV-1 follows a shorter org policy (seed 003: 24 hours)', () => {
    const dayOrg = anOrg('team', { policy: { ...org.policy, invitationExpiryHours: 24 } });
    const [event] = invitation.decide(invitation.initialState(), invite(), orgCtx(dayOrg, 'u-owner', OWNER_ROLE_ID));
    expect(event).toMatchObject({ data: { expiresAt: '2026-11-26T10:00:00.000Z' } });
  });

  it('R-INV-3 resends a pending invitation with a new link instead of duplicating it', () =>
    given(invitation, pending)
      .when(invite({ tokenHash: 'hash-2' }), byOwner)
      .then([{ type: 'InvitationResent', data: { invitationId: 'inv-1', orgId: 'o1', resentBy: 'u-owner', expiresAt: '2026-12-02T10:00:00.000Z', tokenHash: 'hash-2' } }]));

  it('R-INV-3 invites afresh once the earlier invitation has expired', () => {
    const events = invitation.decide(fold(invitation, [invited('2026-11-25T09:59:59.000Z')]), invite(), byOwner);
    expect(events.map((e) => e.type)).toEqual(['UserInvited']);
  });

  it('R-INV-3 rejects an email that already belongs to a member', () => given(invitation).when(invite({ inviteeIsMember: true }), byOwner).thenFails('already_member'));

  it('R-ROLE-1 never offers the Owner role', () => given(invitation).when(invite({ roleId: OWNER_ROLE_ID }), byOwner).thenFails('owner_not_assignable'));

  it('R-ROLE-2 refuses a role carrying permissions the actor lacks', () => {
    const tech = orgCtx(anOrg('service-desk'), 'u-tech', 'technician');
    given(invitation).when(invite({ roleId: 'admin' }), { ...tech, access: { ...tech.access!, role: { ...tech.access!.role!, permissions: [...tech.access!.role!.permissions, 'members.invite.any'] } } }).thenFails('above_your_ceiling');
  });

  it('R-ROLE-2 lets an Admin invite an Admin (same permissions)', () => {
    expect(invitation.decide(invitation.initialState(), invite({ roleId: 'admin' }), byAdmin)).toHaveLength(1);
  });

  it('refuses an actor without members.invite.any, naming the permission', () => {
    given(invitation).when(invite(), orgCtx(org, 'u-member', 'member')).thenFails('forbidden', { permission: 'members.invite.any' });
    given(invitation).when(invite(), orgCtx(org, 'u-gone', 'admin', { status: 'disabled' })).thenFails('access_disabled');
    given(invitation).when(invite(), orgCtx(org, 'u-none', undefined)).thenFails('forbidden');
  });

  it('refuses unknown and inactive roles by name (R-ROLE-4: only active roles are assignable)', () => {
    given(invitation).when(invite({ roleId: 'wizard' }), byOwner).thenFails('unknown_role', { role: 'wizard' });
    const inactive = anOrg('team', { roles: { ...org.roles, member: { ...org.roles.member, active: false } } });
    given(invitation).when(invite(), orgCtx(inactive, 'u-owner', OWNER_ROLE_ID)).thenFails('role_inactive');
  });

  it('R-INV-2 revokes and resends pending invitations only', () => {
    given(invitation, pending).when({ type: 'RevokeInvitation' }, byAdmin).then([{ type: 'InvitationRevoked', data: { invitationId: 'inv-1', orgId: 'o1', revokedBy: 'u-admin' } }]);
    given(invitation, pending, { type: 'InvitationRevoked', data: { invitationId: 'inv-1', orgId: 'o1', revokedBy: 'u-admin' } }).when({ type: 'ResendInvitation', tokenHash: 'h' }, byAdmin).thenFails('not_found');
    given(invitation).when({ type: 'RevokeInvitation' }, byAdmin).thenFails('not_found');
  });

  it('R-INV-5 an accepted, revoked, superseded or expired invitation cannot be accepted', () => {
    const accept = { type: 'AcceptInvitation' as const, tokenHash: 'hash-0', userId: 'u-new' };
    const anon = { ...byOwner, access: undefined };
    given(invitation, pending).when(accept, anon).then([{ type: 'InvitationAccepted', data: { invitationId: 'inv-1', orgId: 'o1', userId: 'u-new' } }]);
    given(invitation, pending, { type: 'InvitationAccepted', data: { invitationId: 'inv-1', orgId: 'o1', userId: 'u-new' } }).when(accept, anon).thenFails('link_used');
    given(invitation, pending, { type: 'InvitationRevoked', data: { invitationId: 'inv-1', orgId: 'o1', revokedBy: 'u' } }).when(accept, anon).thenFails('invitation_revoked');
    given(invitation, pending).when({ ...accept, tokenHash: 'old' }, anon).thenFails('link_superseded');
    given(invitation, invited('2026-11-25T09:00:00.000Z')).when(accept, anon).thenFails('invitation_expired');
  });

  it('uses the time it is given, not a clock of its own', () => {
    const later = orgCtx(org, 'u-owner', OWNER_ROLE_ID, {}, new Date(NOW.getTime() + 3_600_000));
    const [event] = invitation.decide(invitation.initialState(), invite(), later);
    expect(event).toMatchObject({ data: { expiresAt: '2026-12-02T11:00:00.000Z' } });
  });
});
