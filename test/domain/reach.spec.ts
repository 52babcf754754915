import { reachOf, requireSignupAllowed, type ReachFacts } from '../../domain/access/access';
import { serviceAccess } from '../../domain/servicekey/servicekey';
import { DomainError } from '../../domain/shared/errors';
import { anOrg, OWNER_ROLE_ID, standing } from '../support/org';

const org = anOrg('team'); // o1
const partnerOrg = anOrg('partner', { orgId: 'o2', partnerId: 'p1' });
const nobody = { systemAdmin: false, partnerAdmin: false };
const user = (id = 'u-1') => ({ kind: 'user' as const, id });
const member = (over: Partial<ReturnType<typeof standing>> = {}) => ({ ...standing('u-1', 'admin', over), exists: true });
const codeOf = (facts: ReachFacts) => {
  try {
    const { via, access } = reachOf(facts);
    return `${via}:${access?.roleId ?? '-'}`;
  } catch (error) {
    return (error as DomainError).code;
  }
};

describe('the one access decision: how an actor reaches an org', () => {
  it('R-SEC-1 no way in answers as if the org did not exist', () => {
    expect(codeOf({ actor: user(), org, standing: nobody })).toBe('not_found');
    expect(codeOf({ actor: user(), org: { ...org, exists: false }, standing: nobody })).toBe('not_found');
    expect(codeOf({ actor: user(), org: { ...org, status: 'deleted' }, membership: member(), standing: nobody })).toBe('not_found');
  });

  it('R-ACC-1 a disabled member is refused with access_disabled, reads included', () => {
    expect(codeOf({ actor: user(), org, membership: member({ status: 'disabled' }), standing: nobody })).toBe('access_disabled');
    expect(codeOf({ actor: user(), org, membership: member(), standing: nobody })).toBe('membership:admin');
  });

  it('R-ACC-7 a suspended org is closed to its members and keys, hidden from strangers, open to system admins', () => {
    const suspended = { ...org, status: 'suspended' as const };
    expect(codeOf({ actor: user(), org: suspended, membership: member(), standing: nobody })).toBe('org_suspended');
    expect(codeOf({ actor: user(), org: suspended, standing: nobody })).toBe('not_found');
    expect(codeOf({ actor: user(), org: suspended, standing: { systemAdmin: true, partnerAdmin: false } })).toBe(`system-admin:${OWNER_ROLE_ID}`);
  });

  it('R-SYS-2 a partner admin reaches the partner’s orgs with the Partner Admin role; R-SYS-1 a system admin as the Owner would, without owning', () => {
    expect(codeOf({ actor: user(), org: partnerOrg, standing: { systemAdmin: false, partnerAdmin: true } })).toBe('partner:partner-admin');
    const asAdmin = reachOf({ actor: user(), org, standing: { systemAdmin: true, partnerAdmin: false } });
    expect(asAdmin.access).toMatchObject({ roleId: OWNER_ROLE_ID, owner: false });
  });

  it('a service key reaches only its own org', () => {
    const key = { orgId: 'o1', access: serviceAccess({ exists: true, keyId: 'k1', orgId: 'o1', name: 'svc', permissions: ['users.list.any'], secretHash: 'h', revoked: false }) };
    expect(codeOf({ actor: { kind: 'service', id: 'k1' }, org, serviceKey: key, standing: nobody })).toBe('service-key:service:k1');
    expect(codeOf({ actor: { kind: 'service', id: 'k1' }, org: partnerOrg, serviceKey: key, standing: nobody })).toBe('not_found');
    // R-SEC-1: a key of another org learns nothing of this one, suspended or not.
    expect(codeOf({ actor: { kind: 'service', id: 'k1' }, org: { ...partnerOrg, status: 'suspended' }, serviceKey: key, standing: nobody })).toBe('not_found');
    expect(codeOf({ actor: { kind: 'service', id: 'k1' }, org: { ...org, status: 'suspended' }, serviceKey: key, standing: nobody })).toBe('org_suspended');
  });

  it('one signup policy: open lets anyone create an org and any signed-in person a partner; closed, system admins only', () => {
    const allowed = (signup: 'open' | 'closed', signedIn: boolean, systemAdmin: boolean, what: 'organization' | 'partner') => {
      try {
        requireSignupAllowed(signup, { signedIn, systemAdmin }, what);
        return true;
      } catch {
        return false;
      }
    };
    expect([allowed('open', false, false, 'organization'), allowed('open', true, false, 'partner'), allowed('open', false, false, 'partner')]).toEqual([true, true, false]);
    expect([allowed('closed', true, false, 'organization'), allowed('closed', true, true, 'organization'), allowed('closed', true, true, 'partner')]).toEqual([false, true, true]);
  });
});
