import {
  BSON,
  MongoBulkWriteError,
  MongoClient,
  MongoError,
  MongoInvalidArgumentError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  ReadPreference,
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  type Filter,
} from 'mongodb';
import { randomUUID } from 'node:crypto';
import { checkName, keysetAlternatives, keysetBound, mergePages, prefixEnd, type Changes, type Condition, type Doc, type IndexSpec, type Query, type ReadStore, type RefusedDocument, type WriteResult } from './port';

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

/** A batch as it is about to be written without a transaction: its documents as stored, and its position (the checkpoint's). */
interface Journal {
  _id: string;
  projection: string;
  _posKey: string;
  puts: Array<{ collection: string; doc: Stored }>;
  deletes: Array<{ collection: string; id: string }>;
}

/** Options of the adapter (tests pin what the server would otherwise decide). */
export interface MongoReadStoreOptions {
  /**
   * Documents and checkpoint in one transaction: `auto` where the server offers them (a replica set or a sharded
   * cluster; not a standalone server or FerretDB v1), `never` to write documents first and the checkpoint after.
   */
  transactions?: 'auto' | 'never';
  /** How long an operation waits for a server to answer before it fails (and its projection is restarted): 30 s, longer than an election. */
  serverSelectionTimeoutMS?: number;
}

/**
 * The production read store. Whole documents are replaced by _id (never partial
 * updates) and queried with plain find/sort/limit on precomputed fields, so the
 * same code runs on MongoDB and on FerretDB. Where the server offers transactions
 * (a replica set), a batch's documents and its checkpoint are written in one;
 * elsewhere documents first and the checkpoint after, and the position guard in
 * every write makes a batch written again after a crash harmless.
 */
export class MongoReadStore implements ReadStore {
  readonly name = 'mongodb';
  private readonly client: MongoClient;
  private readonly db: Db;
  private transactionSupport?: Promise<boolean>;
  /** This writer's journal among others' (two writers of one projection, for a moment, in a rolling deploy). */
  private readonly writer = randomUUID();

  constructor(
    url: string,
    database = 'gatehouse',
    private readonly options: MongoReadStoreOptions = {},
  ) {
    // An election takes seconds: wait it out (the supervisor restarts the projection beyond that). Every read goes to
    // the primary whatever the URL says: some feed a write (getMany, checkpoints), and the rest answer read-your-writes
    // (R-LIST-5), which a lagging secondary would not. `undefined` fields are left out, as the embedded store leaves them.
    this.client = new MongoClient(url, { serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 30_000, readPreference: ReadPreference.PRIMARY, ignoreUndefined: true });
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
    // What is read here is folded and written back: from the primary, never a secondary behind it.
    const docs = await this.collection(collection).find({ _id: { $in: ids } }, { readPreference: ReadPreference.PRIMARY }).toArray();
    return new Map(docs.map((d) => [d._id, fromMongo<D>(d)]));
  }

  /** Whether this server runs multi-document transactions: a replica set member or a mongos that has sessions. */
  transactions(): Promise<boolean> {
    if (this.options.transactions === 'never') return Promise.resolve(false);
    this.transactionSupport ??= this.db
      .admin()
      .command({ hello: 1 })
      .then((hello) => (typeof hello.setName === 'string' || hello.msg === 'isdbgrid') && hello.logicalSessionTimeoutMinutes != null)
      .catch((error) => {
        this.transactionSupport = undefined; // not known yet: ask again next time
        throw error;
      });
    return this.transactionSupport;
  }

  /**
   * The position guard is in the write itself: a document is replaced only by one
   * holding the same or a later event, a delete spares a document a later event
   * wrote, and the checkpoint only moves forward. So two writers (a rolling deploy,
   * a rebuild racing the service) never move anything backwards.
   */
  async write(changes: Changes, checkpoint: { projection: string; position: bigint }): Promise<WriteResult> {
    if (await this.transactions()) {
      try {
        return await this.writeInTransaction(changes, checkpoint);
      } catch (error) {
        // A document the server refuses aborts the whole transaction: write without one, which leaves out just that document.
        if (isTransient(error)) throw error;
      }
    }
    return this.writeInTurn(changes, checkpoint);
  }

