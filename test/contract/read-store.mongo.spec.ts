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
  return {
    store,
    close: async () => {
      await store.close();
      const client = await MongoClient.connect(url);
      await client.db(database).dropDatabase();
      await client.close();
    },
  };
});
