import type { Recorded } from '../domain/events';
import type { Profile } from '../domain/user/user';
import { fold, projection, type Doc, type Workspace } from './projection';

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

/** A person across orgs: the profile member rows copy, and where to copy it to. */
export interface UserDoc extends Doc {
  email: string;
  firstName: string;
  lastName: string;
  phone: string;
  username: string;
  createdAt: string;
  lastSignInAt: string;
  lastSignInMethod: string;
  orgIds: string[];
  /** R-LIST-4: when the person first chose a password (a setup link, an invitation, or signing up). */
  setupCompletedAt: string;
  /** Invitations accepted but not yet turned into a membership row (same append, earlier event): org → sent at. */
  invitedAt: Record<string, string>;
}

export interface InvitationRow extends Doc {
  orgId: string;
  invitationId: string;
  email: string;
  roleId: string;
  invitedBy: string;
  invitedAt: string;
  expiresAt: string;
  status: 'pending' | 'accepted' | 'revoked';
}

export interface OrgRow extends Doc {
  name: string;
  nameKey: string;
  preset: string;
  status: string;
  ownerId: string;
  partnerId: string;
  memberCount: number;
  createdAt: string;
}

/** A signed-in session, for "your sessions" lists; checks never read this (they read the session's stream). */
export interface SessionRow extends Doc {
  userId: string;
  method: string;
  startedAt: string;
  expiresAt: string;
  revoked: boolean;
  /** The session's stream (named by its token's hash), which a revocation appends to. */
  stream: string;
}

export const SESSIONS = 'sessions';
export const MEMBERS = 'members';
export const USERS = 'users';
export const INVITATIONS = 'invitations';
export const ORGS = 'orgs';

const memberId = (orgId: string, userId: string) => `${orgId}:${userId}`;

/** A profile text: null or absent is empty (the edge refuses null; an event recorded before it did may hold one). */
const text = (value: string | null | undefined): string => value ?? '';

type ProfileText = Partial<Record<keyof Profile, string>>;

/** The profile fields of an event, null ones as empty text. */
function profileOf(fields: Partial<Profile>): ProfileText {
  const out: ProfileText = {};
  for (const field of ['firstName', 'lastName', 'phone', 'username', 'bio'] as const) if (field in fields) out[field] = text(fields[field]);
  return out;
}

function keys(row: Pick<MemberRow, 'firstName' | 'lastName' | 'email' | 'status' | 'approval' | 'banned'>) {
  return {
    nameKey: fold(`${text(row.firstName)} ${text(row.lastName)}`),
    lastNameKey: fold(text(row.lastName)),
    emailKey: text(row.email).toLowerCase(),
    assignable: row.status === 'active' && row.approval === 'approved' && !row.banned,
  };
}

async function updateMember(docs: Workspace, orgId: string, userId: string, at: string, change: Partial<MemberRow>): Promise<void> {
  const row = await docs.get<MemberRow>(MEMBERS, memberId(orgId, userId));
  if (!row) return;
  const next = { ...row, ...change, updatedAt: at };
  docs.put(MEMBERS, { ...next, ...keys(next) });
}

async function updateUser(docs: Workspace, userId: string, at: string, change: Partial<UserDoc>, memberChange: Partial<MemberRow>): Promise<void> {
  const user = await docs.get<UserDoc>(USERS, userId);
  if (!user) return;
  docs.put(USERS, { ...user, ...change });
  for (const orgId of user.orgIds) await updateMember(docs, orgId, userId, at, memberChange);
}

async function updateOrg(docs: Workspace, orgId: string, change: Partial<OrgRow>): Promise<void> {
  const org = await docs.get<OrgRow>(ORGS, orgId);
  if (org) docs.put(ORGS, { ...org, ...change });
}

async function updateInvitation(docs: Workspace, orgId: string, invitationId: string, change: Partial<InvitationRow>): Promise<InvitationRow | undefined> {
  const row = await docs.get<InvitationRow>(INVITATIONS, `${orgId}:${invitationId}`);
  if (row) docs.put(INVITATIONS, { ...row, ...change });
  return row;
}

const at = (event: Recorded) => event.recordedAt.toISOString();

/**
 * Members, people, invitations and orgs, folded from the log: the lists the admin
 * UI reads. Every field a query filters or sorts on is computed here.
 */
