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

  async create(subject: string, sealedKey: string): Promise<string> {
    await this.init();
    await this.pool.query('INSERT INTO gatehouse_personal_keys (subject, sealed_key) VALUES ($1, $2) ON CONFLICT (subject) DO NOTHING', [subject, sealedKey]);
    const { rows } = await this.pool.query<{ sealed_key: string }>('SELECT sealed_key FROM gatehouse_personal_keys WHERE subject = $1', [subject]);
    return rows[0].sealed_key;
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
