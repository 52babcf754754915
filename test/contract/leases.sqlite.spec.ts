import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLeases } from '../../infra/leases/sqlite';
import { ReadStoreLeases } from '../../infra/leases/readstore';
import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { leasesContract } from './leases.contract';

leasesContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-leases-'));
  const file = join(dir, 'events.db');
  const opened: SqliteLeases[] = [];
  const open = () => {
    const leases = new SqliteLeases(file);
    opened.push(leases);
    return leases;
  };
  return {
    leases: open(),
    another: async () => open(),
    close: async () => {
      await Promise.all(opened.map((l) => l.close().catch(() => undefined)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

leasesContract('read store (on SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-leases-rs-'));
  const stores: SqliteReadStore[] = [];
  const open = () => {
    const store = new SqliteReadStore(join(dir, 'readmodels.db'));
    stores.push(store);
    return new ReadStoreLeases(store);
  };
  return {
    leases: open(),
    another: async () => open(),
    close: async () => {
      await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
