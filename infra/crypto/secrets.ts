import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';

/** A link or session token: 256 random bits (R-SEC-2 asks for at least 128). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Tokens are stored and looked up only by this hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export function newId(): string {
  return randomUUID();
}

const TEMPORARY_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A temporary password: 16 characters from an alphabet without look-alikes (about 93 bits). */
export function newTemporaryPassword(): string {
  const bytes = randomBytes(32);
  let out = '';
  for (const b of bytes) {
    if (b >= 4 * TEMPORARY_ALPHABET.length) continue; // rejection sampling keeps it uniform
    out += TEMPORARY_ALPHABET[b % TEMPORARY_ALPHABET.length];
    if (out.length === 16) return out;
  }
  return out + newTemporaryPassword().slice(0, 16 - out.length);
}

/** A random 6-digit code; the caller checks it against the access-code rules. */
export function newSixDigits(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}
