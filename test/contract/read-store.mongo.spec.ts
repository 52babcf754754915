import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { MongoReadStore } from '../../infra/readstore/mongo';
import { readStoreContract } from './read-store.contract';

// MONGODB_URL is set by the test rig (FerretDB) or given from outside (a real MongoDB).
readStoreContract('mongodb', async () => {
  const url = process.env.MONGODB_URL;
  if (!url) throw new Error('MONGODB_URL is not set: the test rig should have started FerretDB');
  const database = `gh_${randomUUID().slice(0, 8)}`;
  const store = new MongoReadStore(url, database);
  await store.ping();
  const client = await MongoClient.connect(url);
  const server = await client.db('admin').command({ buildInfo: 1 });
  await client.close();
  return {
    store,
    // FerretDB v1 (the test rig's stand-in) runs a filtered update as a read, then an update by _id alone.
    swapsRace: server.ferretdbVersion ? `FerretDB ${server.ferretdbVersion} reads, then updates by _id alone, so swaps from one rev can all win (MongoDB checks the rev in the write)` : undefined,
    close: async () => {
      await store.close();
      const client = await MongoClient.connect(url);
      await client.db(database).dropDatabase();
      await client.close();
    },
  };
});
