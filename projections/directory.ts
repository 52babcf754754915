import type { RecordedEvent } from '../infra/eventstore/port';
import { fold, type Doc, type Projection, type Workspace } from './projection';

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

type Data = Record<string, any>;

const memberId = (orgId: string, userId: string) => `${orgId}:${userId}`;

/** A profile text: null or absent is empty (the edge refuses null; an event recorded before it did may hold one). */
const text = (value: unknown): string => (value === null || value === undefined ? '' : (value as string));

/** The profile fields of an event, null and absent ones as empty text. */
function profileOf(fields: Data | null | undefined): Data {
  return Object.fromEntries(Object.entries(fields ?? {}).map(([field, value]) => [field, text(value)]));
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

/**
 * Members, people, invitations and orgs, folded from the log: the lists the admin
 * UI reads. Every field a query filters or sorts on is computed here.
 */
export const directory: Projection = {
  name: 'directory.v1',
  collections: [MEMBERS, USERS, INVITATIONS, ORGS, SESSIONS],
  handles: [
    'OrganizationCreated',
    'OwnershipTransferred',
    'OrganizationSuspended',
    'OrganizationReactivated',
    'UserRegistered',
    'UserProfileUpdated',
    'PasswordSet',
    'MemberAdded',
    'RoleChanged',
    'AccessDisabled',
    'AccessEnabled',
    'MemberRemoved',
    'MemberApproved',
    'MemberMarkedPending',
    'UserBanned',
    'UserUnbanned',
    'AvailabilityChanged',
    'AccessCodeAssigned',
    'SessionStarted',
    'SessionRevoked',
    'UserInvited',
    'InvitationResent',
    'InvitationRevoked',
    'InvitationAccepted',
  ],

  async apply(event: RecordedEvent, docs: Workspace): Promise<void> {
    const d = event.data as Data;
    const at = event.recordedAt.toISOString();
    switch (event.type) {
      case 'OrganizationCreated':
        docs.put<OrgRow>(ORGS, { id: d.orgId, name: text(d.name), nameKey: fold(text(d.name)), preset: d.preset, status: 'active', ownerId: d.ownerId, partnerId: d.partnerId ?? '', memberCount: 0, createdAt: at });
        return;
      case 'OwnershipTransferred': {
        const org = await docs.get<OrgRow>(ORGS, d.orgId);
        if (org) docs.put(ORGS, { ...org, ownerId: d.to });
        return;
      }
      case 'OrganizationSuspended':
      case 'OrganizationReactivated': {
        const org = await docs.get<OrgRow>(ORGS, d.orgId);
        if (org) docs.put(ORGS, { ...org, status: event.type === 'OrganizationSuspended' ? 'suspended' : 'active' });
        return;
      }
      case 'UserRegistered':
        docs.put<UserDoc>(USERS, { id: d.userId, email: text(d.email), firstName: text(d.firstName), lastName: text(d.lastName), phone: text(d.phone), username: text(d.username), createdAt: at, lastSignInAt: '', lastSignInMethod: '', orgIds: [], setupCompletedAt: '', invitedAt: {} });
        return;
      case 'PasswordSet': {
        const user = await docs.get<UserDoc>(USERS, d.userId);
        if (user && !user.setupCompletedAt && d.by !== 'admin') docs.put(USERS, { ...user, setupCompletedAt: at });
        return;
      }
      case 'UserProfileUpdated': {
        const changes = profileOf(d.changes);
        return updateUser(docs, d.userId, at, changes, changes);
      }
      case 'SessionStarted':
        docs.put<SessionRow>(SESSIONS, { id: d.sessionId, userId: d.userId, method: d.method, startedAt: d.startedAt ?? at, expiresAt: d.expiresAt, revoked: false, stream: event.stream });
        return updateUser(docs, d.userId, at, { lastSignInAt: at, lastSignInMethod: d.method }, { lastSignInAt: at, lastSignInMethod: d.method });
      case 'SessionRevoked': {
        const row = await docs.get<SessionRow>(SESSIONS, d.sessionId);
        if (row) docs.put(SESSIONS, { ...row, revoked: true });
        return;
      }
      case 'MemberAdded': {
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
          joinedAt: at,
          createdAt: user.createdAt,
          updatedAt: at,
          invitedAt,
          disabledAt: '',
          disabledBy: '',
        };
        docs.put<MemberRow>(MEMBERS, { ...base, ...keys(base) });
        const org = await docs.get<OrgRow>(ORGS, d.orgId);
        if (org) docs.put(ORGS, { ...org, memberCount: org.memberCount + 1 });
        return;
      }
      case 'MemberRemoved': {
        docs.delete(MEMBERS, memberId(d.orgId, d.userId));
        const user = await docs.get<UserDoc>(USERS, d.userId);
        if (user) docs.put(USERS, { ...user, orgIds: user.orgIds.filter((o) => o !== d.orgId) });
        const org = await docs.get<OrgRow>(ORGS, d.orgId);
        if (org) docs.put(ORGS, { ...org, memberCount: Math.max(0, org.memberCount - 1) });
        return;
      }
      case 'RoleChanged':
        return updateMember(docs, d.orgId, d.userId, at, { roleId: d.roleId, locations: d.locations ?? [] });
      case 'AccessDisabled':
        return updateMember(docs, d.orgId, d.userId, at, { status: 'disabled', disabledAt: at, disabledBy: event.actor.id });
      case 'AccessEnabled':
        return updateMember(docs, d.orgId, d.userId, at, { status: 'active', disabledAt: '', disabledBy: '' });
      case 'MemberApproved':
        return updateMember(docs, d.orgId, d.userId, at, { approval: 'approved' });
      case 'MemberMarkedPending':
        return updateMember(docs, d.orgId, d.userId, at, { approval: 'pending' });
      case 'UserBanned':
        return updateMember(docs, d.orgId, d.userId, at, { banned: true });
      case 'UserUnbanned':
        return updateMember(docs, d.orgId, d.userId, at, { banned: false });
      case 'AvailabilityChanged':
        return updateMember(docs, d.orgId, d.userId, at, { availability: d.availability });
      case 'AccessCodeAssigned':
        return updateMember(docs, d.orgId, d.userId, at, { accessCode: d.code });
      case 'UserInvited':
        docs.put<InvitationRow>(INVITATIONS, { id: `${d.orgId}:${d.invitationId}`, orgId: d.orgId, invitationId: d.invitationId, email: d.email, roleId: d.roleId, invitedBy: d.invitedBy, invitedAt: at, expiresAt: d.expiresAt, status: 'pending' });
        return;
      case 'InvitationResent':
      case 'InvitationRevoked':
      case 'InvitationAccepted': {
        const row = await docs.get<InvitationRow>(INVITATIONS, `${d.orgId}:${d.invitationId}`);
        if (!row) return;
        if (event.type === 'InvitationAccepted') {
          const user = await docs.get<UserDoc>(USERS, d.userId);
          if (user) docs.put(USERS, { ...user, invitedAt: { ...(user.invitedAt ?? {}), [d.orgId]: row.invitedAt } });
        }
        const change = event.type === 'InvitationResent' ? { expiresAt: d.expiresAt as string } : { status: event.type === 'InvitationRevoked' ? ('revoked' as const) : ('accepted' as const) };
        docs.put(INVITATIONS, { ...row, ...change });
        return;
      }
    }
  },
};
