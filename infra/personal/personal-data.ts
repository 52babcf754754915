import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { personalFieldsOf, type DataSubject, type PersonalField } from '../../domain/events';
import { normalizeEmail } from '../../domain/shared/email';
import type { SecretBox } from '../crypto/sealing';
import { NameKeys } from '../crypto/name-keys';
import type { PersonalKeyStore } from './keys';

/** How an encrypted field starts: `pd1.<subject>.<iv>.<tag>.<ciphertext>` (base64url parts; the plaintext is the value's JSON). */
const PREFIX = 'pd1.';
/** What an erased field reads as: the data keeps its shape, the person is gone. */
export const ERASED = '';
/** How long a replica trusts a key it looked up: an erasure elsewhere reaches its reads within this. */
const KEY_CACHE_MS = 10_000;
/** Keys kept at most (least recently used go first): memory stays flat however many people a long read meets. */
const KEY_CACHE_SIZE = 10_000;

export interface EventData {
  type: string;
  data: unknown;
}

/**
 * Crypto-shredding (R-ACC-3, SPEC 5.1): each person's data in the log is
 * encrypted with a key of that person (AES-256-GCM); erasing the person
 * destroys the key, and every copy in the log reads as erased. Which fields are
 * personal, and whose, is the domain's list (domain/personal.ts).
 */
export class PersonalData {
  private readonly cache = new Map<string, { key: Buffer | undefined; until: number }>();

  constructor(
    private readonly keys: PersonalKeyStore,
    private readonly box: SecretBox,
    private readonly now: () => number = Date.now,
    private readonly names: NameKeys = new NameKeys(box),
  ) {}

  /** The name a subject's key is kept under (an email's by its keyed name: the address is not readable from it). */
  subjectOf(subject: DataSubject): string {
    return subjectName(subject, this.names);
  }

  /** The event's data with each personal field encrypted with its person's key (made on first use). */
  async seal(event: EventData): Promise<unknown> {
    return (await this.sealAll([event]))[0];
  }

  /** Each event's data sealed as `seal` does; the keys of a whole batch are looked up at once, and the new ones made in one step. */
  async sealAll(events: readonly EventData[]): Promise<unknown[]> {
    const subjects = new Set<string>();
    const fieldsOf = events.map((event) => clearFields(event, this.names));
    for (const fields of fieldsOf) for (const { subject } of fields) subjects.add(subject);
    if (subjects.size === 0) return events.map((e) => e.data);
    const keys = await this.keysFor([...subjects]);
    return events.map((event, i) => {
      const fields = fieldsOf[i];
      if (fields.length === 0) return event.data;
      let data = event.data as Record<string, unknown>;
      for (const { path, subject, value } of fields) data = setCopied(data, path, encrypt(subject, keys.get(subject)!, value));
      return data;
    });
  }

  /** Events with their personal fields decrypted; a field whose key is gone reads as ERASED. Keys are looked up once per batch. */
  async open<E extends EventData>(events: readonly E[]): Promise<E[]> {
    const subjects = new Set<string>();
    for (const event of events) for (const sealed of sealedValues(event)) subjects.add(subjectOfSealed(sealed.value));
    if (subjects.size === 0) return [...events];
    const keys = await this.lookUp([...subjects]);
    return events.map((event) => {
      const fields = personalFieldsOf(event.type);
      if (!fields || !isObject(event.data)) return event;
      let data = event.data;
      for (const field of fields) {
        const value = valueAt(event.data, field.path);
        if (typeof value !== 'string' || !value.startsWith(PREFIX)) continue;
        data = setCopied(data, field.path, decrypt(value, keys.get(subjectOfSealed(value))));
      }
      return data === event.data ? event : { ...event, data };
    });
  }

  /**
   * The export's `personal` (SPEC 5.1): the decrypted personal fields of stored
   * data, in the data's shape; undefined when it holds none that can still be read.
   */
  async personalOf(event: EventData): Promise<Record<string, unknown> | undefined> {
    const fields = personalFieldsOf(event.type);
    if (!fields || !isObject(event.data)) return undefined;
    const [opened] = await this.open([event]);
    let personal: Record<string, unknown> | undefined;
    for (const field of fields) {
      const stored = valueAt(event.data, field.path);
      if (typeof stored !== 'string' || !stored.startsWith(PREFIX)) continue;
      const value = valueAt(opened.data as Record<string, unknown>, field.path);
      if (value === ERASED) continue;
      personal ??= {};
      setAt(personal, field.path, value);
    }
    return personal;
  }

  /** Erasure: the subjects' keys are destroyed, here and (within KEY_CACHE_MS) on every replica. */
  async forget(subjects: readonly DataSubject[]): Promise<void> {
    await this.forgetNamed(subjects.map((s) => this.subjectOf(s)));
  }

  /** The same, by the keys' names (as UserErased and OrganizationDeleted keep them). */
  async forgetNamed(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.keys.destroy(names);
    for (const name of names) this.remember(name, undefined);
  }

  close(): Promise<void> {
    return this.keys.close();
  }

