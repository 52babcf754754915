import type { Recorded } from '../../domain/events';
import type { Actor } from '../../domain/shared/envelope';
import { PERMISSION_HISTORY, permissionHistory, type PermissionHistoryEntry } from '../../projections/permission-history';
import { eventLog, replay } from '../support/workspace';

/** The audit trail as its fold leaves it: given events → entries, no database. */
const ADA = 'u-ada';
const ACME = 'org-acme';
const owner: Actor = { kind: 'user', id: 'u-owner' };
const sweeper: Actor = { kind: 'system', id: 'grant-expiry' };

const iso = (event: Recorded) => event.recordedAt.toISOString();
const seq = (event: Recorded) => event.position.toString().padStart(20, '0');
const history = async (events: Recorded[]) => (await replay(permissionHistory, events)).all<PermissionHistoryEntry>(PERMISSION_HISTORY).sort((a, b) => a.seq.localeCompare(b.seq));

describe('the permission history, folded from events without a database (projections/permission-history.ts)', () => {
  it('R-ROLE-7 the role a member is added with, then every role change with the role before it, each with actor and time', async () => {
    const log = eventLog();
    const added = log.event('MemberAdded', { orgId: ACME, userId: ADA, roleId: 'member', locations: ['london', 'leeds'], approval: 'approved', via: 'invitation' }, { actor: owner });
    const changed = log.event('RoleChanged', { orgId: ACME, userId: ADA, roleId: 'admin', locations: null, previousRoleId: 'member', previousLocations: ['london', 'leeds'] }, { actor: owner });

    expect(await history([added, changed])).toEqual([
      { id: added.eventId, orgId: ACME, userId: ADA, kind: 'role-set', roleId: 'member', locations: ['london', 'leeds'], actor: owner, at: iso(added), seq: seq(added) },
      // No locations is every location: kept as null, not left out.
      { id: changed.eventId, orgId: ACME, userId: ADA, kind: 'role-changed', roleId: 'admin', previousRoleId: 'member', locations: null, actor: owner, at: iso(changed), seq: seq(changed) },
    ]);
  });

  it('R-ROLE-7 a grant given, with its location, expiry and reason; a grant revoked', async () => {
    const log = eventLog();
    const given = log.event('PermissionGranted', { orgId: ACME, userId: ADA, grantId: 'g1', permission: 'users.list.any', location: 'london', expiresAt: '2026-04-01T00:00:00.000Z', reason: 'covering for Bob', grantedBy: owner.id, grantedAt: log.now }, { actor: owner });
    const forever = log.event('PermissionGranted', { orgId: ACME, userId: ADA, grantId: 'g2', permission: 'invitations.send', reason: 'onboarding', grantedBy: owner.id, grantedAt: log.now }, { actor: owner });
    const revoked = log.event('PermissionRevoked', { orgId: ACME, userId: ADA, grantId: 'g2', permission: 'invitations.send' }, { actor: owner });

    expect(await history([given, forever, revoked])).toEqual([
      { id: given.eventId, orgId: ACME, userId: ADA, kind: 'grant-given', grantId: 'g1', permission: 'users.list.any', location: 'london', expiresAt: '2026-04-01T00:00:00.000Z', reason: 'covering for Bob', actor: owner, at: iso(given), seq: seq(given) },
      // Absent fields are left out, not stored as empty.
      { id: forever.eventId, orgId: ACME, userId: ADA, kind: 'grant-given', grantId: 'g2', permission: 'invitations.send', reason: 'onboarding', actor: owner, at: iso(forever), seq: seq(forever) },
      { id: revoked.eventId, orgId: ACME, userId: ADA, kind: 'grant-revoked', grantId: 'g2', permission: 'invitations.send', actor: owner, at: iso(revoked), seq: seq(revoked) },
    ]);
  });

  it('R-ROLE-7 an expired grant keeps when it expired (expiredAt), beside when the sweep recorded it', async () => {
    const log = eventLog();
    const expiresAt = '2026-03-02T09:30:00.000Z';
    const given = log.event('PermissionGranted', { orgId: ACME, userId: ADA, grantId: 'g1', permission: 'users.list.any', expiresAt, reason: 'half an hour', grantedBy: owner.id, grantedAt: log.now }, { actor: owner });
    const expired = log.event('PermissionExpired', { orgId: ACME, userId: ADA, grantId: 'g1', permission: 'users.list.any', expiredAt: expiresAt }, { actor: sweeper, recordedAt: new Date('2026-03-02T11:00:00.000Z') });

    const [, entry] = await history([given, expired]);
    expect(entry).toEqual({ id: expired.eventId, orgId: ACME, userId: ADA, kind: 'grant-expired', grantId: 'g1', permission: 'users.list.any', expiredAt: expiresAt, actor: sweeper, at: '2026-03-02T11:00:00.000Z', seq: seq(expired) });
  });

  it('R-ROLE-7 R-IMP-1 a change made while impersonating names the real actor too', async () => {
    const log = eventLog();
    const support: Actor = { kind: 'user', id: 'u-support' };
    const changed = log.event('RoleChanged', { orgId: ACME, userId: ADA, roleId: 'admin', locations: null, previousRoleId: 'member', previousLocations: null }, { actor: owner, realActor: support });
    expect(await history([changed])).toEqual([expect.objectContaining({ kind: 'role-changed', actor: owner, realActor: support })]);
  });

  it('R-ROLE-7 kept forever: one entry per event, never changed or removed by what follows (a member removed keeps their history)', async () => {
    const log = eventLog();
    const events = [
      log.event('MemberAdded', { orgId: ACME, userId: ADA, roleId: 'member', locations: null, approval: 'approved', via: 'created' }),
      log.event('PermissionGranted', { orgId: ACME, userId: ADA, grantId: 'g1', permission: 'users.list.any', reason: 'audit', grantedBy: owner.id, grantedAt: log.now }),
      log.event('AccessDisabled', { orgId: ACME, userId: ADA }),
      log.event('MemberRemoved', { orgId: ACME, userId: ADA }),
    ];
    expect((await history(events)).map((e) => e.kind)).toEqual(['role-set', 'grant-given']);
    expect(permissionHistory.handles).toEqual(['MemberAdded', 'RoleChanged', 'PermissionGranted', 'PermissionRevoked', 'PermissionExpired']);
  });
});
