import type { SecretBox } from './sealing';

/**
 * The keys that name a person's reservations and key subjects in stream names
 * (`email-…`, `username-…`, `identity-…`, `emailrequests-…`) and in sealed values.
 * Each is an HMAC-SHA256 under a key derived from SECRET_KEY (or the embedded
 * default's key file), not a plain hash: from a stream name left in the log after
 * an erasure, nobody without the key can test guessed addresses (R-ACC-3).
 */
export class NameKeys {
  constructor(private readonly box: SecretBox) {}

  /** The key of a normalized email address. */
  email(normalizedEmail: string): string {
    return this.box.sign('name-key:email', normalizedEmail).slice(0, 32);
  }

  /** The key of a username (compared without case or surrounding spaces). */
  username(username: string): string {
    return this.box.sign('name-key:username', username.trim().toLowerCase()).slice(0, 32);
  }

  /** The key of an identity provider's subject id. */
  identity(subject: string): string {
    return this.box.sign('name-key:identity', subject).slice(0, 32);
  }
}
