import { accessOf } from '../../domain/access/access';
import { OWNER_ROLE_ID } from '../../domain/access/roles';
import { invitation, type InvitationEvent, type InviteUser } from '../../domain/invitation/invitation';
import { fold } from '../../domain/shared/decider';
import { organization, type OrganizationEvent } from '../../domain/organization/organization';
import { ctx, given, NOW } from '../support/given';

const org = fold(organization, [
  organization.decide(organization.initialState(), { type: 'CreateOrganization', orgId: 'o1', name: 'Acme', preset: 'team', ownerId: 'u-owner' }, ctx())[0] as OrganizationEvent,
]);
const owner = accessOf(org, { userId: 'u-owner', roleId: OWNER_ROLE_ID, status: 'active' });
const admin = accessOf(org, { userId: 'u-admin', roleId: 'admin', status: 'active' });
const member = accessOf(org, { userId: 'u-member', roleId: 'member', status: 'active' });
const disabledAdmin = accessOf(org, { userId: 'u-gone', roleId: 'admin', status: 'disabled' });

const invite = (over: Partial<InviteUser> = {}, facts: Partial<InviteUser['facts']> = {}): InviteUser => ({
  type: 'InviteUser',
  orgId: 'o1',
  invitationId: 'inv-1',
  email: 'grace@example.com',
  tokenHash: 'hash-1',
  facts: { org, actor: owner, inviteeIsMember: false, ...facts },
  ...over,
});

const invited = (expiresAt: string): InvitationEvent => ({
  type: 'UserInvited',
  data: { invitationId: 'inv-0', orgId: 'o1', email: 'grace@example.com', roleId: 'member', invitedBy: 'u-owner', expiresAt, tokenHash: 'hash-0' },
});

describe('invitation decider', () => {
  it('R-INV-1 invites with the org default role and the policy expiry (7 days by default)', () =>
    given(invitation)
      .when(invite(), ctx('u-owner'))
      .then([
        {
          type: 'UserInvited',
          data: { invitationId: 'inv-1', orgId: 'o1', email: 'grace@example.com', roleId: 'member', invitedBy: 'u-owner', expiresAt: '2026-12-02T10:00:00.000Z', tokenHash: 'hash-1' },
        },
      ]));

  it('R-INV-1 follows a shorter org policy (seed 003: 24 hours)', () => {
    const dayOrg = { ...org, policy: { ...org.policy, invitationExpiryHours: 24 } };
    const [event] = invitation.decide(invitation.initialState(), invite({}, { org: dayOrg }), ctx());
    expect(event.data.expiresAt).toBe('2026-11-26T10:00:00.000Z');
  });

  it('R-INV-3 resends a pending invitation with a new link instead of duplicating it', () =>
    given(invitation, invited('2026-11-30T00:00:00.000Z'))
      .when(invite({ tokenHash: 'hash-2' }))
      .then([{ type: 'InvitationResent', data: { invitationId: 'inv-0', orgId: 'o1', resentBy: 'u-owner', expiresAt: '2026-12-02T10:00:00.000Z', tokenHash: 'hash-2' } }]));

  it('R-INV-3 invites afresh once the earlier invitation has expired', () => {
    const events = invitation.decide(fold(invitation, [invited('2026-11-25T09:59:59.000Z')]), invite(), ctx());
    expect(events.map((e) => e.type)).toEqual(['UserInvited']);
    expect(events[0].data.invitationId).toBe('inv-1');
  });

  it('R-INV-3 rejects an email that already belongs to a member', () =>
    given(invitation).when(invite({}, { inviteeIsMember: true })).thenFails('already_member'));

  it('R-ROLE-1 never offers the Owner role', () => given(invitation).when(invite({ roleId: OWNER_ROLE_ID })).thenFails('owner_not_assignable'));

  it('R-ROLE-2 refuses a role carrying permissions the actor lacks', () =>
    given(invitation)
      .when(invite({ roleId: 'admin' }, { actor: { ...admin, permissions: new Set([...admin.permissions].filter((p) => p !== 'audit.read.any')) } }))
      .thenFails('role_above_ceiling', { missing: ['audit.read.any'] }));

  it('R-ROLE-2 lets an Admin invite an Admin (same permissions)', () => {
    expect(invitation.decide(invitation.initialState(), invite({ roleId: 'admin' }, { actor: admin }), ctx('u-admin'))).toHaveLength(1);
  });

  it('refuses an actor without members.invite.any, naming the permission', () => {
    given(invitation).when(invite({}, { actor: member })).thenFails('forbidden', { permission: 'members.invite.any' });
    given(invitation).when(invite({}, { actor: disabledAdmin })).thenFails('forbidden');
    given(invitation).when(invite({}, { actor: undefined })).thenFails('forbidden');
  });

  it('refuses unknown and inactive roles by name', () => {
    given(invitation).when(invite({ roleId: 'wizard' })).thenFails('unknown_role', { role: 'wizard' });
    const inactive = { ...org, roles: { ...org.roles, member: { ...org.roles.member, active: false } } };
    given(invitation).when(invite({}, { org: inactive })).thenFails('role_inactive');
  });

  it('uses the time it is given, not a clock of its own', () => {
    const later = new Date(NOW.getTime() + 3_600_000);
    const [event] = invitation.decide(invitation.initialState(), invite(), ctx('u-owner', later));
    expect(event.data.expiresAt).toBe('2026-12-02T11:00:00.000Z');
  });
});
