import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Doc } from '../../projections/projection';
import type { Changes, Condition, IndexSpec, Query, ReadStore } from './port';
import { checkName, keysetAlternatives, prefixEnd } from './query-shape';

const table = (collection: string) => `rm_${checkName(collection)}`;
const column = (field: string) => (field === 'id' ? 'id' : `json_extract(doc, '$.${checkName(field)}')`);
const bind = (value: unknown) => (typeof value === 'boolean' ? (value ? 1 : 0) : value);

/**
 * The embedded read store: documents as JSON in SQLite, with expression indexes on
 * the fields queries filter and sort on. Persisted beside the event store, so a
 * restart resumes from the checkpoint instead of rebuilding.
 */
export class SqliteReadStore implements ReadStore {
  readonly name = 'sqlite';
  private readonly db: Database.Database;
  private readonly tables = new Set<string>();

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // A crash loses at most the last batch, which the checkpoint makes the runner apply again.
    this.db.pragma('synchronous = NORMAL');
    // The rebuild CLI writes beside a running service.
    this.db.pragma('busy_timeout = 5000');
    this.db.exec('CREATE TABLE IF NOT EXISTS rm_checkpoints (projection TEXT PRIMARY KEY, position TEXT NOT NULL)');
    this.db.exec('CREATE TABLE IF NOT EXISTS rm_generations (projection TEXT PRIMARY KEY, generation INTEGER NOT NULL)');
  }

  private ensureTable(collection: string): string {
    const name = table(collection);
    if (!this.tables.has(name)) {
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${name} (id TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID`);
      this.tables.add(name);
    }
    return name;
  }

  async ensureIndexes(indexes: IndexSpec[]): Promise<void> {
    for (const { collection, fields } of indexes) {
      const name = this.ensureTable(collection);
      this.db.exec(`CREATE INDEX IF NOT EXISTS ${name}__${fields.map(checkName).join('_')} ON ${name} (${fields.map(column).join(', ')})`);
    }
  }

  async getMany<D extends Doc>(collection: string, ids: string[]): Promise<Map<string, D>> {
    const name = this.ensureTable(collection);
    const found = new Map<string, D>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.db.prepare(`SELECT doc FROM ${name} WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as Array<{ doc: string }>;
      for (const row of rows) {
        const doc = JSON.parse(row.doc) as D;
        found.set(doc.id, doc);
      }
    }
    return found;
  }

  async write(changes: Changes, checkpoint: { projection: string; position: bigint }): Promise<void> {
    for (const { collection } of [...changes.puts, ...changes.deletes]) this.ensureTable(collection);
    this.db.transaction(() => {
      for (const { collection, doc } of changes.puts) this.db.prepare(`INSERT OR REPLACE INTO ${table(collection)} (id, doc) VALUES (?, ?)`).run(doc.id, JSON.stringify(doc));
      for (const { collection, id } of changes.deletes) this.db.prepare(`DELETE FROM ${table(collection)} WHERE id = ?`).run(id);
      this.db.prepare('INSERT OR REPLACE INTO rm_checkpoints (projection, position) VALUES (?, ?)').run(checkpoint.projection, checkpoint.position.toString());
    })();
  }

  async checkpoint(projection: string): Promise<bigint> {
    const row = this.db.prepare('SELECT position FROM rm_checkpoints WHERE projection = ?').get(projection) as { position: string } | undefined;
    return BigInt(row?.position ?? 0);
  }

  async find<D extends Doc>(query: Query): Promise<D[]> {
    const name = this.ensureTable(query.collection);
    const { clause, params } = this.whereOf(query.where, query.anyOf);
    const keyset = this.keysetOf(query, params);
    const where = [clause, keyset].filter(Boolean).join(' AND ');
    const order = query.orderBy.map(([f, dir]) => `${column(f)} ${dir === 'asc' ? 'ASC' : 'DESC'}`).join(', ');
    const rows = this.db.prepare(`SELECT doc FROM ${name} ${where ? `WHERE ${where}` : ''} ORDER BY ${order} LIMIT ?`).all(...params, query.limit) as Array<{ doc: string }>;
    return rows.map((r) => JSON.parse(r.doc) as D);
  }

  /**
   * Keyset pagination that SQLite serves from the (…, key, id) index: for a sort on
   * (key, id), `key >= last AND (key > last OR id > lastId)` gives the index a range
   * to seek to (an OR of alternatives, or a row value, does not on expression indexes).
   */
  private keysetOf(query: Query, params: unknown[]): string {
    if (!query.after) return '';
    const alternatives = keysetAlternatives(query);
    const directions = new Set(query.orderBy.map(([, d]) => d));
    if (query.orderBy.length === 2 && directions.size === 1) {
      const [[field], [idField]] = query.orderBy;
      const [value, id] = query.after.map(bind);
      const [wide, strict] = directions.has('asc') ? ['>=', '>'] : ['<=', '<'];
      params.push(value, value, id);
      return `${column(field)} ${wide} ? AND (${column(field)} ${strict} ? OR ${column(idField)} ${strict} ?)`;
    }
    return `(${alternatives.map((alt) => `(${alt.map(({ field, op, value }) => (params.push(bind(value)), `${column(field)} ${op === 'eq' ? '=' : op === 'gt' ? '>' : '<'} ?`)).join(' AND ')})`).join(' OR ')})`;
  }

  async count(collection: string, where: Record<string, Condition>): Promise<number> {
    const name = this.ensureTable(collection);
    const { clause, params } = this.whereOf(where);
    return (this.db.prepare(`SELECT count(*) AS n FROM ${name} ${clause ? `WHERE ${clause}` : ''}`).get(...params) as { n: number }).n;
  }

  async reset(projection: string, collections: readonly string[]): Promise<void> {
    this.db.transaction(() => {
      for (const c of collections) this.db.prepare(`DELETE FROM ${this.ensureTable(c)}`).run();
      this.db.prepare('DELETE FROM rm_checkpoints WHERE projection = ?').run(projection);
    })();
  }

  async generation(projection: string): Promise<number> {
    const row = this.db.prepare('SELECT generation FROM rm_generations WHERE projection = ?').get(projection) as { generation: number } | undefined;
    return row?.generation ?? 1;
  }

  async switchGeneration(projection: string, generation: number): Promise<void> {
    this.db.prepare('INSERT OR REPLACE INTO rm_generations (projection, generation) VALUES (?, ?)').run(projection, generation);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private whereOf(where: Record<string, Condition>, anyOf?: Array<Record<string, Condition>>): { clause: string; params: unknown[] } {
    const params: unknown[] = [];
    const all = (conditions: Record<string, Condition>) =>
      Object.entries(conditions).map(([field, c]) => {
        const col = column(field);
        if (typeof c !== 'object') return params.push(bind(c)), `${col} = ?`;
        if ('in' in c) return params.push(...c.in.map(bind)), `${col} IN (${c.in.map(() => '?').join(',') || 'NULL'})`;
        if ('prefix' in c) return params.push(c.prefix, prefixEnd(c.prefix)), `${col} >= ? AND ${col} < ?`;
        if ('gt' in c) return params.push(c.gt), `${col} > ?`;
        return params.push(c.lt), `${col} < ?`;
      });
    const parts = all(where);
    if (anyOf?.length) parts.push(`(${anyOf.map((alt) => `(${all(alt).join(' AND ')})`).join(' OR ')})`);
    return { clause: parts.join(' AND '), params };
  }
}
