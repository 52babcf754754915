import { handledBy, type Recorded } from '../../domain/events';
import type { Actor } from '../../domain/shared/envelope';
import { directory } from '../../projections/directory';
import { INVITATIONS, invitations, type InvitationRow } from '../../projections/invitations';
import { MEMBERS, members, type MemberRow } from '../../projections/members';
import { ORGS, orgs, type OrgRow } from '../../projections/orgs';
import { SESSIONS, sessions, type SessionRow } from '../../projections/sessions';
import { USERS, users, type UserDoc } from '../../projections/users';
import { eventLog, replay } from '../support/workspace';

/** The other read models of directory.v1, each its own table, as the composed fold leaves them: given events → documents, no database. */
const ADA = 'u-ada';
const BOB = 'u-bob';
const ACME = 'org-acme';
const owner: Actor = { kind: 'user', id: 'u-owner' };
const iso = (event: Recorded) => event.recordedAt.toISOString();

function story() {
  const log = eventLog();
  return {
    log,
    orgCreated: (orgId: string, name: string) => log.event('OrganizationCreated', { orgId, name, preset: 'team', ownerId: owner.id, roles: [], policy: { invitationExpiryHours: 168, defaultRole: 'member', doorAccess: false } }),
    registered: (userId: string, firstName: string) => log.event('UserRegistered', { userId, email: `${firstName.toLowerCase()}@example.com`, firstName, lastName: 'Example' }),
    added: (orgId: string, userId: string) => log.event('MemberAdded', { orgId, userId, roleId: 'member', locations: null, approval: 'approved', via: 'created' }),
  };
}

