import { PERMISSIONS } from '../../domain/access/permissions';
import { presetRoles, PRESETS } from '../../domain/access/roles';
import { organization } from '../../domain/organization/organization';
import { emailReservation, type EmailEvent } from '../../domain/user/user';
import { given } from '../support/given';

describe('organization decider', () => {
  it('creates an org from a preset with exactly one Owner role holding every admin permission', () => {
    for (const preset of PRESETS) {
      const [event] = organization.decide(organization.initialState(), { type: 'CreateOrganization', orgId: 'o', name: 'N', preset, ownerId: 'u' }, { now: new Date(0), actor: { kind: 'anonymous', id: 'a' } });
      const owners = event.data.roles.filter((r) => r.owner);
      expect(owners).toHaveLength(1);
      expect(event.data.policy.defaultRole).toBe(presetRoles(preset).defaultRole);
      for (const role of event.data.roles) for (const p of role.permissions) expect(PERMISSIONS).toContain(p);
    }
  });

  it('refuses to create the same org twice', () => {
    const created = organization.decide(organization.initialState(), { type: 'CreateOrganization', orgId: 'o', name: 'N', preset: 'team', ownerId: 'u' }, { now: new Date(0), actor: { kind: 'anonymous', id: 'a' } });
    given(organization, ...created).when({ type: 'CreateOrganization', orgId: 'o', name: 'N', preset: 'team', ownerId: 'u' }).thenFails('org_exists');
  });

  it('R-ACC-5 studio Staff cannot ban; Admin can', () => {
    const { roles } = presetRoles('studio');
    expect(roles.find((r) => r.id === 'staff')!.permissions).not.toContain('users.ban.any');
    expect(roles.find((r) => r.id === 'admin')!.permissions).toContain('users.ban.any');
  });
});

describe('email reservation', () => {
  const reserved: EmailEvent = { type: 'EmailReserved', data: { userId: 'u1' } };
  it('gives an email to the first account only', () => {
    given(emailReservation).when({ type: 'ReserveEmail', userId: 'u1' }).then([reserved]);
    given(emailReservation, reserved).when({ type: 'ReserveEmail', userId: 'u2' }).thenFails('email_taken');
  });
});
