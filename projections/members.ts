import type { Recorded } from '../domain/events';
import { fold, recordedAt, text, type Doc, type Reducers, type Workspace } from './projection';
import { profileOf, USERS, type UserDoc } from './users';

/** A member of an org, as the members list shows it (R-LIST-1) and filters it (R-LIST-2, R-ACC-6). */
export interface MemberRow extends Doc {
  orgId: string;
  userId: string;
  shortId: string;
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  username: string;
  roleId: string;
  locations: string[];
  status: 'active' | 'disabled';
  approval: 'approved' | 'pending';
  banned: boolean;
  availability: string;
  /** R-ACC-6: who may be assigned work: active, approved, not banned. */
  assignable: boolean;
  accessCode: string;
  lastSignInAt: string;
  lastSignInMethod: string;
  joinedAt: string;
  createdAt: string;
  updatedAt: string;
  /** R-LIST-4: when the invitation that brought the member was sent ('' when created directly). */
  invitedAt: string;
  disabledAt: string;
  disabledBy: string;
  /** Folded (lower-case, no accents) keys, computed here rather than at query time. */
  nameKey: string;
  lastNameKey: string;
  emailKey: string;
}

export const MEMBERS = 'members';

/** A member's row: one per person and org. */
export const memberRowId = (orgId: string, userId: string) => `${orgId}:${userId}`;

function keys(row: Pick<MemberRow, 'firstName' | 'lastName' | 'email' | 'status' | 'approval' | 'banned'>) {
  return {
    nameKey: fold(`${text(row.firstName)} ${text(row.lastName)}`),
    lastNameKey: fold(text(row.lastName)),
    emailKey: text(row.email).toLowerCase(),
    assignable: row.status === 'active' && row.approval === 'approved' && !row.banned,
  };
}

async function updateMember(docs: Workspace, orgId: string, userId: string, event: Recorded, change: Partial<MemberRow>): Promise<void> {
  const row = await docs.get<MemberRow>(MEMBERS, memberRowId(orgId, userId));
  if (!row) return;
  const next = { ...row, ...change, updatedAt: recordedAt(event) };
  docs.put(MEMBERS, { ...next, ...keys(next) });
}

/** A change of the person (profile, last sign-in): copied to their row in every org they belong to. */
async function updatePerson(docs: Workspace, userId: string, event: Recorded, change: Partial<MemberRow>): Promise<void> {
  const user = await docs.get<UserDoc>(USERS, userId);
  if (!user) return;
  for (const orgId of user.orgIds) await updateMember(docs, orgId, userId, event, change);
}

/**
 * The members list of every org: one row per member, with the person's profile
 * copied from their user document (users.ts) and every key a query filters or
 * sorts on computed here. Runs before the users table, so a row made by
 * `MemberAdded` still finds when its invitation was sent.
 */
export const members: Reducers = {
  MemberAdded: async (e, docs) => {
    const d = e.data;
    const user = await docs.get<UserDoc>(USERS, d.userId);
    if (!user) return;
    const base = {
      id: memberRowId(d.orgId, d.userId),
      orgId: d.orgId,
      userId: d.userId,
      shortId: d.userId.slice(0, 8),
      firstName: user.firstName,
      lastName: user.lastName,
      email: user.email,
      phone: user.phone,
      username: user.username,
      roleId: d.roleId,
      locations: d.locations ?? [],
      status: 'active' as const,
      approval: d.approval,
      banned: false,
      availability: 'available',
      accessCode: '',
      lastSignInAt: user.lastSignInAt,
      lastSignInMethod: user.lastSignInMethod,
      joinedAt: recordedAt(e),
      createdAt: user.createdAt,
      updatedAt: recordedAt(e),
      // Seed 000: staff-created accounts were asked in when made (a setup link, or a password to hand on).
      invitedAt: user.invitedAt?.[d.orgId] ?? (d.via === 'created' ? recordedAt(e) : ''),
      disabledAt: '',
      disabledBy: '',
    };
    docs.put<MemberRow>(MEMBERS, { ...base, ...keys(base) });
  },
  MemberRemoved: (e, docs) => docs.delete(MEMBERS, memberRowId(e.data.orgId, e.data.userId)),
  RoleChanged: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, e, { roleId: e.data.roleId, locations: e.data.locations ?? [] }),
  AccessDisabled: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, e, { status: 'disabled', disabledAt: recordedAt(e), disabledBy: e.actor.id }),
  AccessEnabled: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, e, { status: 'active', disabledAt: '', disabledBy: '' }),
  MemberApproved: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, e, { approval: 'approved' }),
  MemberMarkedPending: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, e, { approval: 'pending' }),
  UserBanned: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, e, { banned: true }),
  UserUnbanned: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, e, { banned: false }),
  AvailabilityChanged: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, e, { availability: e.data.availability }),
  AccessCodeAssigned: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, e, { accessCode: e.data.code }),

  UserProfileUpdated: (e, docs) => updatePerson(docs, e.data.userId, e, profileOf(e.data.changes)),
  EmailChanged: (e, docs) => updatePerson(docs, e.data.userId, e, { email: text(e.data.email) }),
  // An impersonation is someone else acting as the person: not their sign-in (seed 003).
  SessionStarted: (e, docs) => (e.data.impersonation ? undefined : updatePerson(docs, e.data.userId, e, { lastSignInAt: recordedAt(e), lastSignInMethod: e.data.method })),
};
