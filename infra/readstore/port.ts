/** A stored document: an id, and the position (a decimal string) of the last event written into it, which guards against writing an older one. */
export interface Doc {
  id: string;
  _pos?: string;
}

/** A condition on one field: equality, one of several values, a text prefix, or a bound. */
export type Condition = string | number | boolean | { in: Array<string | number | boolean> } | { prefix: string } | { gt: string | number } | { lt: string | number };

export interface Query {
  collection: string;
  where: Record<string, Condition>;
  /** Matches when any one of these holds (each a field → condition). */
  anyOf?: Array<Record<string, Condition>>;
  /** The last field must be `id`, which makes the order total and cursors stable. */
  orderBy: Array<[field: string, direction: 'asc' | 'desc']>;
  limit: number;
  /** Keyset pagination: the orderBy values of the last row of the previous page. */
  after?: Array<string | number>;
}

export interface Changes {
  puts: Array<{ collection: string; doc: Doc }>;
  deletes: Array<{ collection: string; id: string }>;
}

/** A document the store will not hold, however often it is written (too large, not serializable): the same every time, so not worth a retry. */
export interface RefusedDocument {
  collection: string;
  id: string;
  reason: string;
}

/** What a write did not do: the documents the store refused. While any were refused, the checkpoint stayed where it was. */
export interface WriteResult {
  refused: RefusedDocument[];
}

export interface IndexSpec {
  collection: string;
  fields: string[];
}

/**
 * The read-model store. Every adapter (embedded SQLite, MongoDB) passes the
 * same contract suite with the same query semantics.
 */
export interface ReadStore {
  readonly name: string;
  ensureIndexes(indexes: IndexSpec[]): Promise<void>;
  getMany<D extends Doc>(collection: string, ids: string[]): Promise<Map<string, D>>;
  /**
   * Writes documents and the projection's checkpoint: atomically where the store can, idempotently where it cannot.
   * The position guard is the store's: a document is replaced only by one holding the same or a later event (`_pos`),
   * a delete spares a document a later event wrote, and the checkpoint only moves forward, so a second writer never
   * moves anything backwards. A document the store refuses (see RefusedDocument) holds back no other: the rest are
   * written, and the refused ones are answered instead of the checkpoint, which is then left where it was (the
   * writer writes the batch again without them, with their dead letters). A failure that may pass (the server
   * unreachable, an election) throws, and nothing of the batch is known to be written.
   */
  write(changes: Changes, checkpoint: { projection: string; position: bigint }): Promise<WriteResult>;
  checkpoint(projection: string): Promise<bigint>;
  find<D extends Doc>(query: Query): Promise<D[]>;
  count(collection: string, where: Record<string, Condition>): Promise<number>;
  /** Removes every document of the collections (for a rebuild) and the checkpoint. */
  reset(projection: string, collections: readonly string[]): Promise<void>;
  /** Removes the collections themselves, with their indexes, and the checkpoint: a generation nobody reads any more. */
  drop(projection: string, collections: readonly string[]): Promise<void>;
  /** Which generation of a projection's collections the service reads and writes (1 until a rebuild switches it). */
  generation(projection: string): Promise<number>;
  switchGeneration(projection: string, generation: number): Promise<void>;
  /**
   * Small shared state that several replicas update (leases, throttles): stores `doc` with `rev: expected + 1`
   * only when the stored document's `rev` is still `expected` (0: no document yet); false when another writer
   * came first (read it again and retry). Not for projection collections (no generations, no position guard).
   */
  swap<D extends Doc & { rev: number }>(collection: string, doc: Omit<D, 'rev'>, expected: number): Promise<boolean>;
  /**
   * Removes the documents of such shared state that match `where` (at least one condition) and says how many.
   * Each is tested as it is removed, so one a writer has just swapped out of the match stays.
   */
  deleteWhere(collection: string, where: Record<string, Condition>): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A projection's collections of one generation: the first keeps the plain names, a rebuild writes beside them. */
export function physicalCollection(collection: string, generation: number): string {
  return generation <= 1 ? collection : `${collection}_g${generation}`;
}

export function checkpointName(projection: string, generation: number): string {
  return generation <= 1 ? projection : `${projection}@g${generation}`;
}

// ---------------------------------------------------------------------------
// What a query means, for the adapters: names, ranges, keyset paging, merged pages.

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Field and collection names go into query text: only plain identifiers are allowed. */
export function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error(`not a field or collection name: ${name}`);
  return name;
}

