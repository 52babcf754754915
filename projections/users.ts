import type { Profile } from '../domain/user/user';
import { INVITATIONS, invitationRowId, type InvitationRow } from './invitations';
import { recordedAt, text, type Doc, type Reducers, type Workspace } from './projection';

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
  /** R-ACC-3: the person was erased; the row stays, with nothing of them in it. */
  erased?: boolean;
}

export const USERS = 'users';

export type ProfileText = Partial<Record<keyof Profile, string>>;

/** The profile fields of an event, null ones as empty text. */
export function profileOf(fields: Partial<Profile>): ProfileText {
  const out: ProfileText = {};
  for (const field of ['firstName', 'lastName', 'phone', 'username', 'bio'] as const) if (field in fields) out[field] = text(fields[field]);
  return out;
}

async function updateUser(docs: Workspace, userId: string, change: (user: UserDoc) => Partial<UserDoc>): Promise<void> {
  const user = await docs.get<UserDoc>(USERS, userId);
  if (user) docs.put(USERS, { ...user, ...change(user) });
}

/** People: each one's profile, last sign-in, orgs and setup, which the members rows copy (see members.ts). */
export const users: Reducers = {
  UserRegistered: (e, docs) => {
    const d = e.data;
    docs.put<UserDoc>(USERS, { id: d.userId, email: text(d.email), firstName: text(d.firstName), lastName: text(d.lastName), phone: text(d.phone), username: text(d.username), createdAt: recordedAt(e), lastSignInAt: '', lastSignInMethod: '', orgIds: [], setupCompletedAt: '', invitedAt: {} });
  },
  PasswordSet: async (e, docs) => {
    const user = await docs.get<UserDoc>(USERS, e.data.userId);
    if (user && !user.setupCompletedAt && e.data.by !== 'admin') docs.put(USERS, { ...user, setupCompletedAt: recordedAt(e) });
  },
  UserProfileUpdated: (e, docs) => updateUser(docs, e.data.userId, () => profileOf(e.data.changes)),
  EmailChanged: (e, docs) => updateUser(docs, e.data.userId, () => ({ email: text(e.data.email) })),
  SessionStarted: (e, docs) => (e.data.impersonation ? undefined : updateUser(docs, e.data.userId, () => ({ lastSignInAt: recordedAt(e), lastSignInMethod: e.data.method }))),
  MemberAdded: (e, docs) =>
    updateUser(docs, e.data.userId, (user) => {
      const { [e.data.orgId]: _joined, ...stillInvited } = user.invitedAt ?? {};
      return { orgIds: user.orgIds.includes(e.data.orgId) ? user.orgIds : [...user.orgIds, e.data.orgId], invitedAt: stillInvited };
    }),
  MemberRemoved: (e, docs) => updateUser(docs, e.data.userId, (user) => ({ orgIds: user.orgIds.filter((o) => o !== e.data.orgId) })),
  /** R-ACC-3: nothing of the person stays: their profile, and the invitations sent to their address. */
  UserErased: async (e, docs) => {
    const user = await docs.get<UserDoc>(USERS, e.data.userId);
    if (!user) return;
    if (user.email) for (const id of await docs.idsWhere(INVITATIONS, 'email', user.email)) docs.delete(INVITATIONS, id);
    docs.put<UserDoc>(USERS, { ...user, email: '', firstName: '', lastName: '', phone: '', username: '', orgIds: [], invitedAt: {}, erased: true });
  },
  InvitationAccepted: async (e, docs) => {
    const d = e.data;
    const invitation = await docs.get<InvitationRow>(INVITATIONS, invitationRowId(d.orgId, d.invitationId));
    if (!invitation) return;
    // The membership row comes with a later event of the same append: keep when the invitation was sent until then.
    await updateUser(docs, d.userId, (user) => ({ invitedAt: { ...(user.invitedAt ?? {}), [d.orgId]: invitation.invitedAt } }));
  },
};
