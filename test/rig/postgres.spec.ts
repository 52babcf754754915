import { Client } from 'pg';
import { createTestDatabase } from './postgres';

async function query<T extends object>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

describe('test rig: PostgreSQL', () => {
  it('creates a throwaway database, queries it and drops it', async () => {
    const db = await createTestDatabase();

    expect(await query(db.url, 'select 1 as one, current_database() as name')).toEqual([{ one: 1, name: db.name }]);

    // A connection a test forgot to close must not block the drop.
    const leaked = new Client({ connectionString: db.url });
    leaked.on('error', () => undefined); // the forced drop terminates it
    await leaked.connect();

    await db.drop();

    const adminUrl = process.env.POSTGRES_URL as string;
    expect(await query(adminUrl, 'select 1 from pg_database where datname = $1', [db.name])).toEqual([]);
    await leaked.end().catch(() => undefined);
  });
});