describe('directory.v1: five read models, each a reducer table, run as one projection', () => {
  it('handles exactly what its tables handle, and writes only the collections it declares', async () => {
    const tables = [members, users, invitations, orgs, sessions];
    expect(directory.name).toBe('directory.v1');
    expect([...directory.collections].sort()).toEqual([INVITATIONS, MEMBERS, ORGS, SESSIONS, USERS].sort());
    expect([...directory.handles].sort()).toEqual([...new Set(tables.flatMap((table) => handledBy(table)))].sort());
    expect(directory.handles).toHaveLength(27);
  });

  it('R-INV-2 an invitation shows as pending with email, role, inviter and expiry; resent, it expires later; revoked or accepted, it is no longer pending', async () => {
    const { log } = story();
    const invite = (invitationId: string) => log.event('UserInvited', { invitationId, orgId: ACME, email: `${invitationId}@example.com`, roleId: 'member', invitedBy: owner.id, expiresAt: '2026-03-09T09:00:00.000Z', tokenHash: 'h' });
    const sent = invite('inv-1');
    const events = [
      sent,
      invite('inv-2'),
      invite('inv-3'),
      log.event('InvitationResent', { invitationId: 'inv-1', orgId: ACME, resentBy: owner.id, expiresAt: '2026-03-12T09:00:00.000Z', tokenHash: 'h2' }),
      log.event('InvitationRevoked', { invitationId: 'inv-2', orgId: ACME, revokedBy: owner.id }),
      log.event('InvitationAccepted', { invitationId: 'inv-3', orgId: ACME, userId: ADA }),
    ];
    const rows = (await replay(directory, events)).all<InvitationRow>(INVITATIONS);
    expect(rows[0]).toEqual({ id: `${ACME}:inv-1`, orgId: ACME, invitationId: 'inv-1', email: 'inv-1@example.com', roleId: 'member', invitedBy: owner.id, invitedAt: iso(sent), expiresAt: '2026-03-12T09:00:00.000Z', status: 'pending' });
    expect(rows.map((r) => [r.invitationId, r.status])).toEqual([['inv-1', 'pending'], ['inv-2', 'revoked'], ['inv-3', 'accepted']]);
  });

  it('R-LIST-4 setup is complete when the person first chooses a password; one an admin sets does not count, a later one does not move it', async () => {
    const { log, registered } = story();
    const person = registered(ADA, 'Ada');
    const byAdmin = log.event('PasswordSet', { userId: ADA, passwordHash: 'h1', mustChange: true, by: 'admin' });
    const chosen = log.event('PasswordSet', { userId: ADA, passwordHash: 'h2', mustChange: false, by: 'setup' });
    const changedLater = log.event('PasswordSet', { userId: ADA, passwordHash: 'h3', mustChange: false, by: 'self' });

    expect((await replay(directory, [person, byAdmin])).doc<UserDoc>(USERS, ADA)).toMatchObject({ setupCompletedAt: '' });
    expect((await replay(directory, [person, byAdmin, chosen, changedLater])).doc<UserDoc>(USERS, ADA)).toMatchObject({ setupCompletedAt: iso(chosen) });
  });

  it("a person's document keeps their profile, last sign-in and orgs, which the members rows copy", async () => {
    const { log, registered, added } = story();
    const person = registered(ADA, 'Ada');
    const signedIn = log.event('SessionStarted', { sessionId: 's1', userId: ADA, method: 'google', startedAt: log.now, expiresAt: '2026-03-03T09:00:00.000Z' });
    const events = [person, added(ACME, ADA), added('org-globex', ADA), log.event('MemberRemoved', { orgId: 'org-globex', userId: ADA }), signedIn, log.event('UserProfileUpdated', { userId: ADA, changes: { phone: '+1 555' } })];
    expect((await replay(directory, events)).doc<UserDoc>(USERS, ADA)).toEqual({
      id: ADA,
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Example',
      phone: '+1 555',
      username: '',
      createdAt: iso(person),
      lastSignInAt: iso(signedIn),
      lastSignInMethod: 'google',
      orgIds: [ACME],
      setupCompletedAt: '',
      invitedAt: {},
    });
  });

  it('an org shows its name (folded for search), owner, status and how many members it has', async () => {
    const { log, orgCreated, registered, added } = story();
    const created = orgCreated(ACME, 'Ácme Élan');
    const events = [
      created,
      registered(ADA, 'Ada'),
      registered(BOB, 'Bob'),
      added(ACME, ADA),
      added(ACME, BOB),
      log.event('MemberRemoved', { orgId: ACME, userId: BOB }),
      log.event('OwnershipTransferred', { orgId: ACME, from: owner.id, to: ADA }),
      log.event('OrganizationSuspended', { orgId: ACME, reason: 'unpaid' }),
    ];
    const docs = await replay(directory, events);
    expect(docs.doc<OrgRow>(ORGS, ACME)).toEqual({ id: ACME, name: 'Ácme Élan', nameKey: 'acme elan', preset: 'team', status: 'suspended', ownerId: ADA, partnerId: '', memberCount: 1, createdAt: iso(created) });

    const reactivated = await replay(directory, [log.event('OrganizationReactivated', { orgId: ACME })], docs);
    expect(reactivated.doc<OrgRow>(ORGS, ACME)).toMatchObject({ status: 'active' });
  });

  it('R-SEC-5 a member whose person is unknown (their registration skipped as a fault) gets no row, and is not counted in the org', async () => {
    const { orgCreated, added } = story();
    const docs = await replay(directory, [orgCreated(ACME, 'Acme'), added(ACME, ADA)]);
    expect(docs.all<MemberRow>(MEMBERS)).toEqual([]);
    expect(docs.doc<OrgRow>(ORGS, ACME)).toMatchObject({ memberCount: 0 });
  });

  it('R-CRED-9 a session shows from its start until revoked, with the stream a revocation appends to', async () => {
    const { log } = story();
    const started = log.event('SessionStarted', { sessionId: 's1', userId: ADA, method: 'password', startedAt: '2026-03-02T09:00:30.000Z', expiresAt: '2026-03-02T21:00:30.000Z' }, { stream: 'session-abc123' });
    const docs = await replay(directory, [started]);
    expect(docs.doc<SessionRow>(SESSIONS, 's1')).toEqual({ id: 's1', userId: ADA, method: 'password', startedAt: '2026-03-02T09:00:30.000Z', expiresAt: '2026-03-02T21:00:30.000Z', revoked: false, stream: 'session-abc123' });
    await replay(directory, [log.event('SessionRevoked', { sessionId: 's1', userId: ADA, reason: 'logged out' })], docs);
    expect(docs.doc<SessionRow>(SESSIONS, 's1')).toMatchObject({ revoked: true });
  });
});
