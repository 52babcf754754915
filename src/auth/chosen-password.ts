import { checkPasswordStrength, type PasswordOwner } from '../../domain/user/password-policy';
import { commonPasswords } from '../../infra/crypto/common-passwords';
import { hashPassword } from '../../infra/crypto/passwords';

/**
 * A password someone chose, held to the strength rules (R-CRED-1: with the person's
 * own words and the common-password list) and then hashed with argon2id. `current`:
 * the password it replaces, when the person gave it.
 */
export async function chosenPasswordHash(password: string, person: PasswordOwner, current?: string): Promise<string> {
  checkPasswordStrength(password, person, commonPasswords(), current);
  return hashPassword(password);
}
