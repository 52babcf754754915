import Database from 'better-sqlite3';
import type { LeaseGrant, Leases } from './port';

interface Row {
  name: string;
  holder: string;
  token: number;
  acquired_at: number;
  until: number;
}

const grant = (row: Row): LeaseGrant => ({ name: row.name, holder: row.holder, token: row.token, acquiredAt: new Date(row.acquired_at), until: new Date(row.until) });

/**
 * Leases in the embedded store's SQLite file, on this machine's clock (every
 * process that opens the file runs on it). Each acquire is one IMMEDIATE
 * transaction: processes sharing the file take turns, so only one can win.
 */
export class SqliteLeases implements Leases {
  private readonly db: Database.Database;
  private readonly acquireTx: (name: string, holder: string, ttlMs: number) => Row | undefined;

  constructor(file: string, private readonly now: () => number = Date.now) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`CREATE TABLE IF NOT EXISTS gatehouse_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, token INTEGER NOT NULL, acquired_at INTEGER NOT NULL, until INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS gatehouse_lease_terms (name TEXT NOT NULL, token INTEGER NOT NULL, holder TEXT NOT NULL, acquired_at INTEGER NOT NULL, until INTEGER NOT NULL, PRIMARY KEY (name, token));`);
    const current = this.db.prepare<[string], Row>('SELECT name, holder, token, acquired_at, until FROM gatehouse_leases WHERE name = ?');
    const put = this.db.prepare('INSERT INTO gatehouse_leases (name, holder, token, acquired_at, until) VALUES (@name, @holder, @token, @acquired_at, @until) ON CONFLICT (name) DO UPDATE SET holder = @holder, token = @token, acquired_at = @acquired_at, until = @until');
    const term = this.db.prepare('INSERT INTO gatehouse_lease_terms (name, token, holder, acquired_at, until) VALUES (@name, @token, @holder, @acquired_at, @until) ON CONFLICT (name, token) DO UPDATE SET until = @until');
    const tx = this.db.transaction((name: string, holder: string, ttlMs: number): Row | undefined => {
      const at = this.now();
      const held = current.get(name);
      if (held && held.holder !== holder && held.until > at) return undefined;
      const same = held?.holder === holder;
      const row: Row = { name, holder, token: same ? held.token : (held?.token ?? 0) + 1, acquired_at: same ? held.acquired_at : at, until: at + ttlMs };
      put.run(row);
      term.run(row);
      return row;
    });
    this.acquireTx = (name, holder, ttlMs) => tx.immediate(name, holder, ttlMs);
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    const row = this.acquireTx(name, holder, ttlMs);
    return row && grant(row);
  }

  async release(name: string, holder: string): Promise<void> {
    const at = this.now();
    this.db.transaction(() => {
      const held = this.db.prepare<[string, string, number], Row>('SELECT name, holder, token, acquired_at, until FROM gatehouse_leases WHERE name = ? AND holder = ? AND until > ?').get(name, holder, at);
      if (!held) return;
      this.db.prepare('UPDATE gatehouse_leases SET until = ? WHERE name = ?').run(at, name);
      this.db.prepare('UPDATE gatehouse_lease_terms SET until = ? WHERE name = ? AND token = ?').run(at, name, held.token);
    }).immediate();
  }

  async history(name: string): Promise<LeaseGrant[]> {
    return this.db.prepare<[string], Row>('SELECT name, holder, token, acquired_at, until FROM gatehouse_lease_terms WHERE name = ? ORDER BY token').all(name).map(grant);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