/** The upper bound of a text prefix range: every string starting with `prefix` sorts below it. */
export function prefixEnd(prefix: string): string {
  return prefix + '\u{10FFFF}';
}

export function isRange(c: Condition): c is { gt: string | number } | { lt: string | number } {
  return typeof c === 'object' && ('gt' in c || 'lt' in c);
}

/**
 * Keyset pagination as a list of alternatives: for orderBy (a, b, id) after (x, y, z):
 * a beyond x, or a = x and b beyond y, or a = x and b = y and id beyond z.
 */
export function keysetAlternatives(query: Query): Array<Array<{ field: string; op: 'eq' | 'gt' | 'lt'; value: string | number }>> {
  if (!query.after) return [];
  const { orderBy, after } = query;
  if (orderBy.length !== after.length || orderBy[orderBy.length - 1][0] !== 'id') throw new Error('a cursor needs one value per orderBy field, ending with id');
  return orderBy.map((_, i) => [
    ...orderBy.slice(0, i).map(([field], j) => ({ field, op: 'eq' as const, value: after[j] })),
    { field: orderBy[i][0], op: orderBy[i][1] === 'asc' ? ('gt' as const) : ('lt' as const), value: after[i] },
  ]);
}

/**
 * A bound on the first sort key that every row after the cursor satisfies. The
 * alternatives alone are an OR, which gives an index no range to seek to; with this
 * bound beside them the store starts its scan at the cursor.
 */
export function keysetBound(query: Query): { field: string; op: 'gte' | 'lte'; value: string | number } | undefined {
  if (!query.after) return undefined;
  keysetAlternatives(query); // checks the cursor's shape
  const [field, direction] = query.orderBy[0];
  return { field, op: direction === 'asc' ? 'gte' : 'lte', value: query.after[0] };
}

/**
 * The first `query.limit` documents of the alternatives' pages, each page already
 * in order and cut to the limit: the union's first rows are among them.
 */
export function mergePages<D extends Doc>(query: Query, pages: D[][]): D[] {
  const byId = new Map<string, D>();
  for (const page of pages) for (const doc of page) byId.set(doc.id, doc);
  return [...byId.values()].sort(compareDocs(query.orderBy)).slice(0, query.limit);
}

/**
 * Documents in `orderBy` order as the stores sort them: a missing value first, then
 * numbers, then text in code point order (SQLite's BINARY collation and MongoDB's
 * default both compare UTF-8 bytes, which is that order). Booleans count as 0 and 1,
 * as SQLite stores them (MongoDB sorts them after text; no list sorts by one).
 */
export function compareDocs(orderBy: Query['orderBy']): (a: Doc, b: Doc) => number {
  return (a, b) => {
    for (const [field, direction] of orderBy) {
      const order = compareValues((a as unknown as Record<string, unknown>)[field], (b as unknown as Record<string, unknown>)[field]);
      if (order !== 0) return direction === 'asc' ? order : -order;
    }
    return 0;
  };
}

const rank = (v: unknown) => (v === undefined || v === null ? 0 : typeof v === 'number' || typeof v === 'boolean' ? 1 : 2);

function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb || ra === 0) return ra - rb;
  if (ra === 1) return Number(a) - Number(b);
  return compareCodePoints(String(a), String(b));
}

/** UTF-16 order puts U+E000–U+FFFF after the surrogate pairs of higher code points: shift both back into code point order. */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

const codePointOrder = (unit: number) => (unit >= 0xe000 ? unit - 0x800 : unit >= 0xd800 ? unit + 0x2000 : unit);
