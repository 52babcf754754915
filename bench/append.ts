/**
 * Append throughput of each event store adapter, beside the raw INSERT rate of the
 * same PostgreSQL measured in the same run (the ceiling, since absolute figures
 * move with the machine's load).
 *
 *   npm run bench:append                  # print the table
 *   npm run bench:append -- --write       # and replace the results block in BENCHMARKS.md
 *   options: --seconds 3 --runs 5 --warmup 0.5 --concurrency 16 --batch 100
 *   POSTGRES_URL=...   measure that server (in a fresh database) instead of starting one
 *   EVENTSTORE_URL=... also measure the EventStoreDB adapter
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Pool } from 'pg';
import { EventRegistry } from '../domain/events';
import type { EventStore } from '../infra/eventstore/port';
import { PostgresEventStore } from '../infra/eventstore/postgres';
import { SqliteEventStore } from '../infra/eventstore/sqlite';
import { cleanupOnExit } from '../scripts/rig/cleanup';
import { machineFacts } from './support/machine';
import { timed, type Operation } from './support/measure';
import { medianEvents, num, table, writeSection, type MeasuredRow, type Row } from './support/report';
import { postgresTarget } from './support/servers';
import { memberAdded, openEventStoreDb, postgresFacts, rawInsert, RAW_TABLE } from './support/stores';

interface Options {
  seconds: number;
  runs: number;
  warmup: number;
  concurrency: number;
  batch: number;
  write: boolean;
}

/** A row of the table and how to produce one run of it. */
interface Case {
  row: MeasuredRow;
  workers: number;
  /** Called once per run, so each run starts on fresh streams. */
  operation(): Operation;
  /** Events this case wrote into its store, to check against the store's count at the end. */
  written: number;
}

const ORG = 'org-bench';

