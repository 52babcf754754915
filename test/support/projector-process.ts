import 'reflect-metadata';
import { MongoReadStore } from '../../infra/readstore/mongo';
import type { Changes, ReadStore } from '../../infra/readstore/port';
import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { loadSettings } from '../../src/config/config';
import { ProjectionRunner } from '../../src/readmodels/projection-runner';
import { openSecretBox, openServiceEventStore } from '../../src/shared/event-store.provider';

/**
 * The projections in a process of their own, for a spec to SIGKILL (see
 * test/projections/sigkill.spec.ts). Says on stdout, one `@@` line each, when a
 * write begins and when it has caught up. PROJECTOR_GAP_AT=n: the n-th write
 * stores its documents, says `@@gap`, and waits there to be killed before its
 * checkpoint (as if the process died between the two).
 */
async function main(): Promise<void> {
  const env = process.env;
  const store: ReadStore = env.PROJECTOR_MONGODB_URL ? new MongoReadStore(env.PROJECTOR_MONGODB_URL, env.PROJECTOR_MONGODB_DATABASE) : new SqliteReadStore(env.PROJECTOR_SQLITE!);
  // The service's own event store on the app's data folder: personal data opened with its keys, as the projections read it.
  const settings = loadSettings({ DATA_DIR: env.PROJECTOR_DATA_DIR!, SQLITE_SYNCHRONOUS: 'normal' });
  const events = await openServiceEventStore(settings, () => new Date(), openSecretBox(settings), () => store);
  const gapAt = Number(env.PROJECTOR_GAP_AT ?? 0);
  let writes = 0;
  const watched = new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'write') return Reflect.get(target, property, receiver);
      return async (changes: Changes, checkpoint: { projection: string; position: bigint }) => {
        writes++;
        process.stdout.write(`@@write ${writes}\n`);
        if (writes === gapAt) {
          await target.write(changes, { projection: `${checkpoint.projection}.gap`, position: 0n });
          process.stdout.write('@@gap\n');
          await new Promise(() => undefined);
        }
        return target.write(changes, checkpoint);
      };
    },
  });
  const runner = new ProjectionRunner(events, watched, () => new Date());
  runner.batchSize = Number(env.PROJECTOR_BATCH ?? 5);
  await runner.onApplicationBootstrap();
  await runner.caughtUp();
  process.stdout.write('@@caught-up\n');
  await runner.onApplicationShutdown();
  await store.close();
  await events.close();
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
