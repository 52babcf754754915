import { PostgresLeases } from '../../infra/leases/postgres';
import { createTestDatabase } from '../rig/postgres';
import { leasesContract } from './leases.contract';

leasesContract('postgres', async () => {
  const db = await createTestDatabase();
  const opened: PostgresLeases[] = [];
  const open = () => {
    const leases = new PostgresLeases(db.url);
    opened.push(leases);
    return leases;
  };
  return {
    leases: open(),
    another: async () => open(),
    close: async () => {
      await Promise.all(opened.map((l) => l.close()));
      await db.drop();
    },
  };
});
