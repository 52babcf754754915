import { Pool } from 'pg';
import type { LeaseGrant, Leases } from './port';

interface Row {
  name: string;
  holder: string;
  token: number;
  acquired_at: Date;
  until: Date;
}

const grant = (row: Row): LeaseGrant => ({ name: row.name, holder: row.holder, token: Number(row.token), acquiredAt: row.acquired_at, until: row.until });

/**
 * Leases in the event store's PostgreSQL, on the server's clock: one row per
 * lease, taken or renewed by one conditional upsert, so concurrent replicas
 * cannot both win; each holder's term is kept in `gatehouse_lease_terms`.
 */
export class PostgresLeases implements Leases {
  private readonly pool: Pool;
  private ready?: Promise<void>;

  constructor(url: string) {
    // Its own small pool: a lease renewal never waits behind the event store's queries.
    this.pool = new Pool({ connectionString: url, max: 2 });
    this.pool.on('error', () => undefined); // a dropped idle connection; the next query reconnects
  }

  private init(): Promise<void> {
    this.ready ??= this.pool
      .query(
        `CREATE TABLE IF NOT EXISTS gatehouse_leases (name text PRIMARY KEY, holder text NOT NULL, token bigint NOT NULL, acquired_at timestamptz NOT NULL, until timestamptz NOT NULL);
         CREATE TABLE IF NOT EXISTS gatehouse_lease_terms (name text NOT NULL, token bigint NOT NULL, holder text NOT NULL, acquired_at timestamptz NOT NULL, until timestamptz NOT NULL, PRIMARY KEY (name, token));`,
      )
      .then(() => undefined)
      .catch((error: unknown) => {
        this.ready = undefined;
        throw error;
      });
    return this.ready;
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    await this.init();
    const { rows } = await this.pool.query<Row>(
      `WITH taken AS (
         INSERT INTO gatehouse_leases AS l (name, holder, token, acquired_at, until)
         VALUES ($1, $2, 1, clock_timestamp(), clock_timestamp() + make_interval(secs => $3::double precision / 1000))
         ON CONFLICT (name) DO UPDATE SET
           holder = EXCLUDED.holder,
           token = CASE WHEN l.holder = EXCLUDED.holder THEN l.token ELSE l.token + 1 END,
           acquired_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.acquired_at ELSE EXCLUDED.acquired_at END,
           until = EXCLUDED.until
         WHERE l.holder = EXCLUDED.holder OR l.until <= clock_timestamp()
         RETURNING l.name, l.holder, l.token, l.acquired_at, l.until
       )
       INSERT INTO gatehouse_lease_terms (name, token, holder, acquired_at, until)
       SELECT name, token, holder, acquired_at, until FROM taken
       ON CONFLICT (name, token) DO UPDATE SET until = EXCLUDED.until
       RETURNING name, holder, token, acquired_at, until`,
      [name, holder, ttlMs],
    );
    return rows[0] && grant(rows[0]);
  }

  async release(name: string, holder: string): Promise<void> {
    await this.init();
    await this.pool.query(
      `WITH ended AS (UPDATE gatehouse_leases SET until = clock_timestamp() WHERE name = $1 AND holder = $2 AND until > clock_timestamp() RETURNING name, token, until)
       UPDATE gatehouse_lease_terms t SET until = ended.until FROM ended WHERE t.name = ended.name AND t.token = ended.token`,
      [name, holder],
    );
  }

  async history(name: string): Promise<LeaseGrant[]> {
    await this.init();
    const { rows } = await this.pool.query<Row>('SELECT name, holder, token, acquired_at, until FROM gatehouse_lease_terms WHERE name = $1 ORDER BY token', [name]);
    return rows.map(grant);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
