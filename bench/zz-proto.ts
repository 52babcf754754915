import * as fs from 'node:fs';
import * as path from 'node:path';
import { SqliteEventStore } from '../infra/eventstore/sqlite';
import { SqliteReadStore } from '../infra/readstore/sqlite';
import { gatehouseEvents } from '../src/shared/event-types';
import { ProjectionRunner } from '../src/readmodels/projection-runner';
import { addMembers, seedOrg } from './support/dataset';

async function main() {
  const n = Number(process.argv[2] ?? 100000);
  const dir = '/tmp/rmproto';
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
  const store = new SqliteEventStore({ file: path.join(dir, 'events.db'), registry: gatehouseEvents() });
  let t = performance.now();
  const org = await seedOrg(store, 'Big', 0, 'b');
  const events = await addMembers(store, org, { first: 0, count: n, tag: 'b', onProgress: (d) => console.log('gen', d, ((performance.now() - t) / 1000).toFixed(1)) });
  console.log('gen events', events, 'in', ((performance.now() - t) / 1000).toFixed(1), 's', 'size', fs.statSync(path.join(dir, 'events.db')).size / 1e6, 'MB');
  const rs = new SqliteReadStore(path.join(dir, 'rm.db'));
  const runner = new ProjectionRunner(store, rs, () => new Date());
  t = performance.now();
  await runner.onApplicationBootstrap();
  await runner.caughtUp();
  const s = (performance.now() - t) / 1000;
  console.log('catchup', s.toFixed(1), 's', JSON.stringify(await runner.status()), 'head', await store.headPosition());
  await runner.onApplicationShutdown();
  await rs.close(); await store.close();
}
main();
