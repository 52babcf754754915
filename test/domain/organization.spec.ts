import { PERMISSIONS } from '../../domain/access/permissions';
import { presetRoles, PRESETS } from '../../domain/access/roles';
import { organization, type OrganizationEvent } from '../../domain/organization/organization';
import { emailReservation, usernameReservation } from '../../domain/user/user';
import { ctx, given } from '../support/given';

describe('organization decider', () => {
  it('creates an org from a preset with exactly one Owner role holding every admin permission', () => {
    for (const preset of PRESETS) {
      const [event] = organization.decide(organization.initialState(), { type: 'CreateOrganization', orgId: 'o', name: 'N', preset, ownerId: 'u' }, { now: new Date(0), actor: { kind: 'anonymous', id: 'a' } }) as Extract<OrganizationEvent, { type: 'OrganizationCreated' }>[];
      const owners = event.data.roles.filter((r) => r.owner);
      expect(owners).toHaveLength(1);
      expect(event.data.policy.defaultRole).toBe(presetRoles(preset).defaultRole);
      for (const role of event.data.roles) for (const p of role.permissions) expect(PERMISSIONS).toContain(p);
    }
  });

  it('refuses to create the same org twice', () => {
    const created = organization.decide(organization.initialState(), { type: 'CreateOrganization', orgId: 'o', name: 'N', preset: 'team', ownerId: 'u' }, { now: new Date(0), actor: { kind: 'anonymous', id: 'a' } });
    given(organization, ...created).when({ type: 'CreateOrganization', orgId: 'o', name: 'N', preset: 'team', ownerId: 'u' }, ctx()).thenFails('org_exists');
  });

  it('R-ROLE-2 in every preset the top admin role holds every permission of the roles below it, so it can assign them', () => {
    for (const preset of PRESETS) {
      const [, top, ...below] = presetRoles(preset).roles;
      for (const role of below) expect(role.permissions.filter((p) => !top.permissions.includes(p))).toEqual([]);
    }
  });

  it('R-ACC-5 studio Staff cannot ban; Admin can', () => {
    const { roles } = presetRoles('studio');
    expect(roles.find((r) => r.id === 'staff')!.permissions).not.toContain('users.ban.any');
    expect(roles.find((r) => r.id === 'admin')!.permissions).toContain('users.ban.any');
  });
});

describe('reservations (one account per email and per username)', () => {
  it('gives an email to the first account only; the same account reserving again is a no-op', () => {
    const reserved = { type: 'EmailReserved' as const, data: { userId: 'u1' } };
    given(emailReservation).when({ type: 'Reserve', userId: 'u1' }, ctx()).then([reserved]);
    given(emailReservation, reserved).when({ type: 'Reserve', userId: 'u2' }, ctx()).thenFails('email_taken');
    given(emailReservation, reserved).when({ type: 'Reserve', userId: 'u1' }, ctx()).then([]);
  });

  it('frees a username when its holder changes it', () => {
    const reserved = { type: 'UsernameReserved' as const, data: { userId: 'u1' } };
    const released = { type: 'UsernameReleased' as const, data: { userId: 'u1' } };
    given(usernameReservation, reserved).when({ type: 'Reserve', userId: 'u2' }, ctx()).thenFails('username_taken');
    given(usernameReservation, reserved).when({ type: 'Release' }, ctx()).then([{ type: 'UsernameReleased', data: { userId: 'u1' } }]);
    given(usernameReservation, reserved, released).when({ type: 'Reserve', userId: 'u2' }, ctx()).then([{ type: 'UsernameReserved', data: { userId: 'u2' } }]);
  });
});
