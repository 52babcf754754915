import { DomainError } from '../shared/errors';

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 128;

/** A few of the most common passwords that pass a length check; the full breached list is a later step. */
const COMMON = ['password123', 'qwertyuiop', '1234567890', 'iloveyou12', 'password12', 'letmein123', 'welcome123', 'admin12345', 'qwerty1234'];

/** R-CRED-1: minimum strength. Violations name the rule. */
export function checkPasswordStrength(password: string, personal: string[] = []): void {
  const fail = (rule: string, message: string) => {
    throw new DomainError('weak_password', message, { rule });
  };
  if (password.length < PASSWORD_MIN) fail('too_short', `a password needs at least ${PASSWORD_MIN} characters`);
  if (password.length > PASSWORD_MAX) fail('too_long', `a password has at most ${PASSWORD_MAX} characters`);
  if (new Set(password).size < 4) fail('too_repetitive', 'a password needs at least 4 different characters');
  const lower = password.toLowerCase();
  if (COMMON.some((c) => lower.includes(c))) fail('too_common', 'this password is among the most common ones');
  for (const part of personal.map((p) => p.toLowerCase()).filter((p) => p.length >= 4)) {
    if (lower.includes(part)) fail('personal', 'a password must not contain your name or email');
  }
}