export const directory = projection('directory.v1', [MEMBERS, USERS, INVITATIONS, ORGS, SESSIONS], {
  OrganizationCreated: (e, docs) => {
    const d = e.data;
    docs.put<OrgRow>(ORGS, { id: d.orgId, name: text(d.name), nameKey: fold(text(d.name)), preset: d.preset, status: 'active', ownerId: d.ownerId, partnerId: d.partnerId ?? '', memberCount: 0, createdAt: at(e) });
  },
  OwnershipTransferred: (e, docs) => updateOrg(docs, e.data.orgId, { ownerId: e.data.to }),
  OrganizationSuspended: (e, docs) => updateOrg(docs, e.data.orgId, { status: 'suspended' }),
  OrganizationReactivated: (e, docs) => updateOrg(docs, e.data.orgId, { status: 'active' }),

  UserRegistered: (e, docs) => {
    const d = e.data;
    docs.put<UserDoc>(USERS, { id: d.userId, email: text(d.email), firstName: text(d.firstName), lastName: text(d.lastName), phone: text(d.phone), username: text(d.username), createdAt: at(e), lastSignInAt: '', lastSignInMethod: '', orgIds: [], setupCompletedAt: '', invitedAt: {} });
  },
  PasswordSet: async (e, docs) => {
    const user = await docs.get<UserDoc>(USERS, e.data.userId);
    if (user && !user.setupCompletedAt && e.data.by !== 'admin') docs.put(USERS, { ...user, setupCompletedAt: at(e) });
  },
  UserProfileUpdated: (e, docs) => {
    const changes = profileOf(e.data.changes);
    return updateUser(docs, e.data.userId, at(e), changes, changes);
  },
  SessionStarted: (e, docs) => {
    const d = e.data;
    docs.put<SessionRow>(SESSIONS, { id: d.sessionId, userId: d.userId, method: d.method, startedAt: d.startedAt ?? at(e), expiresAt: d.expiresAt, revoked: false, stream: e.stream });
    return updateUser(docs, d.userId, at(e), { lastSignInAt: at(e), lastSignInMethod: d.method }, { lastSignInAt: at(e), lastSignInMethod: d.method });
  },
  SessionRevoked: async (e, docs) => {
    const row = await docs.get<SessionRow>(SESSIONS, e.data.sessionId);
    if (row) docs.put(SESSIONS, { ...row, revoked: true });
  },

  MemberAdded: async (e, docs) => {
    const d = e.data;
    const user = await docs.get<UserDoc>(USERS, d.userId);
    if (!user) return;
    const { [d.orgId]: invitedAt = '', ...stillInvited } = user.invitedAt ?? {};
    docs.put(USERS, { ...user, orgIds: user.orgIds.includes(d.orgId) ? user.orgIds : [...user.orgIds, d.orgId], invitedAt: stillInvited });
    const base = {
      id: memberId(d.orgId, d.userId),
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
      joinedAt: at(e),
      createdAt: user.createdAt,
      updatedAt: at(e),
      invitedAt,
      disabledAt: '',
      disabledBy: '',
    };
    docs.put<MemberRow>(MEMBERS, { ...base, ...keys(base) });
    const org = await docs.get<OrgRow>(ORGS, d.orgId);
    if (org) docs.put(ORGS, { ...org, memberCount: org.memberCount + 1 });
  },
  MemberRemoved: async (e, docs) => {
    const d = e.data;
    docs.delete(MEMBERS, memberId(d.orgId, d.userId));
    const user = await docs.get<UserDoc>(USERS, d.userId);
    if (user) docs.put(USERS, { ...user, orgIds: user.orgIds.filter((o) => o !== d.orgId) });
    const org = await docs.get<OrgRow>(ORGS, d.orgId);
    if (org) docs.put(ORGS, { ...org, memberCount: Math.max(0, org.memberCount - 1) });
  },
  RoleChanged: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, at(e), { roleId: e.data.roleId, locations: e.data.locations ?? [] }),
  AccessDisabled: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, at(e), { status: 'disabled', disabledAt: at(e), disabledBy: e.actor.id }),
  AccessEnabled: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, at(e), { status: 'active', disabledAt: '', disabledBy: '' }),
  MemberApproved: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, at(e), { approval: 'approved' }),
  MemberMarkedPending: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, at(e), { approval: 'pending' }),
  UserBanned: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, at(e), { banned: true }),
  UserUnbanned: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, at(e), { banned: false }),
  AvailabilityChanged: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, at(e), { availability: e.data.availability }),
  AccessCodeAssigned: (e, docs) => updateMember(docs, e.data.orgId, e.data.userId, at(e), { accessCode: e.data.code }),

  UserInvited: (e, docs) => {
    const d = e.data;
    docs.put<InvitationRow>(INVITATIONS, { id: `${d.orgId}:${d.invitationId}`, orgId: d.orgId, invitationId: d.invitationId, email: d.email, roleId: d.roleId, invitedBy: d.invitedBy, invitedAt: at(e), expiresAt: d.expiresAt, status: 'pending' });
  },
  InvitationResent: async (e, docs) => {
    await updateInvitation(docs, e.data.orgId, e.data.invitationId, { expiresAt: e.data.expiresAt });
  },
  InvitationRevoked: async (e, docs) => {
    await updateInvitation(docs, e.data.orgId, e.data.invitationId, { status: 'revoked' });
  },
  InvitationAccepted: async (e, docs) => {
    const d = e.data;
    const row = await updateInvitation(docs, d.orgId, d.invitationId, { status: 'accepted' });
    if (!row) return;
    // The membership row comes with a later event of the same append: keep when the invitation was sent until then.
    const user = await docs.get<UserDoc>(USERS, d.userId);
    if (user) docs.put(USERS, { ...user, invitedAt: { ...(user.invitedAt ?? {}), [d.orgId]: row.invitedAt } });
  },
});
