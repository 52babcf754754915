import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { readStoreContract } from './read-store.contract';

readStoreContract('sqlite (embedded)', async () => {
  const store = new SqliteReadStore(':memory:');
  return { store, close: () => store.close() };
});
