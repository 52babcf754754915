import type { Recorded } from '../../domain/events';
import type { Actor } from '../../domain/shared/envelope';
import { directory } from '../../projections/directory';
import { MEMBERS, type MemberRow } from '../../projections/members';
import { eventLog, replay } from '../support/workspace';

/** The members list as its fold leaves it: given events → rows, no database. */
const ADA = 'ada00001-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const BOB = 'bob00002-bbbb-4bbb-8bbb-bbbbbbbbbbbb';
const ACME = 'org-acme';
const GLOBEX = 'org-globex';
const owner: Actor = { kind: 'user', id: 'u-owner' };

const iso = (event: Recorded) => event.recordedAt.toISOString();

function story() {
  const log = eventLog();
  return {
    log,
    registered: (userId: string, firstName: string, lastName: string, email: string) => log.event('UserRegistered', { userId, email, firstName, lastName, phone: '+44 20 7946 0000', username: firstName.toLowerCase() }),
    added: (orgId: string, userId: string, roleId = 'member', extra: { approval?: 'approved' | 'pending'; locations?: string[] | null } = {}) =>
      log.event('MemberAdded', { orgId, userId, roleId, locations: extra.locations ?? null, approval: extra.approval ?? 'approved', via: 'created' }),
  };
}

const rows = async (events: Recorded[]) => (await replay(directory, events)).all<MemberRow>(MEMBERS);
const row = async (events: Recorded[], orgId: string, userId: string) => (await replay(directory, events)).doc<MemberRow>(MEMBERS, `${orgId}:${userId}`);

