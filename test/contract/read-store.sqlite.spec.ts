import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { readStoreContract } from './read-store.contract';

readStoreContract('sqlite (embedded)', async () => {
  const store = new SqliteReadStore(':memory:');
  return { store, close: () => store.close() };
});

// Text filters with many matches walk the sort order up to a budget, then read each key's range instead: both ways must agree.
readStoreContract('sqlite (embedded), walks that give up after 5 rows', async () => {
  const store = new SqliteReadStore(':memory:', 5);
  return { store, close: () => store.close() };
});
