import { managesAccount } from '../../domain/access/access';
import { fold } from '../../domain/shared/decider';
import { DomainError } from '../../domain/shared/errors';
import { membership, requireCredentialsAuthority, requireProfileAuthority, type MembershipEvent } from '../../domain/membership/membership';
import { eventRegistry } from '../../domain/events';
import { anOrg, orgCtx } from '../support/org';

const team = anOrg('team'); // orgId o1
const joined: MembershipEvent = { type: 'MemberAdded', data: { orgId: 'o1', userId: 'u-bob', roleId: 'member', locations: null, approval: 'approved', via: 'existing' } };
const bob = fold(membership, [joined]);
const admin = orgCtx(team, 'u-admin', 'admin');
const codeOf = (run: () => void) => {
  try {
    run();
    return 'allowed';
  } catch (error) {
    return (error as DomainError).code;
  }
};

describe('R-SEC-4 who manages an account', () => {
  it('the managing org, the partner admins of a partner account, and system admins; nobody else', () => {
    expect(managesAccount({ orgId: 'o1' }, { orgId: 'o1' }, undefined)).toBe(true);
    expect(managesAccount({ orgId: 'o2' }, { orgId: 'o1' }, undefined)).toBe(false);
    expect(managesAccount({ orgId: 'o2' }, { orgId: 'o1' }, { systemAdmin: true, partnerAdmin: false })).toBe(true);
    expect(managesAccount({ partnerId: 'p1' }, { orgId: 'o1', partnerId: 'p1' }, { systemAdmin: false, partnerAdmin: true })).toBe(true);
    expect(managesAccount({ partnerId: 'p1' }, { orgId: 'o1', partnerId: 'p1' }, { systemAdmin: false, partnerAdmin: false })).toBe(false);
    expect(managesAccount({ partnerId: 'p1' }, { orgId: 'o1', partnerId: 'p2' }, { systemAdmin: false, partnerAdmin: true })).toBe(false);
    expect(managesAccount(undefined, { orgId: 'o1' }, undefined)).toBe(false);
  });

  it('credentials and profile of an account managed elsewhere are refused; the membership is not', () => {
    expect(codeOf(() => requireCredentialsAuthority(bob, { managedBy: { orgId: 'o2' } }, admin))).toBe('account_managed_elsewhere');
    expect(codeOf(() => requireProfileAuthority(bob, { managedBy: { orgId: 'o2' } }, admin))).toBe('account_managed_elsewhere');
    expect(codeOf(() => requireCredentialsAuthority(bob, { managedBy: { orgId: 'o1' } }, admin))).toBe('allowed');
    expect(codeOf(() => membership.decide(bob, { type: 'UpdateNotes', notes: 'ok' }, admin))).toBe('allowed');
  });

  it('R-IMP-1 nothing of the kind from an impersonation session', () => {
    const impersonating = { ...admin, realActor: { kind: 'user' as const, id: 'u-real' } };
    expect(codeOf(() => requireCredentialsAuthority(bob, { managedBy: { orgId: 'o1' } }, impersonating))).toBe('not_while_impersonating');
  });

  it('an account registered before managers existed is managed by the org its registration was recorded in (upcast v1 → v2)', () => {
    const registry = eventRegistry();
    const data = { userId: 'u-bob', email: 'bob@example.com', firstName: 'B', lastName: 'O' };
    expect(registry.upcast('UserRegistered', 1, data, { orgId: 'o1' })).toEqual({ version: 2, data: { ...data, managedBy: { orgId: 'o1' } } });
    expect(registry.upcast('UserRegistered', 1, data, {})).toEqual({ version: 2, data });
  });
});