  /**
   * Without a transaction: the batch's documents go into a journal first (one document, written at once), then
   * to their collections, unordered (one refused document holds back no other), then the checkpoint, and the
   * journal is removed. A writer killed half way leaves its journal, which the next read of the checkpoint
   * applies as it was written: no later fold ever reads half a batch (see recover). An upsert whose guard
   * misses because a newer document is stored fails with a duplicate key, which means exactly that.
   */
  private async writeInTurn(changes: Changes, checkpoint: { projection: string; position: bigint }): Promise<WriteResult> {
    const at = positionKey(checkpoint.position);
    const journal: Journal = {
      _id: `${checkpoint.projection}#${this.writer}`,
      projection: checkpoint.projection,
      _posKey: at,
      puts: changes.puts.map(({ collection, doc }) => ({ collection: checkName(collection), doc: toMongo(doc) })),
      deletes: changes.deletes.map(({ collection, id }) => ({ collection: checkName(collection), id })),
    };
    // A batch of one document cannot be left half written: no journal needed (most batches of a projection following the log).
    const journaled =
      journal.puts.length + journal.deletes.length > 1 &&
      (await this.journals()
      .replaceOne({ _id: journal._id }, journal, { upsert: true })
      .then(() => true)
      .catch((error) => {
        // A batch the journal cannot hold (a refused document in it, too large a batch) is written without one, as before journals.
        if (isTransient(error)) throw error;
        return false;
      }));
    const refused = await this.apply(journal);
    if (refused.length > 0) {
      if (journaled) await this.journals().deleteOne({ _id: journal._id, _posKey: at });
      return { refused };
    }
    await ignoringNewer(this.collection('rm_checkpoints').updateOne({ _id: checkpoint.projection, ...notLaterThan(at) }, { $set: { position: checkpoint.position.toString(), _posKey: at } }, { upsert: true }));
    if (journaled) await this.journals().deleteOne({ _id: journal._id, _posKey: at });
    return { refused };
  }

  /** Writes a journal's documents, each guarded by its position, its deletes by the batch's; answers the refused. */
  private async apply(journal: Journal): Promise<RefusedDocument[]> {
    const byCollection = new Map<string, Array<{ op: AnyBulkWriteOperation<Stored>; id: string }>>();
    const ops = (c: string) => byCollection.get(c) ?? byCollection.set(c, []).get(c)!;
    for (const { collection, doc } of journal.puts) {
      const key = doc._posKey as string | undefined;
      const filter = key === undefined ? { _id: doc._id } : { _id: doc._id, ...notLaterThan(key) };
      ops(collection).push({ op: { replaceOne: { filter, replacement: doc, upsert: true } }, id: doc._id });
    }
    for (const { collection, id } of journal.deletes) ops(collection).push({ op: { deleteOne: { filter: { _id: id, ...notLaterThan(journal._posKey) } } }, id });
    const refused: RefusedDocument[] = [];
    for (const [collection, operations] of byCollection) {
      for (const { index, reason } of await this.bulkWrite(collection, operations.map((o) => o.op))) refused.push({ collection, id: operations[index].id, reason });
    }
    return refused;
  }

  private journals(): Collection<Journal> {
    return this.db.collection<Journal>('rm_journal');
  }

