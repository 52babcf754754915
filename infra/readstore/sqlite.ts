import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkName, keysetAlternatives, keysetBound, mergePages, prefixEnd, type Changes, type Condition, type Doc, type IndexSpec, type Query, type ReadStore, type RefusedDocument, type WriteResult } from './port';

const table = (collection: string) => `rm_${checkName(collection)}`;
const column = (field: string) => (field === 'id' ? 'id' : `json_extract(doc, '$.${checkName(field)}')`);
const bind = (value: unknown) => (typeof value === 'boolean' ? (value ? 1 : 0) : value);
const orderOf = (query: Query) => query.orderBy.map(([f, dir]) => `${column(f)} ${dir === 'asc' ? 'ASC' : 'DESC'}`).join(', ');
/** Below this many matches an alternative of a query is read whole and sorted (see pagesOfAlternatives). */
const SPARSE = 250;
/** Rows a walk in sort order reads at most while looking for a page of dense alternatives' matches: per row of the page, and at least. */
const WALK_ROWS_PER_ROW = 80;
const WALK_ROWS_AT_LEAST = 1000;
/** Prepared statements kept: queries differ only in their shape (fields, list lengths), so a few hundred cover them. */
const STATEMENTS_KEPT = 500;

/** A document as JSON, or why it has none (a cycle, a bigint): such a document is refused, not retried. */
function serialized(doc: Doc): string | { reason: string } {
  try {
    return JSON.stringify(doc);
  } catch (error) {
    return { reason: `${(error as Error).name}: ${(error as Error).message}`.slice(0, 200) };
  }
}

/**
 * The embedded read store: documents as JSON in SQLite, with expression indexes on
 * the fields queries filter and sort on. Persisted beside the event store, so a
 * restart resumes from the checkpoint instead of rebuilding.
 */
