import { cleanupOnExit } from '../../scripts/rig/cleanup';
import { startFerretDb, type RunningFerretDb } from '../../scripts/rig/ferretdb';
import { startKafka, type RunningKafka } from '../../scripts/rig/kafka';
import { redactUrl, startPostgres, type RunningPostgres } from '../../scripts/rig/postgres';

/** What global-setup started, for global-teardown (Jest shares only globalThis between them). */
export interface RigState {
  /** Absent when POSTGRES_URL came from outside. */
  postgres?: RunningPostgres;
  /** Absent when MONGODB_URL came from outside. */
  ferretdb?: RunningFerretDb;
  /** Absent when KAFKA_BROKERS came from outside. */
  kafka?: RunningKafka;
  detach(): void;
}

declare global {
  // eslint-disable-next-line no-var
  var __gatehouseRig: RigState | undefined;
  // eslint-disable-next-line no-var
  var __gatehouseOpenAtStart: string[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  // What Jest itself holds open (its output pipes): global-teardown reports only what is beyond it.
  globalThis.__gatehouseOpenAtStart = process.getActiveResourcesInfo();
  const externalPostgres = process.env.POSTGRES_URL;
  const externalMongo = process.env.MONGODB_URL;
  const externalKafka = process.env.KAFKA_BROKERS;

  // Started side by side: each takes a few seconds on a cold machine.
  const [pg, mongo, bus] = await Promise.allSettled([
    externalPostgres ? Promise.resolve(undefined) : startPostgres(),
    externalMongo ? Promise.resolve(undefined) : startFerretDb(),
    externalKafka ? Promise.resolve(undefined) : startKafka(),
  ]);
  const postgres = pg.status === 'fulfilled' ? pg.value : undefined;
  const ferretdb = mongo.status === 'fulfilled' ? mongo.value : undefined;
  const kafka = bus.status === 'fulfilled' ? bus.value : undefined;
  if (pg.status === 'rejected' || mongo.status === 'rejected' || bus.status === 'rejected') {
    // Teardown does not run when setup throws: stop whatever did start.
    postgres?.stopSync();
    ferretdb?.stopSync();
    kafka?.stopSync();
    const errors = [pg, mongo, bus].flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    throw errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map((e) => String(e)).join('\n'));
  }

  // Workers are forked after global setup, so they inherit these.
  if (postgres) process.env.POSTGRES_URL = postgres.url;
  if (ferretdb) process.env.MONGODB_URL = ferretdb.url;
  if (kafka) process.env.KAFKA_BROKERS = kafka.brokers;

  if (postgres || ferretdb || kafka) {
    // A Ctrl-C or kill skips globalTeardown; stop the servers anyway, then let the
    // signal do what it would have done.
    const { undo, detach } = cleanupOnExit();
    for (const server of [postgres, ferretdb, kafka]) if (server) undo.push(server.stopSync);
    globalThis.__gatehouseRig = { postgres, ferretdb, kafka, detach };
  }

  process.stderr.write('\n');
  if (postgres) {
    process.stderr.write(`[rig] PostgreSQL: ${redactUrl(postgres.url)} (throwaway cluster, ${postgres.version})\n`);
  } else {
    process.stderr.write(`[rig] PostgreSQL: ${redactUrl(externalPostgres as string)} (from POSTGRES_URL)\n`);
  }
  if (ferretdb) {
    process.stderr.write(`[rig] MongoDB wire: ${ferretdb.url} (throwaway ${ferretdb.description})\n`);
  } else {
    process.stderr.write(`[rig] MongoDB wire: ${redactMongoUrl(externalMongo as string)} (from MONGODB_URL)\n`);
  }
  if (kafka) {
    process.stderr.write(`[rig] Kafka: ${kafka.brokers} (throwaway ${kafka.description})\n`);
  } else {
    process.stderr.write(`[rig] Kafka: ${externalKafka} (from KAFKA_BROKERS)\n`);
  }
}

/** mongodb:// URLs may list several hosts, which URL cannot parse: mask the password by pattern. */
function redactMongoUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