  /**
   * Finishes the batches of a projection that writers left half written (killed between their documents and
   * their checkpoint): each journal past the checkpoint is applied as written and the checkpoint moved to it;
   * one at or behind it is done with. A writer still at work meanwhile loses nothing: its documents are
   * the same, and every write is guarded.
   */
  private async recover(projection: string, stored: string | undefined): Promise<boolean> {
    const left = await this.journals().find({ projection }, { readPreference: ReadPreference.PRIMARY }).toArray();
    for (const journal of left.sort((a, b) => (a._posKey < b._posKey ? -1 : 1))) {
      if (stored === undefined || journal._posKey > stored) {
        // A document refused on the way leaves the checkpoint before the batch: its writer folds it again and dead-letters the document.
        if ((await this.apply(journal)).length > 0) {
          await this.journals().deleteOne({ _id: journal._id, _posKey: journal._posKey });
          return true;
        }
        const position = BigInt(journal._posKey).toString();
        await ignoringNewer(this.collection('rm_checkpoints').updateOne({ _id: projection, ...notLaterThan(journal._posKey) }, { $set: { position, _posKey: journal._posKey } }, { upsert: true }));
        stored = journal._posKey;
      }
      await this.journals().deleteOne({ _id: journal._id, _posKey: journal._posKey });
    }
    return left.length > 0;
  }

  /**
   * Writes the operations, unordered; answers those the server (or the driver, before sending) refuses for
   * the document itself. A newer document already stored is no refusal; a failure that may pass throws.
   */
  private async bulkWrite(collection: string, operations: AnyBulkWriteOperation<Stored>[]): Promise<Array<{ index: number; reason: string }>> {
    try {
      await this.collection(collection).bulkWrite(operations, { ordered: false });
      return [];
    } catch (error) {
      const failures = writeErrorsOf(error);
      const refusal = isUnsendable(error) ? describe(error) : failures && !failures.some((f) => TRANSIENT.has(f.code ?? 0)) ? failures.find((f) => f.code !== DUPLICATE_KEY) : undefined;
      if (!refusal) {
        if (failures?.every((f) => f.code === DUPLICATE_KEY)) return [];
        throw error;
      }
      if (operations.length === 1) return [{ index: 0, reason: typeof refusal === 'string' ? refusal : `${refusal.code}: ${refusal.errmsg ?? 'refused'}`.slice(0, 200) }];
      // Which document it was, one at a time: the driver names none when it cannot encode a batch, and FerretDB
      // names the wrong one (and may leave others of the batch unwritten). Writing one again is harmless.
      const refused: Array<{ index: number; reason: string }> = [];
      for (const [index, operation] of operations.entries()) for (const r of await this.bulkWrite(collection, [operation])) refused.push({ ...r, index });
      return refused;
    }
  }

