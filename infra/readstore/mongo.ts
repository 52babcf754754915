import { MongoClient, type AnyBulkWriteOperation, type Collection, type Db, type Filter } from 'mongodb';
import type { Changes, Condition, Doc, IndexSpec, Query, ReadStore } from './port';
import { checkName, keysetAlternatives, keysetBound, mergePages, prefixEnd } from './query-shape';

const field = (name: string) => (name === 'id' ? '_id' : checkName(name));
/** Documents keyed by the read model's own string ids. */
interface Stored {
  _id: string;
  [field: string]: unknown;
}
/** A position as text that sorts like the number (positions are bigints up to 2^63). */
const positionKey = (position: string | bigint) => position.toString().padStart(20, '0');
const toMongo = ({ id, ...rest }: Doc): Stored => ({ _id: id, ...rest, ...(rest._pos !== undefined ? { _posKey: positionKey(rest._pos) } : {}) });
const fromMongo = <D extends Doc>({ _id, _posKey: _key, ...rest }: Stored) => ({ id: _id, ...rest }) as unknown as D;
/** The guard, as a filter: no position stored yet, or one no later than `key`. */
const notLaterThan = (key: string): Filter<Stored> => ({ $or: [{ _posKey: { $exists: false } }, { _posKey: { $lte: key } }] });
const DUPLICATE_KEY = 11000;

/**
 * The production read store. Whole documents are replaced by _id (never partial
 * updates) and queried with plain find/sort/limit on precomputed fields, so the
 * same code runs on MongoDB and on FerretDB. MongoDB has no multi-document
 * transaction here: documents are written first, the checkpoint after, and the
 * runner's position guard makes a replayed batch harmless.
 */
export class MongoReadStore implements ReadStore {
  readonly name = 'mongodb';
  private readonly client: MongoClient;
  private readonly db: Db;

  constructor(url: string, database = 'gatehouse') {
    // An election takes seconds: wait it out (the runner retries beyond that). Reads that feed a write go to the primary;
    // `undefined` fields are left out, as the embedded store leaves them.
    this.client = new MongoClient(url, { serverSelectionTimeoutMS: 30_000, readPreference: 'primary', ignoreUndefined: true });
    this.db = this.client.db(database);
  }

  private collection(name: string): Collection<Stored> {
    return this.db.collection<Stored>(checkName(name));
  }

  async ensureIndexes(indexes: IndexSpec[]): Promise<void> {
    for (const { collection, fields } of indexes) {
      await this.collection(collection).createIndex(Object.fromEntries(fields.map((f) => [field(f), 1])), { name: fields.join('_') });
    }
  }

  async getMany<D extends Doc>(collection: string, ids: string[]): Promise<Map<string, D>> {
    const docs = await this.collection(collection).find({ _id: { $in: ids } }).toArray();
    return new Map(docs.map((d) => [d._id, fromMongo<D>(d)]));
  }

  /**
   * The position guard is in the write itself: a document is replaced only by one
   * holding the same or a later event (an upsert whose filter misses because a
   * newer one is stored fails with a duplicate key, which means exactly that), a
   * delete spares a document a later event wrote, and the checkpoint only moves
   * forward. So two writers (a rolling deploy, a rebuild racing the service) never
   * move anything backwards. Writes are unordered: one failing document does not
   * hold back the others.
   */
  async write(changes: Changes, checkpoint: { projection: string; position: bigint }): Promise<void> {
    const at = positionKey(checkpoint.position);
    const byCollection = new Map<string, AnyBulkWriteOperation<Stored>[]>();
    const ops = (c: string) => byCollection.get(c) ?? byCollection.set(c, []).get(c)!;
    for (const { collection, doc } of changes.puts) {
      const replacement = toMongo(doc);
      const filter = doc._pos === undefined ? { _id: doc.id } : { _id: doc.id, ...notLaterThan(positionKey(doc._pos)) };
      ops(collection).push({ replaceOne: { filter, replacement, upsert: true } });
    }
    for (const { collection, id } of changes.deletes) ops(collection).push({ deleteOne: { filter: { _id: id, ...notLaterThan(at) } } });
    for (const [collection, operations] of byCollection) await ignoringNewer(this.collection(collection).bulkWrite(operations, { ordered: false }));
    await ignoringNewer(this.collection('rm_checkpoints').updateOne({ _id: checkpoint.projection, ...notLaterThan(at) }, { $set: { position: checkpoint.position.toString(), _posKey: at } }, { upsert: true }));
  }

  async checkpoint(projection: string): Promise<bigint> {
    const doc = await this.collection('rm_checkpoints').findOne({ _id: projection });
    return BigInt((doc?.position as string | undefined) ?? 0);
  }

