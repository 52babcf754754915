import type { Doc, ReadStore } from '../readstore/port';
import type { PersonalKeyStore } from './keys';

interface KeyDoc extends Doc {
  rev: number;
  sealedKey: string;
}

const KEYS = 'gatehouse_personal_keys';

/**
 * Keys for a deployment whose event store has no tables (EventStoreDB): in the
 * read store's database (MongoDB), in a collection no rebuild touches. Back it up
 * with the events: losing it loses every person's data.
 */
export class ReadStorePersonalKeys implements PersonalKeyStore {
  constructor(private readonly store: ReadStore) {}

  async find(subjects: readonly string[]): Promise<Map<string, string>> {
    const docs = await this.store.getMany<KeyDoc>(KEYS, [...new Set(subjects)]);
    return new Map([...docs].map(([id, doc]) => [id, doc.sealedKey]));
  }

  async createMany(keys: ReadonlyArray<readonly [string, string]>): Promise<Map<string, string>> {
    for (const [subject, sealedKey] of keys) await this.store.swap<KeyDoc>(KEYS, { id: subject, sealedKey }, 0);
    return this.find(keys.map(([subject]) => subject));
  }

  async destroy(subjects: readonly string[]): Promise<void> {
    if (subjects.length > 0) await this.store.deleteWhere(KEYS, { id: { in: [...subjects] } });
  }

  async close(): Promise<void> {}
}
