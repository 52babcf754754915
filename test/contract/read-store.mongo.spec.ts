import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { MongoReadStore, type MongoReadStoreOptions } from '../../infra/readstore/mongo';
import { LOGIN_ACTIVITY } from '../../projections/login-activity';
import { PERMISSION_HISTORY } from '../../projections/permission-history';
import { READ_MODEL_INDEXES } from '../../src/readmodels/indexes';
import { readStoreContract } from './read-store.contract';

/** A store on a database of its own; `transactions: 'never'` also runs the path without transactions on a server that has them. */
async function open(options: MongoReadStoreOptions = {}) {
  // MONGODB_URL is set by the test rig (FerretDB) or given from outside (a real MongoDB).
  const url = process.env.MONGODB_URL;
  if (!url) throw new Error('MONGODB_URL is not set: the test rig should have started FerretDB');
  const database = `gh_${randomUUID().slice(0, 8)}`;
  const store = new MongoReadStore(url, database, options);
  await store.ping();
  const client = await MongoClient.connect(url);
  const server = await client.db('admin').command({ buildInfo: 1 });
  await client.close();
  return {
    store,
    // FerretDB v1 (the test rig's stand-in) runs a filtered update as a read, then an update by _id alone.
    swapsRace: server.ferretdbVersion ? `FerretDB ${server.ferretdbVersion} reads, then updates by _id alone, so swaps from one rev can all win (MongoDB checks the rev in the write)` : undefined,
    // The same for the position guard: two concurrent replaces of one document can both pass their filters, and the older may land last.
    guardRaces: server.ferretdbVersion ? `FerretDB ${server.ferretdbVersion} reads, then replaces by _id alone, so of two concurrent guarded replaces the older can land last (MongoDB checks the position in the write)` : undefined,
    close: async () => {
      await store.close();
      const client = await MongoClient.connect(url);
      await client.db(database).dropDatabase();
      await client.close();
    },
  };
}

/** What the server is: FerretDB, or a MongoDB with or without transactions (a replica set has them, a standalone server not). */
async function server(): Promise<{ ferretdb?: string; transactions: boolean }> {
  const url = process.env.MONGODB_URL!;
  const client = await MongoClient.connect(url);
  try {
    const [build, hello] = await Promise.all([client.db('admin').command({ buildInfo: 1 }), client.db('admin').command({ hello: 1 })]);
    return { ferretdb: build.ferretdbVersion, transactions: (typeof hello.setName === 'string' || hello.msg === 'isdbgrid') && hello.logicalSessionTimeoutMinutes != null };
  } finally {
    await client.close();
  }
}

readStoreContract('mongodb', () => open());

// On a replica set the suite above writes documents and checkpoint in transactions: once more without, as on a standalone server (on FerretDB, the same twice).
readStoreContract('mongodb, documents first and the checkpoint after (no transactions)', () => open({ transactions: 'never' }));

describe('MongoDB read store: transactions where the server has them (issue 14, item 8)', () => {
  it('detects them from the server: a replica set or mongos yes, a standalone server or FerretDB v1 no (then documents first, the checkpoint after)', async () => {
    const { store, close } = await open();
    const { ferretdb, transactions } = await server();
    process.stderr.write(`[read store] ${ferretdb ? `FerretDB ${ferretdb}` : 'MongoDB'}: ${transactions ? 'documents and checkpoint in one transaction' : 'no transactions: documents first, then the checkpoint'}\n`);
    expect(await store.transactions()).toBe(transactions);
    if (ferretdb) expect(transactions).toBe(false);
    expect(await new MongoReadStore(process.env.MONGODB_URL!, 'unused', { transactions: 'never' }).transactions()).toBe(false);
    await close();
  });
});

describe('MongoDB read store without transactions: a batch half written by a writer that died (issue 14, item 8)', () => {
  it('leaves its journal, and the next read of the checkpoint, in any process, finishes the batch as it was written and moves the checkpoint to it', async () => {
    const { store, close } = await open({ transactions: 'never' });
    type Row = { id: string; v: number; _pos: string };
    const batch = {
      puts: [
        { collection: 'halves_a', doc: { id: 'a1', v: 1, _pos: '11' } as Row },
        { collection: 'halves_b', doc: { id: 'b1', v: 2, _pos: '12' } as Row },
      ],
      deletes: [{ collection: 'halves_a', id: 'gone' }],
    };
    await store.write({ puts: [{ collection: 'halves_a', doc: { id: 'gone', v: 0, _pos: '3' } as Row }], deletes: [] }, { projection: 'halves', position: 5n });
    // The writer dies after the first collection's documents: its journal is all that says what else the batch held.
    const dying = store as unknown as { bulkWrite: (collection: string, ops: unknown[]) => Promise<unknown> };
    const bulkWrite = dying.bulkWrite.bind(store);
    dying.bulkWrite = async (collection, ops) => {
      if (collection === 'halves_b') throw new Error('killed');
      return bulkWrite(collection, ops);
    };
    await expect(store.write(batch, { projection: 'halves', position: 12n })).rejects.toThrow('killed');
    const database = (store as unknown as { db: { databaseName: string } }).db.databaseName;
    const next = new MongoReadStore(process.env.MONGODB_URL!, database, { transactions: 'never' });
    try {
      expect((await next.getMany<Row>('halves_b', ['b1'])).size).toBe(0); // half written
      expect(await next.checkpoint('halves')).toBe(12n);
      expect([...(await next.getMany<Row>('halves_a', ['a1', 'gone'])).values()]).toEqual([{ id: 'a1', v: 1, _pos: '11' }]);
      expect((await next.getMany<Row>('halves_b', ['b1'])).get('b1')).toEqual({ id: 'b1', v: 2, _pos: '12' });
      // Finished once: a later batch is not undone by reading the checkpoint again.
      await next.write({ puts: [{ collection: 'halves_b', doc: { id: 'b1', v: 3, _pos: '20' } as Row }], deletes: [] }, { projection: 'halves', position: 20n });
      expect(await next.checkpoint('halves')).toBe(20n);
      expect((await next.getMany<Row>('halves_b', ['b1'])).get('b1')?.v).toBe(3);
    } finally {
      await next.close();
      await close();
    }
  });
});

describe('MongoDB read store: indexes (issue 14, item 10)', () => {
  it('R-CRED-6 R-ROLE-7 login activity and permission history are indexed up to their whole sort, seq then _id, so no person\'s rows are sorted in memory', async () => {
    const { store, close } = await open();
    try {
      await store.ensureIndexes(READ_MODEL_INDEXES);
      const database = (store as unknown as { db: Db }).db;
      const keys = async (collection: string) => (await database.collection(collection).listIndexes().toArray()).map((i) => Object.keys(i.key));
      expect(await keys(LOGIN_ACTIVITY)).toContainEqual(['userId', 'seq', '_id']);
      expect(await keys(PERMISSION_HISTORY)).toContainEqual(['orgId', 'userId', 'seq', '_id']);
    } finally {
      await close();
    }
  });
});
