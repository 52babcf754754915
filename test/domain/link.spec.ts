import { invitation } from '../../domain/invitation/invitation';
import { link, LINK_LIFETIME_MS, linkExpiresAt, type LinkEvent } from '../../domain/link/link';
import { IMPERSONATION_SESSION_MS, session } from '../../domain/session/session';
import { ctx, given, NOW } from '../support/given';
import { anOrg, orgCtx, OWNER_ROLE_ID } from '../support/org';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const after = (ms: number, from = NOW) => new Date(from.getTime() + ms).toISOString();
const issued = (purpose: 'setup' | 'password-reset', expiresAt: string): LinkEvent => ({ type: 'LinkIssued', data: { purpose, expiresAt, userId: 'u-bob' } });

describe('link decider: lifetimes', () => {
  it('R-CRED-2 each link lives as long as its purpose says: reset 1 h, magic link 30 min, resent setup link 24 h', () => {
    expect(LINK_LIFETIME_MS).toMatchObject({ 'password-reset': HOUR, 'magic-link': 30 * MINUTE, setup: 24 * HOUR, 'mfa-challenge': 5 * MINUTE });
    given(link).when({ type: 'IssueLink', purpose: 'password-reset', userId: 'u-bob' }, ctx()).then([issued('password-reset', after(HOUR))]);
    given(link).when({ type: 'IssueLink', purpose: 'setup', userId: 'u-bob' }, ctx()).then([issued('setup', after(24 * HOUR))]);
    expect(link.decide(link.initialState(), { type: 'IssueLink', purpose: 'magic-link', userId: 'u-bob' }, ctx())).toMatchObject([{ data: { expiresAt: after(30 * MINUTE) } }]);
  });

  it('R-CRED-2 R-INV-1 an invitation link lives as long as the org policy says, and so does a new account\'s first setup link', () => {
    const policy = { invitationExpiryHours: 24 };
    expect(link.decide(link.initialState(), { type: 'IssueLink', purpose: 'invitation', orgId: 'o1', invitationId: 'inv-1', asInvitation: policy }, ctx())).toMatchObject([{ data: { expiresAt: after(24 * HOUR) } }]);
    given(link).when({ type: 'IssueLink', purpose: 'setup', userId: 'u-bob', asInvitation: { invitationExpiryHours: 72 } }, ctx()).then([issued('setup', after(72 * HOUR))]);
  });

  it('R-INV-1 the invitation and its link expire together', () => {
    const org = anOrg('team', { policy: { ...anOrg().policy, invitationExpiryHours: 48 } });
    const [invited] = invitation.decide(invitation.initialState(), { type: 'InviteUser', orgId: 'o1', invitationId: 'inv-1', email: 'grace@example.com', tokenHash: 'h', inviteeIsMember: false }, orgCtx(org, 'u-owner', OWNER_ROLE_ID));
    const [linked] = link.decide(link.initialState(), { type: 'IssueLink', purpose: 'invitation', orgId: 'o1', invitationId: 'inv-1', asInvitation: org.policy }, ctx());
    expect(invited).toMatchObject({ type: 'UserInvited', data: { expiresAt: after(48 * HOUR) } });
    expect(linked.data).toMatchObject({ expiresAt: after(48 * HOUR) });
  });

  it('R-CRED-2 R-SEC-3 a link asked for by email lives from the moment it was asked for', () => {
    const askedAt = new Date(NOW.getTime() - 10 * MINUTE);
    given(link).when({ type: 'IssueLink', purpose: 'password-reset', userId: 'u-bob', askedAt: askedAt.toISOString() }, ctx()).then([issued('password-reset', after(50 * MINUTE))]);
    expect(linkExpiresAt({ purpose: 'magic-link' }, askedAt)).toBe(after(20 * MINUTE));
  });

  it('R-CRED-2 the emailed copy carries the same expiry', () =>
    given(link)
      .when({ type: 'IssueLink', purpose: 'password-reset', userId: 'u-bob', delivery: { to: 'bob@example.com', sealedToken: 'sealed' } }, ctx())
      .then([issued('password-reset', after(HOUR)), { type: 'LinkEmailRequested', data: { purpose: 'password-reset', expiresAt: after(HOUR), userId: 'u-bob', to: 'bob@example.com', sealedToken: 'sealed' } }]));

  it('R-INV-5 a link is refused once its life is over', () =>
    given(link, issued('password-reset', NOW.toISOString())).when({ type: 'UseLink', purposes: ['password-reset'] }, ctx()).thenFails('link_expired'));
});

describe('session decider: lifetimes', () => {
  const start = { type: 'StartSession' as const, sessionId: 's1', userId: 'u-bob', method: 'password' as const, ttlMs: 12 * HOUR };

  it('a session lives as long as the setting it is given', () =>
    given(session).when(start, ctx()).then([{ type: 'SessionStarted', data: { sessionId: 's1', userId: 'u-bob', method: 'password', startedAt: NOW.toISOString(), expiresAt: after(12 * HOUR) } }]));

  it('R-IMP-1 an impersonation session lives 30 minutes, whatever the setting', () => {
    const impersonation = { impersonatorId: 'u-admin', orgId: 'o1' };
    expect(IMPERSONATION_SESSION_MS).toBe(30 * MINUTE);
    given(session)
      .when({ ...start, method: 'impersonation', impersonation }, ctx())
      .then([
        { type: 'SessionStarted', data: { sessionId: 's1', userId: 'u-bob', method: 'impersonation', startedAt: NOW.toISOString(), expiresAt: after(30 * MINUTE), impersonation } },
        { type: 'ImpersonationStarted', data: { sessionId: 's1', userId: 'u-bob', ...impersonation, expiresAt: after(30 * MINUTE) } },
      ]);
  });
});
