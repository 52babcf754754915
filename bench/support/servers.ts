import * as fs from 'node:fs';
import { ferretDbBinaryPath, startFerretDb } from '../../scripts/rig/ferretdb';
import { KAFKA_JVM_FLAGS, kafkaCacheDir, kafkaJarsCached, startKafka } from '../../scripts/rig/kafka';
import { createDatabase, startPostgres } from '../../scripts/rig/postgres';

/**
 * The servers a bench measures: the one the user names, otherwise a throwaway one the
 * rig (scripts/rig/, the tests' starters) runs in the temp dir. Unlike the tests, a bench
 * does not fetch Kafka or build FerretDB: without them, that part is not measured.
 */
export interface Target {
  /** How the server was obtained, for the report. */
  description: string;
  stop(): Promise<void>;
  /** For exit and signal handlers, which cannot await. */
  stopSync(): void;
}

export interface PostgresTarget extends Target {
  url: string;
}

/**
 * POSTGRES_URL: a fresh database on that server (dropped afterwards), so its own
 * settings are what gets measured. Otherwise a throwaway cluster with fsync on.
 */
export async function postgresTarget(): Promise<PostgresTarget> {
  const external = process.env.POSTGRES_URL;
  if (!external) {
    // Locale C: the figures in BENCHMARKS.md were taken with it.
    const cluster = await startPostgres({ durable: true, locale: 'C' });
    return { ...cluster, description: 'throwaway cluster started by the bench in the temp dir' };
  }
  const database = await createDatabase(external, 'gh_bench_');
  // A database left behind on someone's server is a small leak; say so rather than block exit.
  let dropped = false;
  return {
    url: database.url,
    description: 'server from POSTGRES_URL (fresh database)',
    stop: async () => {
      dropped = true;
      await database.drop();
    },
    stopSync: () => {
      if (!dropped) process.stderr.write(`[bench] database ${database.name} may be left on the POSTGRES_URL server\n`);
    },
  };
}

export interface MongoTarget extends Target {
  url: string;
  isFerretDb: boolean;
}

/**
 * MONGODB_URL, otherwise FerretDB v1 on its SQLite backend. FerretDB is not MongoDB:
 * its speed says nothing about MongoDB's (RIG.md). The server, or why there is none.
 */
export async function mongoTarget(): Promise<MongoTarget | string> {
  const external = process.env.MONGODB_URL;
  const bin = ferretDbBinaryPath();
  if (!external && !fs.existsSync(bin)) {
    return `not measured: no MONGODB_URL and no FerretDB binary at ${bin} (build it with \`bash scripts/build-ferretdb.sh\`)`;
  }
  try {
    const server = await startFerretDb();
    return {
      ...server,
      isFerretDb: server.started,
      description: server.started ? `${server.description}, started by the bench in the temp dir` : 'server from MONGODB_URL',
    };
  } catch (error) {
    return `not measured: FerretDB did not start (${oneLine(error)})`;
  }
}

export interface KafkaTarget extends Target {
  brokers: string;
}

/** The broker given (--brokers or KAFKA_BROKERS), otherwise one the rig starts; or why there is none. */
export async function kafkaTarget(given?: string): Promise<KafkaTarget | string> {
  const external = given || process.env.KAFKA_BROKERS;
  if (external) {
    const description = `broker from ${given ? '--brokers' : 'KAFKA_BROKERS'} (${external})`;
    return { brokers: external, description, stop: async () => undefined, stopSync: () => undefined };
  }
  if (!kafkaJarsCached()) {
    return `no broker: no --brokers, no KAFKA_BROKERS and no Kafka jars in ${kafkaCacheDir()} (fetch them with \`bash scripts/fetch-kafka.sh\`)`;
  }
  try {
    const broker = await startKafka();
    const how = `(broker and controller), started by the bench in the temp dir (${KAFKA_JVM_FLAGS.join(' ')})`;
    return { ...broker, description: `${broker.description} ${how}` };
  } catch (error) {
    return `no broker: Kafka did not start (${oneLine(error)})`;
  }
}

/** A start failure quotes the server's log over many lines; a report row wants one: why, and the log's end. */
function oneLine(error: unknown): string {
  const lines = (error as Error).message.trim().split('\n').filter(Boolean);
  return (lines.length <= 5 ? lines : [lines[0], '…', ...lines.slice(-4)]).join(' / ');
}
