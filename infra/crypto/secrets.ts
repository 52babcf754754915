import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** A link or session token: 256 random bits (R-SEC-2 asks for at least 128). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Tokens are stored and looked up only by this hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** A stable key for an email in stream names: no personal data in the clear there. */
export function emailKey(normalizedEmail: string): string {
  return createHash('sha256').update(normalizedEmail).digest('base64url').slice(0, 32);
}

export function newId(): string {
  return randomUUID();
}