  /** A Map keeps insertion order: a key set again moves to the end, and the oldest goes first past the bound. */
  private remember(subject: string, key: Buffer | undefined): void {
    this.cache.delete(subject);
    this.cache.set(subject, { key, until: this.now() + KEY_CACHE_MS });
    if (this.cache.size > KEY_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The keys of these subjects, made for those that have none yet. */
  private async keysFor(subjects: string[]): Promise<Map<string, Buffer>> {
    const keys = await this.lookUp(subjects);
    const missing = subjects.filter((s) => !keys.has(s));
    if (missing.length === 0) return keys;
    const made = new Map(missing.map((subject) => {
      const key = randomBytes(32).toString('base64');
      return [subject, { key, sealed: this.box.seal(key) }] as const;
    }));
    const kept = await this.keys.createMany([...made].map(([subject, { sealed }]) => [subject, sealed] as const));
    for (const [subject, sealed] of kept) {
      // The key made here, unless another writer made this subject's first (then its key is the one kept).
      const mine = made.get(subject);
      const key = Buffer.from(mine?.sealed === sealed ? mine.key : this.box.open(sealed), 'base64');
      this.remember(subject, key);
      keys.set(subject, key);
    }
    return keys;
  }

  private async lookUp(subjects: string[]): Promise<Map<string, Buffer>> {
    const keys = new Map<string, Buffer>();
    const missing: string[] = [];
    for (const subject of subjects) {
      const cached = this.cache.get(subject);
      if (cached && cached.until > this.now()) {
        if (cached.key) keys.set(subject, cached.key);
      } else missing.push(subject);
    }
    if (missing.length === 0) return keys;
    const found = await this.keys.find(missing);
    for (const subject of missing) {
      const sealed = found.get(subject);
      const key = sealed ? Buffer.from(this.box.open(sealed), 'base64') : undefined;
      this.remember(subject, key);
      if (key) keys.set(subject, key);
    }
    return keys;
  }
}

/**
 * Whether an event as stored holds a personal field in clear. The service seals every
 * one it appends, so only events written before encryption existed can: they are kept
 * as they are (the hash chain forbids rewriting them), and erasure cannot reach them.
 */
export function holdsClearPersonalData(event: EventData): boolean {
  const fields = personalFieldsOf(event.type);
  if (!fields || !isObject(event.data)) return false;
  return fields.some((field) => {
    const value = valueAt(event.data as Record<string, unknown>, field.path);
    return typeof value === 'string' && value !== ERASED && !value.startsWith(PREFIX);
  });
}

/** Whether a value is personal data sealed by this codec (for scans and tests). */
export function isSealed(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

/** The personal fields of an event still in clear, with whose they are. */
function clearFields(event: EventData, names: NameKeys): Array<{ path: readonly string[]; subject: string; value: string }> {
  const fields = personalFieldsOf(event.type);
  if (!fields || !isObject(event.data)) return [];
  const found: Array<{ path: readonly string[]; subject: string; value: string }> = [];
  for (const field of fields) {
    const value = valueAt(event.data, field.path);
    if (typeof value !== 'string' || value === '' || value.startsWith(PREFIX)) continue;
    const whose = field.subject(event.data as never);
    if (whose) found.push({ path: field.path, subject: subjectName(whose, names), value });
  }
  return found;
}

function subjectName(subject: DataSubject, names: NameKeys): string {
  if ('orgId' in subject) return `member-${subject.orgId}-${subject.userId}`;
  if ('userId' in subject) return `user-${subject.userId}`;
  return `email-${'email' in subject ? names.email(normalizeEmail(subject.email)) : subject.emailKey}`;
}

/** Random bytes drawn a few kilobytes at a time: one call to the system's generator per 341 IVs, not per field. */
let pool = Buffer.alloc(0);
let pooled = 0;
function freshIv(): Buffer {
  if (pooled + 12 > pool.length) {
    pool = randomBytes(4092);
    pooled = 0;
  }
  // Each IV is used once: the pool is never read twice at the same place.
  return pool.subarray(pooled, (pooled += 12));
}

function encrypt(subject: string, key: Buffer, value: string): string {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  // The subject is authenticated with the value: a field cannot be moved under another person's name.
  cipher.setAAD(Buffer.from(subject));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `${PREFIX}${subject}.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
}

function decrypt(sealed: string, key: Buffer | undefined): unknown {
  if (!key) return ERASED;
  const [, subject, iv, tag, body] = sealed.split('.');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(subject));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return JSON.parse(Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8'));
  } catch {
    // Sealed with a key since destroyed (the subject has a new one now): erased.
    return ERASED;
  }
}

function subjectOfSealed(sealed: string): string {
  return sealed.slice(PREFIX.length, sealed.indexOf('.', PREFIX.length));
}

function* sealedValues(event: EventData): Generator<{ value: string }> {
  const fields = personalFieldsOf(event.type);
  if (!fields || !isObject(event.data)) return;
  for (const field of fields) {
    const value = valueAt(event.data, field.path);
    if (typeof value === 'string' && value.startsWith(PREFIX)) yield { value };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(data: Record<string, unknown>, path: readonly string[]): unknown {
  let at: unknown = data;
  for (const key of path) {
    if (!isObject(at)) return undefined;
    at = at[key];
  }
  return at;
}

/**
 * `data` with `value` at `path`, copying only the objects on the path (the rest is shared, never changed): the
 * event's own data stays as it was, at a fraction of a deep copy's cost (a bulk import seals thousands a second).
 */
function setCopied<T>(data: T, path: readonly string[], value: unknown): T {
  const top = { ...(data as Record<string, unknown>) };
  let at = top;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    at = at[key] = isObject(next) ? { ...next } : {};
  }
  at[path[path.length - 1]] = value;
  return top as T;
}

function setAt(data: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let at = data;
  for (const key of path.slice(0, -1)) {
    if (!isObject(at[key])) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[path[path.length - 1]] = value;
}
