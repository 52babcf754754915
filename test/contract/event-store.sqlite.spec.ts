import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../infra/eventstore/sqlite';
import { contractRegistry, eventStoreContract } from './event-store.contract';

eventStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
  const store = new SqliteEventStore({ file: join(dir, 'events.db'), registry: contractRegistry(), synchronous: 'normal' });
  return {
    store,
    another: async () => new SqliteEventStore({ file: join(dir, 'events.db'), registry: contractRegistry(), synchronous: 'normal' }),
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
