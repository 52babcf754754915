import Database from 'better-sqlite3';
import type { PersonalKeyStore } from './keys';

/**
 * Keys in the embedded event store's SQLite file, in a table of their own. With
 * `secure_delete` a destroyed key's bytes are overwritten, and the write-ahead log
 * is truncated after each destroy, so no old page keeps a copy.
 */
export class SqlitePersonalKeys implements PersonalKeyStore {
  private readonly db: Database.Database;
  private readonly get: Database.Statement<[string], { sealed_key: string }>;
  private readonly insert: Database.Statement<[string, string, number]>;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('secure_delete = ON');
    this.db.exec('CREATE TABLE IF NOT EXISTS gatehouse_personal_keys (subject TEXT PRIMARY KEY, sealed_key TEXT NOT NULL, created_at INTEGER NOT NULL)');
    this.get = this.db.prepare('SELECT sealed_key FROM gatehouse_personal_keys WHERE subject = ?');
    this.insert = this.db.prepare('INSERT INTO gatehouse_personal_keys (subject, sealed_key, created_at) VALUES (?, ?, ?) ON CONFLICT (subject) DO NOTHING');
  }

  async find(subjects: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const subject of new Set(subjects)) {
      const row = this.get.get(subject);
      if (row) found.set(subject, row.sealed_key);
    }
    return found;
  }

  async createMany(keys: ReadonlyArray<readonly [string, string]>): Promise<Map<string, string>> {
    // One transaction (one sync to disk) for a whole batch of new people.
    return this.db.transaction(() => {
      const at = Date.now();
      const kept = new Map<string, string>();
      for (const [subject, sealedKey] of keys) {
        // Inserted: ours is the key; else another writer's came first, and is read back.
        const inserted = this.insert.run(subject, sealedKey, at).changes === 1;
        kept.set(subject, inserted ? sealedKey : this.get.get(subject)!.sealed_key);
      }
      return kept;
    }).immediate();
  }

  async destroy(subjects: readonly string[]): Promise<void> {
    const remove = this.db.prepare('DELETE FROM gatehouse_personal_keys WHERE subject = ?');
    this.db.transaction(() => subjects.forEach((s) => remove.run(s)))();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
