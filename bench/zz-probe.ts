import * as fs from 'node:fs';
import { SqliteEventStore } from '../infra/eventstore/sqlite';
import { SqliteReadStore } from '../infra/readstore/sqlite';
import { gatehouseEvents } from '../src/shared/event-types';
import { ProjectionRunner } from '../src/readmodels/projection-runner';

async function main() {
  const variant = process.argv[2] ?? 'asis';
  const store = new SqliteEventStore({ file: '/tmp/rmproto/events.db', registry: gatehouseEvents() });
  fs.rmSync('/tmp/rmproto/probe.db', { force: true }); fs.rmSync('/tmp/rmproto/probe.db-wal', { force: true }); fs.rmSync('/tmp/rmproto/probe.db-shm', { force: true });
  const rs = new SqliteReadStore('/tmp/rmproto/probe.db');
  if (variant.includes('cache')) (rs as any).db.pragma('cache_size = -262144');
  if (variant.includes('escache')) (store as any).db.pragma('cache_size = -262144');
  const runner = new ProjectionRunner(store, rs, () => new Date());
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  await runner.onApplicationBootstrap();
  await runner.caughtUp();
  const s = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(variant, 'catchup', s.toFixed(1), 's', 'user', (cpu.user/1e6).toFixed(1), 'sys', (cpu.system/1e6).toFixed(1), Number(await store.headPosition()) / s | 0, 'ev/s');
  await runner.onApplicationShutdown();
  await rs.close(); await store.close();
}
main();