  /**
   * One transaction: the stored positions are read inside it, so each document is written only over an older
   * one (a concurrent writer of the same document makes it a write conflict, which is tried again), and the
   * checkpoint with them.
   */
  private async writeInTransaction(changes: Changes, checkpoint: { projection: string; position: bigint }): Promise<WriteResult> {
    const at = positionKey(checkpoint.position);
    const session = this.client.startSession();
    try {
      await session.withTransaction(
        async () => {
          const byCollection = new Map<string, { puts: Doc[]; deletes: string[] }>();
          const of = (c: string) => byCollection.get(c) ?? byCollection.set(c, { puts: [], deletes: [] }).get(c)!;
          for (const { collection, doc } of changes.puts) of(collection).puts.push(doc);
          for (const { collection, id } of changes.deletes) of(collection).deletes.push(id);
          for (const [collection, { puts, deletes }] of byCollection) {
            const ids = [...puts.map((d) => d.id), ...deletes];
            const stored = new Map((await this.collection(collection).find({ _id: { $in: ids } }, { session, projection: { _posKey: 1 } }).toArray()).map((d) => [d._id, d._posKey as string | undefined]));
            const operations: AnyBulkWriteOperation<Stored>[] = [];
            for (const doc of puts) {
              const replacement = toMongo(doc);
              if (!stored.has(doc.id)) operations.push({ insertOne: { document: replacement } });
              else if (notNewer(stored.get(doc.id), replacement._posKey as string | undefined)) operations.push({ replaceOne: { filter: { _id: doc.id }, replacement } });
            }
            for (const id of deletes) if (stored.has(id) && notNewer(stored.get(id), at)) operations.push({ deleteOne: { filter: { _id: id } } });
            if (operations.length > 0) await this.collection(collection).bulkWrite(operations, { session, ordered: true });
          }
          const current = await this.collection('rm_checkpoints').findOne({ _id: checkpoint.projection }, { session });
          const value = { position: checkpoint.position.toString(), _posKey: at };
          if (!current) await this.collection('rm_checkpoints').insertOne({ _id: checkpoint.projection, ...value }, { session });
          else if ((current._posKey as string | undefined) === undefined || (current._posKey as string) < at) await this.collection('rm_checkpoints').updateOne({ _id: checkpoint.projection }, { $set: value }, { session });
        },
        { readPreference: ReadPreference.PRIMARY, readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' } },
      );
      return { refused: [] };
    } finally {
      await session.endSession();
    }
  }

  /** Where a projection's writer starts: after the last batch it wrote whole, or whose journal it wrote (see recover). */
  async checkpoint(projection: string): Promise<bigint> {
    const read = () => this.collection('rm_checkpoints').findOne({ _id: projection }, { readPreference: ReadPreference.PRIMARY });
    // Journals come from writes without a transaction: on a replica set too, when a refused document sent a write down that path.
    let doc = await read();
    if (await this.recover(projection, doc?._posKey as string | undefined)) doc = await read();
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
    await this.journals().deleteMany({ projection });
  }

  async drop(projection: string, collections: readonly string[]): Promise<void> {
    for (const c of collections) {
      try {
        await this.collection(c).drop();
      } catch (error) {
        if ((error as { code?: number }).code !== NAMESPACE_NOT_FOUND) throw error;
      }
    }
    await this.collection('rm_checkpoints').deleteOne({ _id: projection });
    await this.journals().deleteMany({ projection });
  }

  async generation(projection: string): Promise<number> {
    const doc = await this.collection('rm_generations').findOne({ _id: projection }, { readPreference: ReadPreference.PRIMARY });
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

/** A stored position no later than `key`: none (no guard) on either side, or an earlier or equal one. */
const notNewer = (stored: string | undefined, key: string | undefined) => stored === undefined || key === undefined || stored <= key;

/**
 * Server error codes that may pass on a retry (an election, a shutdown, a conflict): the batch is tried again,
 * never taken as a refused document. From the server's error_codes.yml (RetriableError, NotPrimaryError, and
 * the write conflicts and timeouts around them).
 */
const TRANSIENT = new Set([6, 7, 24, 46, 50, 63, 64, 89, 91, 112, 133, 150, 189, 234, 251, 262, 9001, 10107, 11600, 11601, 11602, 13388, 13435, 13436]);
const NAMESPACE_NOT_FOUND = 26;

/** Whether a failure may pass: the server unreachable or changing primaries, or labelled so by the driver. */
function isTransient(error: unknown): boolean {
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError || error instanceof MongoNotConnectedError) return true;
  if (error instanceof MongoError && (error.hasErrorLabel('TransientTransactionError') || error.hasErrorLabel('RetryableWriteError') || error.hasErrorLabel('UnknownTransactionCommitResult'))) return true;
  return TRANSIENT.has(Number((error as { code?: number }).code));
}

/** The driver could not encode the batch into a command (never sent): a document it cannot take. */
function isUnsendable(error: unknown): boolean {
  return error instanceof BSON.BSONError || error instanceof MongoInvalidArgumentError || error instanceof RangeError || error instanceof TypeError;
}

/** The per-document errors of a bulk write that ran to its end (none for a failure of the whole command, which throws on). */
function writeErrorsOf(error: unknown): Array<{ index: number; code?: number; errmsg?: string }> | undefined {
  if (!(error instanceof MongoBulkWriteError) || error.result?.hasWriteErrors?.() === false) return undefined;
  const raw = (error as { writeErrors?: unknown }).writeErrors;
  const list = (Array.isArray(raw) ? raw : raw ? [raw] : []) as Array<{ index: number; code?: number; errmsg?: string }>;
  if (list.length === 0 || error.result.getWriteConcernError()) return undefined;
  return list;
}

const describe = (error: unknown) => `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`.slice(0, 200);

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
