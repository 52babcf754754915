import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Seals secrets Gatehouse must read back later (a TOTP secret) with AES-256-GCM,
 * so an event holds only ciphertext. The key comes from SECRET_KEY or, on the
 * embedded default, a key file created once in the data folder.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('a sealing key is 32 bytes');
  }

  static fromKeyFile(file: string): SecretBox {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
    }
    chmodSync(file, 0o600);
    return new SecretBox(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  /** A signature only Gatehouse can make: HMAC-SHA256 of `message` under a key derived from this one for `purpose` alone. */
  sign(purpose: string, message: string): string {
    let key = this.signingKeys.get(purpose);
    if (!key) {
      key = createHmac('sha256', this.key).update(`gatehouse-signing:${purpose}`).digest();
      this.signingKeys.set(purpose, key);
    }
    return createHmac('sha256', key).update(message).digest('base64url');
  }

  /** Each purpose's key, derived once: a bulk import names thousands of emails a second. A handful of fixed purposes. */
  private readonly signingKeys = new Map<string, Buffer>();

  /** Whether `signature` is `sign(purpose, message)`, compared in constant time. */
  verify(purpose: string, message: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(purpose, message));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1') throw new Error('unknown sealing version');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}
