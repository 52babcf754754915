import { DomainError } from '../shared/errors';

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;

/** What the strength rules know of the person whose password it is: their own words make a weak one. */
export interface PasswordOwner {
  email: string;
  firstName?: string;
  lastName?: string;
  username?: string;
}

/**
 * Passwords known from breaches and common-password lists, lower-case. The list
 * ships with the code and is loaded at the edge (infra/crypto/common-passwords.ts):
 * the domain reads no files.
 */
export type CommonPasswords = ReadonlySet<string>;

/** Words of at least this many letters are personal enough to refuse in a password. */
const PERSONAL_MIN = 4;
/** What people add around a common password to pass a length check: "Password123!" is "password". */
const DECORATION = /^[\d\W_]+|[\d\W_]+$/g;
/** A bare word shorter than this is no password of its own, whatever is around it. */
const BARE_MIN = 4;

/** The person's own words: names, username, the email's local part and its pieces (ada.lovelace → ada.lovelace, lovelace). */
export function personalWords({ email, firstName, lastName, username }: PasswordOwner): string[] {
  const local = email.split('@')[0] ?? '';
  const words = [local, ...local.split(/[._+-]+/), firstName ?? '', lastName ?? '', username ?? ''];
  return [...new Set(words.map((w) => w.toLowerCase()).filter((w) => w.length >= PERSONAL_MIN))];
}

/** The password as typed, without the digits and symbols around it, and the word it repeats ("trustno1trustno1"). */
function commonForms(lower: string): string[] {
  const bare = lower.replace(DECORATION, '');
  const repeated = /^(.+?)\1+$/.exec(lower)?.[1];
  return [lower, ...[bare, repeated].filter((form): form is string => form !== undefined && form.length >= BARE_MIN)];
}

/**
 * R-CRED-1: minimum strength. A violation is `weak_password` with the rule it broke:
 * too_short, too_long, too_repetitive, unchanged (the same as `current`), too_common
 * (on the list, as is, with digits and symbols around it, or repeated), personal (the person's
 * names, username or email in it).
 */
export function checkPasswordStrength(password: string, person: PasswordOwner, common: CommonPasswords, current?: string): void {
  const fail = (rule: string, message: string) => {
    throw new DomainError('weak_password', message, { rule });
  };
  if (current !== undefined && password === current) fail('unchanged', 'choose a password different from the current one');
  if (password.length < PASSWORD_MIN) fail('too_short', `a password needs at least ${PASSWORD_MIN} characters`);
  if (password.length > PASSWORD_MAX) fail('too_long', `a password has at most ${PASSWORD_MAX} characters`);
  if (new Set(password).size < 4) fail('too_repetitive', 'a password needs at least 4 different characters');
  const lower = password.toLowerCase();
  if (commonForms(lower).some((form) => common.has(form))) fail('too_common', 'this password is among the most common ones');
  if (personalWords(person).some((word) => lower.includes(word))) fail('personal', 'a password must not contain your name or email');
}