  /**
   * An OR of ranges on different keys (a text search on name, last name and email) is
   * sent as one query per alternative, merged here: each is then a plain range on its
   * own index, between which MongoDB's planner picks the cheaper of reading the range
   * and sorting it or walking the sort index, instead of having to serve the whole OR
   * and the sort with one plan.
   */
  async find<D extends Doc>(query: Query): Promise<D[]> {
    if (!query.anyOf?.length) return this.select<D>(query, [query.where]);
    return mergePages(query, await Promise.all(query.anyOf.map((alternative) => this.select<D>(query, [query.where, alternative]))));
  }

  private async select<D extends Doc>(query: Query, conditions: Array<Record<string, Condition>>): Promise<D[]> {
    const clauses = conditions.map(filterOf).filter((c) => Object.keys(c).length);
    const bound = keysetBound(query);
    // Beside the OR of keyset alternatives, a bound on the first sort key gives the index scan a start.
    if (bound) clauses.push({ [field(bound.field)]: { [bound.op === 'gte' ? '$gte' : '$lte']: bound.value } });
    const keyset = keysetAlternatives(query);
    if (keyset.length) clauses.push({ $or: keyset.map((alt) => Object.fromEntries(alt.map(({ field: f, op, value }) => [field(f), op === 'eq' ? value : { [op === 'gt' ? '$gt' : '$lt']: value }]))) });
    const sort = Object.fromEntries(query.orderBy.map(([f, dir]) => [field(f), dir === 'asc' ? 1 : -1])) as Record<string, 1 | -1>;
    const filter = clauses.length === 0 ? {} : clauses.length === 1 ? clauses[0] : { $and: clauses };
    const docs = await this.collection(query.collection).find(filter).sort(sort).limit(query.limit).toArray();
    return docs.map((d) => fromMongo<D>(d));
  }

  count(collection: string, where: Record<string, Condition>): Promise<number> {
    return this.collection(collection).countDocuments(filterOf(where));
  }

  async reset(projection: string, collections: readonly string[]): Promise<void> {
    for (const c of collections) await this.collection(c).deleteMany({});
    await this.collection('rm_checkpoints').deleteOne({ _id: projection });
  }

  async generation(projection: string): Promise<number> {
    const doc = await this.collection('rm_generations').findOne({ _id: projection });
    return (doc?.generation as number | undefined) ?? 1;
  }

  async switchGeneration(projection: string, generation: number): Promise<void> {
    await this.collection('rm_generations').replaceOne({ _id: projection }, { _id: projection, generation }, { upsert: true });
  }

  /** Rev 0 inserts (a duplicate key: someone else created it first); any other replaces the document only while it holds that rev. */
  async swap<D extends Doc & { rev: number }>(collection: string, doc: Omit<D, 'rev'>, expected: number): Promise<boolean> {
    const stored = toMongo({ ...doc, rev: expected + 1 } as Doc);
    if (expected === 0) {
      try {
        await this.collection(collection).insertOne(stored);
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === DUPLICATE_KEY) return false;
        throw error;
      }
    }
    const { matchedCount } = await this.collection(collection).replaceOne({ _id: stored._id, rev: expected }, stored);
    return matchedCount === 1;
  }

  async deleteWhere(collection: string, where: Record<string, Condition>): Promise<number> {
    if (Object.keys(where).length === 0) throw new Error('deleteWhere needs a condition (reset empties a collection)');
    return (await this.collection(collection).deleteMany(filterOf(where))).deletedCount;
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function filterOf(where: Record<string, Condition>): Filter<Stored> {
  return Object.fromEntries(
    Object.entries(where).map(([name, c]) => {
      if (typeof c !== 'object') return [field(name), c];
      if ('in' in c) return [field(name), { $in: c.in }];
      if ('prefix' in c) return [field(name), { $gte: c.prefix, $lt: prefixEnd(c.prefix) }];
      if ('gt' in c) return [field(name), { $gt: c.gt }];
      return [field(name), { $lt: c.lt }];
    }),
  );
}

/** A duplicate key from a guarded upsert means a newer document (or checkpoint) is stored: nothing to do. Anything else fails the write. */
async function ignoringNewer(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (error) {
    const failures = (error as { writeErrors?: Array<{ code?: number }> | { code?: number } }).writeErrors;
    const list = Array.isArray(failures) ? failures : failures ? [failures] : [];
    const code = (error as { code?: number }).code;
    if (list.length > 0 ? list.every((e) => e.code === DUPLICATE_KEY) : code === DUPLICATE_KEY) return;
    throw error;
  }
}
