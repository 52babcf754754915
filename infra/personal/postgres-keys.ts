import { Pool } from 'pg';
import type { PersonalKeyStore } from './keys';

/** Keys in the PostgreSQL event store's database, in a table of their own; a destroy is followed by a VACUUM of that table, so dead rows do not keep a copy. */
export class PostgresPersonalKeys implements PersonalKeyStore {
  private readonly pool: Pool;
  private ready?: Promise<unknown>;

  constructor(url: string) {
    this.pool = new Pool({ connectionString: url, max: 2 });
    this.pool.on('error', () => undefined); // a dropped idle connection; the next query reconnects
  }

  private init(): Promise<unknown> {
    this.ready ??= this.pool
      .query('CREATE TABLE IF NOT EXISTS gatehouse_personal_keys (subject TEXT PRIMARY KEY, sealed_key TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())')
      .catch((error: unknown) => {
        this.ready = undefined;
        throw error;
      });
    return this.ready;
  }

  async find(subjects: readonly string[]): Promise<Map<string, string>> {
    await this.init();
    const { rows } = await this.pool.query<{ subject: string; sealed_key: string }>('SELECT subject, sealed_key FROM gatehouse_personal_keys WHERE subject = ANY($1)', [[...new Set(subjects)]]);
    return new Map(rows.map((r) => [r.subject, r.sealed_key]));
  }

  async createMany(keys: ReadonlyArray<readonly [string, string]>): Promise<Map<string, string>> {
    await this.init();
    const subjects = keys.map(([subject]) => subject);
    await this.pool.query('INSERT INTO gatehouse_personal_keys (subject, sealed_key) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (subject) DO NOTHING', [subjects, keys.map(([, sealed]) => sealed)]);
    return this.find(subjects);
  }

  async destroy(subjects: readonly string[]): Promise<void> {
    await this.init();
    await this.pool.query('DELETE FROM gatehouse_personal_keys WHERE subject = ANY($1)', [[...subjects]]);
    await this.pool.query('VACUUM gatehouse_personal_keys').catch(() => undefined); // best effort: autovacuum gets there too
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