export class SqliteReadStore implements ReadStore {
  readonly name = 'sqlite';
  private readonly db: Database.Database;
  private readonly tables = new Set<string>();
  /** Prepared statements by SQL text, least recently used first. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(
    file: string,
    /** For tests: how many rows a walk in sort order reads before it gives up, instead of a number by page size (see pagesOfAlternatives). */
    private readonly walkBudget?: number,
  ) {
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

  private statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement) this.statements.delete(sql);
    else {
      statement = this.db.prepare(sql);
      if (this.statements.size >= STATEMENTS_KEPT) this.statements.delete(this.statements.keys().next().value!);
    }
    this.statements.set(sql, statement);
    return statement;
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
      const rows = this.statement(`SELECT doc FROM ${name} WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as Array<{ doc: string }>;
      for (const row of rows) {
        const doc = JSON.parse(row.doc) as D;
        found.set(doc.id, doc);
      }
    }
    return found;
  }

  async write(changes: Changes, checkpoint: { projection: string; position: bigint }): Promise<WriteResult> {
    for (const { collection } of [...changes.puts, ...changes.deletes]) this.ensureTable(collection);
    const at = checkpoint.position.toString();
    const refused: RefusedDocument[] = [];
    this.db.transaction(() => {
      // The position guard, in the store: a document is replaced only by one that holds the same or a later event, so a
      // second writer (a rolling deploy, a rebuild racing the service) never moves it backwards. Unguarded documents (no _pos) are replaced.
      for (const { collection, doc } of changes.puts) {
        const name = table(collection);
        const json = serialized(doc);
        if (typeof json !== 'string') {
          refused.push({ collection, id: doc.id, reason: json.reason });
          continue;
        }
        try {
          this.statement(
            `INSERT INTO ${name} (id, doc) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc
             WHERE json_extract(excluded.doc, '$._pos') IS NULL OR json_extract(${name}.doc, '$._pos') IS NULL
                OR CAST(json_extract(${name}.doc, '$._pos') AS INTEGER) <= CAST(json_extract(excluded.doc, '$._pos') AS INTEGER)`,
          ).run(doc.id, json);
        } catch (error) {
          // Too big for a row: the same on every try. Anything else (busy, disk full, I/O) may pass, and fails the batch.
          if ((error as { code?: string }).code !== 'SQLITE_TOOBIG') throw error;
          refused.push({ collection, id: doc.id, reason: 'SQLITE_TOOBIG: document too large' });
        }
      }
      // A delete at this batch's position leaves a document a later event wrote.
      for (const { collection, id } of changes.deletes) {
        const name = table(collection);
        this.statement(`DELETE FROM ${name} WHERE id = ? AND (json_extract(doc, '$._pos') IS NULL OR CAST(json_extract(doc, '$._pos') AS INTEGER) <= CAST(? AS INTEGER))`).run(id, at);
      }
      // Checkpoints only move forward, and not past a batch with refused documents (its writer writes it again without them).
      if (refused.length > 0) return;
      this.statement(
        'INSERT INTO rm_checkpoints (projection, position) VALUES (?, ?) ON CONFLICT(projection) DO UPDATE SET position = excluded.position WHERE CAST(rm_checkpoints.position AS INTEGER) < CAST(excluded.position AS INTEGER)',
      ).run(checkpoint.projection, at);
    })();
    return { refused };
  }

  async checkpoint(projection: string): Promise<bigint> {
    const row = this.statement('SELECT position FROM rm_checkpoints WHERE projection = ?').get(projection) as { position: string } | undefined;
    return BigInt(row?.position ?? 0);
  }

  async find<D extends Doc>(query: Query): Promise<D[]> {
    if (query.anyOf?.length) return mergePages(query, this.pagesOfAlternatives<D>(query));
    return this.select<D>(query, [query.where]);
  }

  /**
   * An OR of ranges on different keys (a text search on name, last name and email) is
   * served by no index: SQLite walks the collection in sort order and tests every row,
   * which is quick when matches are dense and a walk of the whole org when there are
   * none. So each alternative gets the first page of its own matches, the cheap way:
   * - a range on the sort key itself: from its index, in order;
   * - a range with few matches (counted on its own index, up to SPARSE): read whole and sorted;
   * - the dense rest together: by a walk in sort order that gives up after 80 rows per row
   *   of the page (matches many but far from the start, as emails are in a sort by name),
   *   and then read whole and sorted after all.
   */
  private pagesOfAlternatives<D extends Doc>(query: Query): D[][] {
    const [sortField] = query.orderBy[0];
    const pages: D[][] = [];
    const dense: Array<Record<string, Condition>> = [];
    for (const alternative of query.anyOf!) {
      const fields = Object.keys(alternative);
      const inSortOrder = fields.length === 1 && fields[0] === sortField;
      if (inSortOrder || this.countUpTo(query.collection, [query.where, alternative], SPARSE) < SPARSE) pages.push(this.select<D>(query, [query.where, alternative]));
      else dense.push(alternative);
    }
    if (dense.length) {
      const walked = this.walk<D>(query, dense);
      if (walked.length === query.limit) pages.push(walked);
      else for (const alternative of dense) pages.push(this.select<D>(query, [query.where, alternative]));
    }
    return pages;
  }

  private select<D extends Doc>(query: Query, conditions: Array<Record<string, Condition>>): D[] {
    const name = this.ensureTable(query.collection);
    const params: unknown[] = [];
    const where = [this.allOf(conditions, params, keysetBound(query)), this.keysetOf(query, params)].filter(Boolean).join(' AND ');
    const rows = this.statement(`SELECT doc FROM ${name} ${where ? `WHERE ${where}` : ''} ORDER BY ${orderOf(query)} LIMIT ?`).all(...params, query.limit) as Array<{ doc: string }>;
    return rows.map((r) => JSON.parse(r.doc) as D);
  }

  /** The first page of rows matching any of `alternatives`, found within a budget of rows read in sort order. */
  private walk<D extends Doc>(query: Query, alternatives: Array<Record<string, Condition>>): D[] {
    const name = this.ensureTable(query.collection);
    const params: unknown[] = [];
    const where = [this.allOf([query.where], params, keysetBound(query)), this.keysetOf(query, params)].filter(Boolean).join(' AND ');
    params.push(this.walkBudget ?? Math.max(WALK_ROWS_AT_LEAST, WALK_ROWS_PER_ROW * query.limit));
    const any = alternatives.map((alternative) => `(${this.allOf([alternative], params) || 'TRUE'})`).join(' OR ');
    // The subquery's LIMIT keeps SQLite from pushing the filter into it, and it yields its rows in order.
    const sql = `SELECT doc FROM (SELECT id, doc FROM ${name} ${where ? `WHERE ${where}` : ''} ORDER BY ${orderOf(query)} LIMIT ?) WHERE ${any} LIMIT ?`;
    return (this.statement(sql).all(...params, query.limit) as Array<{ doc: string }>).map((r) => JSON.parse(r.doc) as D);
  }

  private countUpTo(collection: string, conditions: Array<Record<string, Condition>>, cap: number): number {
    const params: unknown[] = [];
    const clause = this.allOf(conditions, params);
    return (this.statement(`SELECT count(*) AS n FROM (SELECT 1 FROM ${this.ensureTable(collection)} ${clause ? `WHERE ${clause}` : ''} LIMIT ?)`).get(...params, cap) as { n: number }).n;
  }

  /** Keyset pagination: the rows after the cursor (the seek bound on the first sort key comes from `allOf`). */
  private keysetOf(query: Query, params: unknown[]): string {
    const alternatives = keysetAlternatives(query).map((alt) => `(${alt.map(({ field, op, value }) => (params.push(bind(value)), `${column(field)} ${op === 'eq' ? '=' : op === 'gt' ? '>' : '<'} ?`)).join(' AND ')})`);
    return alternatives.length ? `(${alternatives.join(' OR ')})` : '';
  }

  async count(collection: string, where: Record<string, Condition>): Promise<number> {
    const name = this.ensureTable(collection);
    const params: unknown[] = [];
    const clause = this.allOf([where], params);
    return (this.statement(`SELECT count(*) AS n FROM ${name} ${clause ? `WHERE ${clause}` : ''}`).get(...params) as { n: number }).n;
  }

  async reset(projection: string, collections: readonly string[]): Promise<void> {
    this.db.transaction(() => {
      for (const c of collections) this.statement(`DELETE FROM ${this.ensureTable(c)}`).run();
      this.statement('DELETE FROM rm_checkpoints WHERE projection = ?').run(projection);
    })();
  }

  async drop(projection: string, collections: readonly string[]): Promise<void> {
    this.db.transaction(() => {
      for (const c of collections) {
        const name = table(c);
        this.db.exec(`DROP TABLE IF EXISTS ${name}`);
        this.tables.delete(name);
      }
      this.statement('DELETE FROM rm_checkpoints WHERE projection = ?').run(projection);
    })();
    // Statements prepared on a dropped table would fail: forget them all (they are cheap to prepare again).
    this.statements.clear();
  }

  async generation(projection: string): Promise<number> {
    const row = this.statement('SELECT generation FROM rm_generations WHERE projection = ?').get(projection) as { generation: number } | undefined;
    return row?.generation ?? 1;
  }

  async switchGeneration(projection: string, generation: number): Promise<void> {
    this.statement('INSERT OR REPLACE INTO rm_generations (projection, generation) VALUES (?, ?)').run(projection, generation);
  }

  async swap<D extends Doc & { rev: number }>(collection: string, doc: Omit<D, 'rev'>, expected: number): Promise<boolean> {
    const name = this.ensureTable(collection);
    const json = JSON.stringify({ ...doc, rev: expected + 1 });
    // Rev 0 only creates, any other only replaces the document that still holds it (as MongoDB's insert and filtered replace do):
    // a swap from a rev whose document was deleted meanwhile loses instead of bringing it back.
    const { changes } =
      expected === 0
        ? this.statement(`INSERT INTO ${name} (id, doc) VALUES (?, ?) ON CONFLICT(id) DO NOTHING`).run(doc.id, json)
        : this.statement(`UPDATE ${name} SET doc = ? WHERE id = ? AND json_extract(doc, '$.rev') = ?`).run(json, doc.id, expected);
    return changes === 1;
  }

  async deleteWhere(collection: string, where: Record<string, Condition>): Promise<number> {
    if (Object.keys(where).length === 0) throw new Error('deleteWhere needs a condition (reset empties a collection)');
    const params: unknown[] = [];
    const clause = this.allOf([where], params);
    return this.statement(`DELETE FROM ${this.ensureTable(collection)} WHERE ${clause}`).run(...params).changes;
  }

  async ping(): Promise<void> {
    this.statement('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /**
   * All of `conditions` hold (each a field → condition); their values are pushed onto
   * `params`. `seek` is a cursor's bound on the first sort key: beside the OR of keyset
   * alternatives it gives the (…, key, id) index a range to seek to, where the OR alone
   * (or a row value, on expression indexes) does not. SQLite seeks by one bound per side,
   * so where a prefix bounds the same key, the two are one bound: the tighter.
   */
  private allOf(conditions: Array<Record<string, Condition>>, params: unknown[], seek?: { field: string; op: 'gte' | 'lte'; value: string | number }): string {
    const parts = conditions.flatMap((fields) =>
      Object.entries(fields).map(([field, c]) => {
        const col = column(field);
        if (typeof c !== 'object') return params.push(bind(c)), `${col} = ?`;
        if ('in' in c) return params.push(...c.in.map(bind)), `${col} IN (${c.in.map(() => '?').join(',') || 'NULL'})`;
        if ('prefix' in c) {
          if (seek?.field !== field) return params.push(c.prefix, prefixEnd(c.prefix)), `${col} >= ? AND ${col} < ?`;
          const { op, value } = seek;
          seek = undefined;
          if (op === 'gte') return params.push(c.prefix, bind(value), prefixEnd(c.prefix)), `${col} >= max(?, ?) AND ${col} < ?`;
          return params.push(c.prefix, prefixEnd(c.prefix), bind(value)), `${col} >= ? AND ${col} <= min(?, ?)`;
        }
        if ('gt' in c) return params.push(c.gt), `${col} > ?`;
        return params.push(c.lt), `${col} < ?`;
      }),
    );
    if (seek) parts.push((params.push(bind(seek.value)), `${column(seek.field)} ${seek.op === 'gte' ? '>=' : '<='} ?`));
    return parts.join(' AND ');
  }
}
