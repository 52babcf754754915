import { randomUUID } from 'node:crypto';
import { accessOf } from '../../domain/access/access';
import { PERMISSIONS } from '../../domain/access/permissions';
import { OWNER_ROLE_ID } from '../../domain/access/roles';
import { initialMembership, membership, membershipStream, type Membership, type MembershipCommand } from '../../domain/membership/membership';
import type { OrgContext } from '../../domain/organization/organization';
import type { EventMetadata } from '../../domain/shared/envelope';
import type { AppendRequest, EventStore } from '../../infra/eventstore/port';
import type { SeededOrg } from './dataset';

/**
 * A long org history for bench/export.ts: what an Owner does to members over
 * years (grants and revokes, notes, disables, role changes, approvals, bans),
 * decided by the membership decider on each member's folded state, one command
 * per member per appendMany so every append has an exact expected version.
 * Notes are personal data (MemberNotesUpdated), so the export decrypts them too.
 */
export interface ActivityOptions {
  /** Members of the org to act on: their user ids. */
  members: readonly string[];
  /** Events to append in all. */
  events: number;
  /** Commands per appendMany (one SQLite transaction): at most one per member. */
  perBatch?: number;
  onProgress?: (done: number) => void;
}

const DAY = 86_400_000;
/** Permissions the team preset's Owner may grant; filtered against the catalogue so a renamed one fails loudly. */
const GRANTABLE = ['users.list.any', 'users.approve.any', 'incidents.manage.any'].filter((p) => PERMISSIONS.includes(p));

interface Member {
  state: Membership;
  version: number;
  /** How many activity commands this member has had: picks the next one. */
  step: number;
}

/** The command a member gets at its `step`: a cycle whose every command changes something, so each decides one event. */
function nextCommand(member: Member, now: Date): MembershipCommand {
  const grant = member.state.grants[0];
  switch (member.step % 11) {
    case 0:
      return { type: 'GrantPermission', grantId: randomUUID(), permission: GRANTABLE[member.step % GRANTABLE.length], expiresAt: new Date(now.getTime() + 30 * DAY).toISOString(), reason: 'cover for a colleague' };
    case 1:
      return { type: 'UpdateNotes', notes: `Prefers the north entrance; note ${member.step}` };
    case 2:
      return { type: 'DisableAccess' };
    case 3:
      return { type: 'EnableAccess' };
    case 4:
      return { type: 'ChangeRole', roleId: 'admin' };
    case 5:
      return { type: 'ChangeRole', roleId: 'member' };
    case 6:
      return grant ? { type: 'RevokePermission', grantId: grant.grantId } : { type: 'UpdateNotes', notes: `Revoked nothing; note ${member.step}` };
    case 7:
      return { type: 'MarkPending' };
    case 8:
      return { type: 'ApproveMember' };
    case 9:
      return { type: 'BanMember' };
    default:
      return { type: 'UnbanMember' };
  }
}

/** Appends `events` events of the org's Owner acting on its members; returns how many were appended. */
export async function addActivity(store: EventStore, org: SeededOrg, options: ActivityOptions): Promise<number> {
  if (GRANTABLE.length === 0) throw new Error('none of the permissions the bench grants is in the catalogue');
  const perBatch = Math.min(options.perBatch ?? 1000, options.members.length);
  const actor = { kind: 'user' as const, id: org.ownerId };
  const ownerStanding = { ...initialMembership(), exists: true, orgId: org.orgId, userId: org.ownerId, roleId: OWNER_ROLE_ID };
  const access = accessOf(org.state, ownerStanding);
  const members: Member[] = [];
  for (const userId of options.members) {
    const events = await store.readStream(membershipStream(org.orgId, userId));
    const state = events.reduce((s, e) => membership.evolve(s, { type: e.type, data: e.data } as never), initialMembership());
    members.push({ state, version: events.length - 1, step: 0 });
  }
  let appended = 0;
  let lastReport = 0;
  let cursor = 0;
  while (appended < options.events) {
    const now = new Date();
    const ctx: OrgContext = { now, actor, org: org.state, access };
    const requests: AppendRequest[] = [];
    const decided: Array<{ member: Member; events: ReturnType<typeof membership.decide> }> = [];
    for (let i = 0; i < perBatch && appended + requests.length < options.events; i++) {
      const member = members[cursor];
      cursor = (cursor + 1) % members.length;
      const events = membership.decide(member.state, nextCommand(member, now), ctx);
      member.step++;
      if (events.length === 0) continue;
      const meta: EventMetadata = { actor, correlationId: randomUUID(), orgId: org.orgId };
      requests.push({ stream: membershipStream(org.orgId, member.state.userId), expected: member.version, events: events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata: meta })) });
      decided.push({ member, events });
    }
    await store.appendMany(requests);
    for (const { member, events } of decided) {
      member.state = events.reduce((s, e) => membership.evolve(s, e), member.state);
      member.version += events.length;
      appended += events.length;
    }
    if (options.onProgress && (appended - lastReport >= 100_000 || appended >= options.events)) {
      lastReport = appended;
      options.onProgress(appended);
    }
  }
  return appended;
}