function parseOptions(argv: string[]): Options {
  const value = (name: string, fallback: number, min: number, max: number) => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return fallback;
    const raw = argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got ${raw}`);
    return n;
  };
  return {
    seconds: value('seconds', 3, 0.1, 60),
    runs: Math.round(value('runs', 5, 1, 21)),
    warmup: value('warmup', 0.5, 0, 10),
    concurrency: Math.round(value('concurrency', 16, 1, 256)),
    batch: Math.round(value('batch', 100, 1, 10_000)),
    write: argv.includes('--write'),
  };
}

/** One, concurrent and batched appends, each appender on its own stream with an exact expected version. */
function adapterCases(storeLabel: string, store: EventStore, options: Options, runId: string): Case[] {
  const make = (mode: string, workers: number, perAppend: number): Case => {
    const c: Case = {
      row: { store: storeLabel, mode, samples: [] },
      workers,
      written: 0,
      operation: () => {
        const tag = `bench-${runId}-${randomBytes(4).toString('hex')}`;
        const versions = new Array<number>(workers).fill(-1);
        let n = 0;
        return async (w) => {
          const events = Array.from({ length: perAppend }, () => memberAdded(ORG, n++));
          const result = await store.append(`${tag}-${w}`, events, versions[w] < 0 ? 'no_stream' : versions[w]);
          versions[w] = result.version;
          c.written += perAppend;
          return perAppend;
        };
      },
    };
    return c;
  };
  return [
    make('1 event/append, sequential', 1, 1),
    make(`1 event/append, ${options.concurrency} concurrent`, options.concurrency, 1),
    make(`${options.batch} events/append, sequential`, 1, options.batch),
  ];
}

function rawCases(pool: Pool, options: Options): Case[] {
  const make = (mode: string, workers: number): Case => {
    const c: Case = {
      row: { store: 'PostgreSQL raw INSERT (ceiling)', mode, samples: [] },
      workers,
      written: 0,
      operation: () => {
        const versions = new Array<number>(workers).fill(0);
        let n = 0;
        return async (w) => {
          await rawInsert(pool, `raw-${w}`, versions[w]++, memberAdded(ORG, n++));
          c.written++;
          return 1;
        };
      },
    };
    return c;
  };
  return [make('1 row/INSERT, sequential', 1), make(`1 row/INSERT, ${options.concurrency} concurrent`, options.concurrency)];
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const runId = randomBytes(4).toString('hex');
  const registry = new EventRegistry().register('MemberAdded');

  // Everything started here is undone here, also on Ctrl-C, a failure or the watchdog.
  const { undo, undoAll } = cleanupOnExit();

  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  log('machine facts (includes a 1 s fdatasync probe of the temp dir)');
  const machine = machineFacts();

  const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-sqlite-'));
  undo.push(() => fs.rmSync(sqliteDir, { recursive: true, force: true }));
  const sqliteFile = path.join(sqliteDir, 'events.db');
  const sqlite = new SqliteEventStore({ file: sqliteFile, registry });

  log(process.env.POSTGRES_URL ? 'PostgreSQL: fresh database on POSTGRES_URL' : 'PostgreSQL: starting a throwaway cluster with fsync on');
  const pg = await postgresTarget();
  undo.push(pg.stopSync);
  const pgFacts = await postgresFacts(pg.url);
  const poolSize = options.concurrency;
  const postgres = new PostgresEventStore({ url: pg.url, registry, poolSize });
  await postgres.init();
  const rawPool = new Pool({ connectionString: pg.url, max: poolSize });
  rawPool.on('error', () => undefined);
  await rawPool.query(RAW_TABLE);

  const esdb = await openEventStoreDb(registry);

  const sqliteCases = adapterCases('SQLite adapter', sqlite, options, runId);
  const postgresCases = adapterCases('PostgreSQL adapter', postgres, options, runId);
  const ceilingCases = rawCases(rawPool, options);
  const esdbCases = typeof esdb === 'string' ? [] : adapterCases('EventStoreDB adapter', esdb, options, runId);
  const [rawSequential, rawConcurrent] = ceilingCases.map((c) => c.row);
  postgresCases[0].row.ceiling = rawSequential;
  postgresCases[1].row.ceiling = rawConcurrent;
  postgresCases[2].row.ceiling = rawSequential;
  const cases = [...sqliteCases, ...postgresCases, ...ceilingCases, ...esdbCases];

  // If a store hangs, stop anyway: twice the planned time plus a minute.
  const plannedSeconds = cases.length * (options.warmup + options.runs * options.seconds);
  const watchdog = setTimeout(() => {
    log(`watchdog: not finished after ${Math.round(plannedSeconds * 2 + 60)} s, giving up`);
    process.exit(2);
  }, (plannedSeconds * 2 + 60) * 1000);
  watchdog.unref();
  log(`${cases.length} rows × ${options.runs} runs × ${options.seconds} s (+${options.warmup} s warm-up each): about ${Math.round(plannedSeconds)} s`);

  if (options.warmup > 0) for (const c of cases) await timed(c.workers, options.warmup, c.operation());
  // Runs go round-robin over the rows, so a burst of load elsewhere on the machine
  // lands on every row rather than on one.
  for (let run = 1; run <= options.runs; run++) {
    for (const c of cases) {
      const sample = await timed(c.workers, options.seconds, c.operation());
      if (sample.ops === 0) throw new Error(`${c.row.store}, ${c.row.mode}: no operation completed in ${options.seconds} s`);
      c.row.samples.push(sample);
      log(`run ${run}/${options.runs} ${c.row.store}, ${c.row.mode}: ${num(sample.ops / sample.seconds)}/s`);
    }
  }

  // Every counted append must really be in the store.
  const sqliteCount = countSqlite(sqliteFile);
  const pgCount = Number((await rawPool.query<{ n: string }>('SELECT count(*) AS n FROM gatehouse_events')).rows[0].n);
  const rawCount = Number((await rawPool.query<{ n: string }>('SELECT count(*) AS n FROM bench_raw_insert')).rows[0].n);
  const checks = [
    { name: 'SQLite', counted: total(sqliteCases), stored: sqliteCount },
    { name: 'PostgreSQL adapter', counted: total(postgresCases), stored: pgCount },
    { name: 'raw INSERT', counted: total(ceilingCases), stored: rawCount },
  ];
  for (const check of checks) {
    if (check.counted !== check.stored) throw new Error(`${check.name}: counted ${check.counted} events but the store holds ${check.stored}`);
  }

  const sqliteVersion = (new Database(':memory:').prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  const rows: Row[] = [...sqliteCases, ...postgresCases, ...ceilingCases].map((c) => c.row);
  if (typeof esdb === 'string') rows.push({ store: 'EventStoreDB adapter', reason: esdb });
  else rows.push(...esdbCases.map((c) => c.row));

  const [pgSeq, pgConc, pgBatch] = postgresCases.map((c) => c.row);
  const pct = (a: MeasuredRow, b: MeasuredRow) => `${Math.round((medianEvents(a) / medianEvents(b)) * 100)} %`;
  const body = [
    `### Append throughput, ${machine.date}`,
    '',
    `- Machine: ${machine.nproc} cores (nproc), ${machine.cpuModel}, Node ${machine.node}, ${machine.kernel}, load average at start ${machine.loadAverage}.`,
    `- Temp dir (SQLite file and PostgreSQL cluster): ${machine.tempFs}, ${num(machine.fdatasyncPerSecond)} fdatasync/s (8 kB write + fdatasync, one thread).`,
    `- PostgreSQL: ${pgFacts.version}, ${pg.description}; ${pgFacts.settings}. Adapter pool and raw INSERT pool: ${poolSize} connections; raw INSERTs are autocommit.`,
    `- SQLite: ${sqliteVersion} (better-sqlite3), journal_mode=WAL, synchronous=FULL (the adapter's default); appends arriving in the same tick share one transaction.`,
    `- Events: MemberAdded, about 400 bytes of JSON; each appender writes its own stream with an exact expected version. Raw INSERT table: same columns, primary key only (the event table also has two unique constraints and an index).`,
    `- Each figure: median of ${options.runs} runs of ${options.seconds} s, [min–max] of those runs; runs interleaved across rows after a ${options.warmup} s warm-up each. Checked afterwards: every counted event is in its store.`,
    '',
    table(rows),
    '',
    `PostgreSQL adapter vs raw INSERT: sequential ${pct(pgSeq, rawSequential)}, ${options.concurrency} concurrent ${pct(pgConc, rawConcurrent)}; ` +
      `${options.batch}-event batches give ${num(medianEvents(pgBatch))} events/s, ${num(medianEvents(pgBatch) / medianEvents(rawSequential))}× the sequential single-row INSERT rate.`,
  ].join('\n');

  process.stdout.write(`${body}\n`);
  if (options.write) {
    // Compiled to dist/bench/append.js: the repository root is two levels up.
    writeSection(path.resolve(__dirname, '..', '..', 'BENCHMARKS.md'), body);
    log('BENCHMARKS.md updated');
  }

  await rawPool.end();
  await postgres.close();
  if (typeof esdb !== 'string') await esdb.close();
  await sqlite.close();
  await pg.stop();
  undoAll();
}

function total(cases: Case[]): number {
  return cases.reduce((n, c) => n + c.written, 0);
}

function countSqlite(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
