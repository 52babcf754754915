import type { DataOf, EventType } from './events';

/**
 * Whose personal data a field holds (R-ACC-3, SPEC 5.1): a person in one org (what
 * only that org keeps of them, shredded when the org is deleted), an account, or an
 * email address no account holds yet (an invitee, a stranger's sign-in attempt),
 * named by the address or by the key streams name it with.
 */
export type DataSubject = { orgId: string; userId: string } | { userId: string } | { email: string } | { emailKey: string };

/** A field of personal data in an event: where it is in the data, and whose it is. */
export interface PersonalField<T extends EventType = EventType> {
  path: readonly string[];
  subject: (data: DataOf<T>) => DataSubject | undefined;
}

type PersonalFields = { readonly [T in EventType]?: readonly PersonalField<T>[] };

const ofUser = (data: { userId: string }): DataSubject => ({ userId: data.userId });
const fields = <T extends EventType>(subject: (data: DataOf<T>) => DataSubject | undefined, ...paths: Array<readonly string[]>): readonly PersonalField<T>[] =>
  paths.map((path) => ({ path, subject }));

const PROFILE = ['firstName', 'lastName', 'phone', 'bio', 'username'] as const;

/**
 * Every event field that holds personal data (email, names, phone, bio, username,
 * notes, IP address, user agent, TOTP secret), so that the store can keep it
 * encrypted with its person's key and forget it with that key. Events not named
 * here hold none (ids, roles, times, hashes and keys only).
 */
export const PERSONAL_FIELDS: PersonalFields = {
  UserRegistered: fields<'UserRegistered'>(ofUser, ['email'], ...PROFILE.map((f) => [f])),
  UserProfileUpdated: fields<'UserProfileUpdated'>(ofUser, ...PROFILE.map((f) => ['changes', f])),
  EmailChanged: fields<'EmailChanged'>(ofUser, ['email'], ['previousEmail']),
  SignedIn: fields<'SignedIn'>(ofUser, ['ip'], ['userAgent']),
  SignInFailed: fields<'SignInFailed'>(ofUser, ['ip'], ['userAgent']),
  MfaEnrollmentStarted: fields<'MfaEnrollmentStarted'>(ofUser, ['sealedSecret']),
  MemberNotesUpdated: fields<'MemberNotesUpdated'>((d) => ({ orgId: d.orgId, userId: d.userId }), ['notes']),
  UserInvited: fields<'UserInvited'>((d) => ({ email: d.email }), ['email'], ['firstName'], ['lastName']),
  LinkEmailRequested: [
    { path: ['to'], subject: (d) => (d.userId ? { userId: d.userId } : { email: d.to }) },
    // The actor told that a link was sent on someone's behalf: their own address.
    { path: ['confirmTo'], subject: (d) => (d.confirmTo ? { email: d.confirmTo } : undefined) },
    { path: ['bcc'], subject: (d) => (d.bcc ? { email: d.bcc } : undefined) },
  ],
  SignInFailedForUnknownEmail: fields<'SignInFailedForUnknownEmail'>((d) => ({ emailKey: d.emailKey }), ['ip'], ['userAgent']),
};

export function personalFieldsOf(type: string): readonly PersonalField[] | undefined {
  return (PERSONAL_FIELDS as Record<string, readonly PersonalField[] | undefined>)[type];
}
