import { partner, requireOrgOfPartner } from '../../domain/partner/partner';
import { ctx, given } from '../support/given';

const created = { type: 'PartnerCreated' as const, data: { partnerId: 'p1', name: 'Resellers', createdBy: 'admin' } };
const admin = { type: 'PartnerAdminAdded' as const, data: { partnerId: 'p1', userId: 'admin' } };

describe('partners', () => {
  it('R-SYS-2 a partner admin places a person in its orgs, as a partner admin too when asked, once', () => {
    given(partner, created, admin).when({ type: 'PlacePartnerUser', userId: 'u1', admin: false }, ctx('admin')).then([]);
    given(partner, created, admin)
      .when({ type: 'PlacePartnerUser', userId: 'u1', admin: true }, ctx('admin'))
      .then([{ type: 'PartnerAdminAdded', data: { partnerId: 'p1', userId: 'u1' } }]);
    given(partner, created, admin).when({ type: 'PlacePartnerUser', userId: 'admin', admin: true }, ctx('admin')).then([]);
  });

  it('R-SYS-2 R-SEC-1 only its admins place people through a partner, and to others it does not exist', () => {
    given(partner, created, admin).when({ type: 'PlacePartnerUser', userId: 'u1', admin: false }, ctx('stranger')).thenFails('not_found');
    given(partner).when({ type: 'PlacePartnerUser', userId: 'u1', admin: false }, ctx('admin')).thenFails('not_found');
  });

  it('R-SEC-1 an org outside the partner is not found through it', () => {
    expect(() => requireOrgOfPartner({ partnerId: 'p2' }, 'p1')).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => requireOrgOfPartner({}, 'p1')).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => requireOrgOfPartner({ partnerId: 'p1' }, 'p1')).not.toThrow();
  });
});