describe('the members list, folded from events without a database (projections/members.ts)', () => {
  it("R-LIST-1 a member added shows the person's profile with role, status, approval, availability, last sign-in and dates", async () => {
    const { log, registered, added } = story();
    const person = registered(ADA, 'Ada', 'Lovelace', 'Ada@Example.com');
    const signedIn = log.event('SessionStarted', { sessionId: 's1', userId: ADA, method: 'password', startedAt: log.now, expiresAt: '2026-03-03T09:00:00.000Z' });
    const member = added(ACME, ADA, 'admin', { locations: ['london'] });

    expect(await rows([person, signedIn, member])).toEqual([
      {
        id: `${ACME}:${ADA}`,
        orgId: ACME,
        userId: ADA,
        shortId: 'ada00001',
        firstName: 'Ada',
        lastName: 'Lovelace',
        email: 'Ada@Example.com',
        phone: '+44 20 7946 0000',
        username: 'ada',
        roleId: 'admin',
        locations: ['london'],
        status: 'active',
        approval: 'approved',
        banned: false,
        availability: 'available',
        assignable: true,
        accessCode: '',
        lastSignInAt: iso(signedIn),
        lastSignInMethod: 'password',
        joinedAt: iso(member),
        createdAt: iso(person),
        updatedAt: iso(member),
        invitedAt: iso(member), // seed 000: when staff created the account
        disabledAt: '',
        disabledBy: '',
        nameKey: 'ada lovelace',
        lastNameKey: 'lovelace',
        emailKey: 'ada@example.com',
      },
    ]);
  });

  it("R-LIST-1 a profile change is copied to the person's row in every org they belong to, and to no one else's", async () => {
    const { log, registered, added } = story();
    const events = [registered(ADA, 'Ada', 'Lovelace', 'ada@example.com'), registered(BOB, 'Bob', 'Byron', 'bob@example.com'), added(ACME, ADA), added(GLOBEX, ADA), added(ACME, BOB)];
    const renamed = log.event('UserProfileUpdated', { userId: ADA, changes: { firstName: 'Augusta Ada', lastName: 'King', phone: '+44 1' } });

    const after = await rows([...events, renamed]);
    const ada = after.filter((r) => r.userId === ADA);
    expect(ada).toHaveLength(2);
    for (const r of ada) {
      expect(r).toMatchObject({ firstName: 'Augusta Ada', lastName: 'King', phone: '+44 1', email: 'ada@example.com', updatedAt: iso(renamed), nameKey: 'augusta ada king', lastNameKey: 'king' });
    }
    expect(after.find((r) => r.userId === BOB)).toMatchObject({ firstName: 'Bob', lastName: 'Byron', nameKey: 'bob byron' });
  });

  it('R-LIST-1 a null name recorded before the edge refused one folds as an empty name (R-SEC-5)', async () => {
    const { log, registered, added } = story();
    // The edge refuses null now; the log may still hold one from before.
    const nulled = log.event('UserProfileUpdated', { userId: ADA, changes: JSON.parse('{"lastName":null}') });
    expect(await row([registered(ADA, 'Ada', 'Lovelace', 'ada@example.com'), added(ACME, ADA), nulled], ACME, ADA)).toMatchObject({ lastName: '', lastNameKey: '', nameKey: 'ada' });
  });

  it('R-CRED-6 the last sign-in and its method show on every row of the person', async () => {
    const { log, registered, added } = story();
    const events = [registered(ADA, 'Ada', 'Lovelace', 'ada@example.com'), added(ACME, ADA), added(GLOBEX, ADA)];
    const signedIn = log.event('SessionStarted', { sessionId: 's2', userId: ADA, method: 'magic-link', startedAt: log.now, expiresAt: '2026-03-03T09:00:00.000Z' });
    for (const r of await rows([...events, signedIn])) expect(r).toMatchObject({ lastSignInAt: iso(signedIn), lastSignInMethod: 'magic-link' });
  });

  it('R-LIST-4 disabling access keeps who disabled it and when; enabling it again clears both', async () => {
    const { log, registered, added } = story();
    const events = [registered(ADA, 'Ada', 'Lovelace', 'ada@example.com'), added(ACME, ADA)];
    const disabled = log.event('AccessDisabled', { orgId: ACME, userId: ADA }, { actor: owner });
    expect(await row([...events, disabled], ACME, ADA)).toMatchObject({ status: 'disabled', disabledAt: iso(disabled), disabledBy: owner.id, updatedAt: iso(disabled), assignable: false });

    const enabled = log.event('AccessEnabled', { orgId: ACME, userId: ADA });
    expect(await row([...events, disabled, enabled], ACME, ADA)).toMatchObject({ status: 'active', disabledAt: '', disabledBy: '', updatedAt: iso(enabled), assignable: true });
  });

  it('R-ACC-6 a disabled, pending or banned member is not assignable; enabled, approved and unbanned again, they are', async () => {
    const { log, registered, added } = story();
    const start = [registered(ADA, 'Ada', 'Lovelace', 'ada@example.com'), added(ACME, ADA, 'member', { approval: 'pending' })];
    const assignable = async (events: Recorded[]) => (await row(events, ACME, ADA))!.assignable;

    expect(await assignable(start)).toBe(false);
    const approved = [...start, log.event('MemberApproved', { orgId: ACME, userId: ADA })];
    expect(await assignable(approved)).toBe(true);
    const banned = [...approved, log.event('UserBanned', { orgId: ACME, userId: ADA })];
    expect(await row(banned, ACME, ADA)).toMatchObject({ banned: true, assignable: false });
    const unbanned = [...banned, log.event('UserUnbanned', { orgId: ACME, userId: ADA })];
    expect(await assignable(unbanned)).toBe(true);
    const disabled = [...unbanned, log.event('AccessDisabled', { orgId: ACME, userId: ADA })];
    expect(await assignable(disabled)).toBe(false);
    const pendingAgain = [...disabled, log.event('AccessEnabled', { orgId: ACME, userId: ADA }), log.event('MemberMarkedPending', { orgId: ACME, userId: ADA })];
    expect(await row(pendingAgain, ACME, ADA)).toMatchObject({ status: 'active', approval: 'pending', assignable: false });
  });

  it('R-LIST-2 search keys are folded in the fold: lower-case and without accents, on the whole name, the last name and the email', async () => {
    const { log, registered, added } = story();
    const events = [registered(ADA, 'Zoë', 'Ñúñez-Ørsted', 'ZOE.Nunez@Example.COM'), added(ACME, ADA)];
    expect(await row(events, ACME, ADA)).toMatchObject({ firstName: 'Zoë', lastName: 'Ñúñez-Ørsted', nameKey: 'zoe nunez-orsted', lastNameKey: 'nunez-orsted', emailKey: 'zoe.nunez@example.com' });

    const renamed = log.event('UserProfileUpdated', { userId: ADA, changes: { firstName: 'ÉLODIE' } });
    expect(await row([...events, renamed], ACME, ADA)).toMatchObject({ firstName: 'ÉLODIE', nameKey: 'elodie nunez-orsted' });
  });

  it('R-LIST-2 role and locations follow a role change; no locations given is every location (an empty list)', async () => {
    const { log, registered, added } = story();
    const events = [registered(ADA, 'Ada', 'Lovelace', 'ada@example.com'), added(ACME, ADA, 'member', { locations: ['london'] })];
    const changed = log.event('RoleChanged', { orgId: ACME, userId: ADA, roleId: 'admin', locations: null, previousRoleId: 'member', previousLocations: ['london'] });
    expect(await row([...events, changed], ACME, ADA)).toMatchObject({ roleId: 'admin', locations: [], updatedAt: iso(changed) });
  });

  it('R-LIST-2 availability and the access code show on the row', async () => {
    const { log, registered, added } = story();
    const events = [
      registered(ADA, 'Ada', 'Lovelace', 'ada@example.com'),
      added(ACME, ADA),
      log.event('AvailabilityChanged', { orgId: ACME, userId: ADA, availability: 'on-call' }),
      log.event('AccessCodeAssigned', { orgId: ACME, userId: ADA, code: '482913', generated: true }),
    ];
    expect(await row(events, ACME, ADA)).toMatchObject({ availability: 'on-call', accessCode: '482913' });
  });

  it('R-LIST-4 a member who came by invitation keeps when it was sent; one created by staff was asked in when created (seed 000)', async () => {
    const { log, registered, added } = story();
    const invited = log.event('UserInvited', { invitationId: 'inv-1', orgId: ACME, email: 'ada@example.com', roleId: 'member', invitedBy: owner.id, expiresAt: '2026-03-09T09:00:00.000Z', tokenHash: 'h' });
    const person = registered(ADA, 'Ada', 'Lovelace', 'ada@example.com');
    // One append: the invitation accepted, then the membership it brings.
    const accepted = log.event('InvitationAccepted', { invitationId: 'inv-1', orgId: ACME, userId: ADA });
    const joined = log.event('MemberAdded', { orgId: ACME, userId: ADA, roleId: 'member', locations: null, approval: 'approved', via: 'invitation' });
    const elsewhere = added(GLOBEX, ADA);

    const docs = await replay(directory, [invited, person, accepted, joined, elsewhere]);
    expect(docs.doc<MemberRow>(MEMBERS, `${ACME}:${ADA}`)).toMatchObject({ invitedAt: iso(invited), joinedAt: iso(joined) });
    expect(docs.doc<MemberRow>(MEMBERS, `${GLOBEX}:${ADA}`)).toMatchObject({ invitedAt: iso(elsewhere), joinedAt: iso(elsewhere) });
  });

  it('a removed member has no row in that org; their row in another org stays, and later changes do not bring it back', async () => {
    const { log, registered, added } = story();
    const events = [registered(ADA, 'Ada', 'Lovelace', 'ada@example.com'), added(ACME, ADA), added(GLOBEX, ADA), log.event('MemberRemoved', { orgId: ACME, userId: ADA })];
    const later = [log.event('UserProfileUpdated', { userId: ADA, changes: { firstName: 'Augusta' } }), log.event('AccessDisabled', { orgId: ACME, userId: ADA })];
    expect((await rows([...events, ...later])).map((r) => [r.orgId, r.firstName])).toEqual([[GLOBEX, 'Augusta']]);
  });

  it('a member added again after leaving starts afresh', async () => {
    const { log, registered, added } = story();
    const first = [registered(ADA, 'Ada', 'Lovelace', 'ada@example.com'), added(ACME, ADA, 'admin'), log.event('AccessDisabled', { orgId: ACME, userId: ADA }), log.event('MemberRemoved', { orgId: ACME, userId: ADA })];
    const again = added(ACME, ADA, 'member');
    expect(await row([...first, again], ACME, ADA)).toMatchObject({ roleId: 'member', status: 'active', disabledAt: '', joinedAt: iso(again) });
  });
});
