/**
 * History export (R-AUD-2, issue 15): how fast `historyLines` (src/audit/history.ts, what
 * `GET /v1/orgs/{org}/history` and `npm run cli -- export` stream) exports an org of
 * 1 000 000 events on the embedded default, and that its memory stays flat (RSS at 100 000
 * lines and at the end, and peak RSS), beside the ceiling measured in the same run: a raw
 * better-sqlite3 scan of the same rows.
 *
 *   npm run bench:export                    # seeds once (about 2 min), then prints the report (markdown)
 *   npm run bench:export -- --write         # and replaces the results block in BENCHMARKS.md
 *   npm run bench:export -- --fresh         # throws the kept data folder away and seeds it again
 *   npm run bench:export -- --quick         # 50 000 events, 2 runs: a smoke test
 *   options: --events 1000000 --members 50000 --runs 3 --data-dir <dir>
 *
 * The data folder (default: <tmp>/gatehouse-bench-export-<events>) is kept between runs:
 * seeding a million events is most of a run's time. It is reused when its seed.json says it
 * holds what the options ask for; otherwise, or with --fresh, it is made again.
 * The store is opened as the service opens it (openServiceEventStore: SQLite, WAL,
 * synchronous=FULL, personal data encrypted with each person's key), and each export runs in
 * a process of its own (bench/support/export-worker.ts) so its peak RSS is the export's alone.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { loadSettings } from '../src/config/config';
import { openSecretBox, openServiceEventStore } from '../src/shared/event-store.provider';
import { personalFieldsOf } from '../domain/events';
import { cleanupOnExit } from '../scripts/rig/cleanup';
import { addMembers, seedOrg } from './support/dataset';
import type { ExportMode, ExportResult } from './support/export-worker';
import { addActivity } from './support/history-seed';
import { machineFacts } from './support/machine';
import { spread } from './support/measure';
import { num, writeSection } from './support/report';
import { argsOf, log } from './support/args';

const MARKS = {
  start: '<!-- bench/export.ts results: generated, `npm run bench:export -- --write` replaces this block -->',
  end: '<!-- end of bench/export.ts results -->',
};
/** Bumped when the seeded data changes shape, so an old folder is not measured as a new one. */
const SEED_FORMAT = 1;


interface Options {
  events: number;
  members: number;
  runs: number;
  dataDir: string;
  fresh: boolean;
  write: boolean;
}

function parseOptions(argv: string[]): Options {
  const args = argsOf(argv);
  const quick = args.flag('quick');
  const raw = args.raw;
  const value = args.int;
  const events = value('events', quick ? 50_000 : 1_000_000, 10_000, 20_000_000);
  const members = value('members', quick ? 2_500 : 50_000, 100, 1_000_000);
  if (members * 4 + 10 > events) throw new Error(`--members ${members} makes ${members * 4} events already: more than --events ${events}`);
  return {
    events,
    members,
    runs: value('runs', quick ? 2 : 3, 1, 21),
    dataDir: raw('data-dir') ?? path.join(os.tmpdir(), `gatehouse-bench-export-${events}`),
    fresh: argv.includes('--fresh'),
    write: argv.includes('--write'),
  };
}

/** What seed.json in the data folder records: the folder is reused only when it matches the options. */
interface Seeded {
  format: number;
  orgId: string;
  ownerId: string;
  events: number;
  members: number;
  /** Events the export of the org holds (the org's own, its members', their activity). */
  orgEvents: number;
  seededAt: string;
  seconds: number;
}

async function seed(options: Options): Promise<Seeded> {
  const marker = path.join(options.dataDir, 'seed.json');
  if (!options.fresh && fs.existsSync(marker)) {
    const kept = JSON.parse(fs.readFileSync(marker, 'utf8')) as Seeded;
    if (kept.format === SEED_FORMAT && kept.events === options.events && kept.members === options.members) {
      log(`reusing the data seeded at ${kept.seededAt} in ${options.dataDir} (--fresh seeds it again)`);
      return kept;
    }
    log(`${options.dataDir} holds another dataset (${kept.events} events, ${kept.members} members): seeding it again`);
  }
  // Without seed.json the folder is a seed that did not finish: start over.
  fs.rmSync(options.dataDir, { recursive: true, force: true });
  fs.mkdirSync(options.dataDir, { recursive: true });
  const started = performance.now();
  const settings = loadSettings({ DATA_DIR: options.dataDir });
  const store = await openServiceEventStore(settings, () => new Date(), openSecretBox(settings), () => {
    throw new Error('no read store on the embedded default');
  });
  const rate = (done: number) => `${num(done / ((performance.now() - started) / 1000))} events/s`;
  try {
    log(`seeding ${num(options.events)} events of one org into ${options.dataDir}: ${num(options.members)} members (4 events each), then their history`);
    const org = await seedOrg(store, 'Export bench', 0, 'export');
    let memberEvents = 0;
    // In chunks, for progress: addMembers reports only every 50 000 members.
    for (let done = 0; done < options.members; ) {
      const count = Math.min(10_000, options.members - done);
      memberEvents += await addMembers(store, org, { first: 1 + done, count, tag: 'export' });
      done += count;
      log(`  ${num(done)} of ${num(options.members)} members (${rate(memberEvents)})`);
    }
    const db = new Database(path.join(options.dataDir, 'events.db'), { readonly: true });
    const orgEventsSoFar = (db.prepare('SELECT count(*) AS n FROM events WHERE org_id = ?').get(org.orgId) as { n: number }).n;
    const members = (db.prepare("SELECT json_extract(data, '$.userId') AS userId FROM events WHERE org_id = ? AND type = 'MemberAdded' AND json_extract(data, '$.userId') != ?").all(org.orgId, org.ownerId) as Array<{ userId: string }>).map((r) => r.userId);
    db.close();
    const activity = await addActivity(store, org, {
      members,
      events: options.events - orgEventsSoFar,
      onProgress: (done) => log(`  ${num(orgEventsSoFar + done)} of ${num(options.events)} events (${rate(memberEvents + done)})`),
    });
    const seconds = (performance.now() - started) / 1000;
    const seeded: Seeded = { format: SEED_FORMAT, orgId: org.orgId, ownerId: org.ownerId, events: options.events, members: options.members, orgEvents: orgEventsSoFar + activity, seededAt: new Date().toISOString(), seconds };
    await store.close();
    fs.writeFileSync(marker, JSON.stringify(seeded, null, 2) + '\n');
    log(`seeded in ${seconds.toFixed(0)} s`);
    return seeded;
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}

/** Runs one worker to its end; kills it if the bench is stopped. */
function runWorker(mode: ExportMode, dataDir: string, orgId: string, checkpoints: number[], undo: Array<() => void>, gc = false): Promise<ExportResult> {
  return new Promise((resolve, reject) => {
    const args = [mode, dataDir, orgId, checkpoints.join(','), ...(gc ? ['gc'] : [])];
    const child = fork(path.join(__dirname, 'support', 'export-worker.js'), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...process.execArgv, ...(gc ? ['--expose-gc'] : [])] });
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    undo.push(kill);
    let answer: ExportResult | undefined;
    let failure: string | undefined;
    child.on('message', (message: ExportResult | { type: 'failed'; error: string }) => {
      if (message.type === 'done') answer = message;
      else failure = message.error;
    });
    child.once('exit', (code, signal) => {
      const at = undo.indexOf(kill);
      if (at >= 0) undo.splice(at, 1);
      if (answer) resolve(answer);
      else reject(new Error(`${mode} worker ended (${signal ?? code}) without an answer${failure ? `: ${failure}` : ''}`));
    });
  });
}

const MB = 1024 * 1024;
const mb = (bytes: number) => num(bytes / MB);
/** A count: num() gives small numbers decimals. */
const count = (n: number) => (n < 100 ? String(n) : num(n));

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const cleanup = cleanupOnExit();
  const machine = machineFacts();
  const memory = `${num(os.totalmem() / 1024 ** 3)} GB RAM`;
  const seeded = await seed(options);

  // What the export should hold, counted with SQL on the same file.
  const db = new Database(path.join(options.dataDir, 'events.db'), { readonly: true });
  const byType = db.prepare('SELECT type, count(*) AS n FROM events WHERE org_id = ? GROUP BY type ORDER BY n DESC').all(seeded.orgId) as Array<{ type: string; n: number }>;
  const fileBytes = fs.readdirSync(options.dataDir).filter((f) => f.startsWith('events.db')).reduce((sum, f) => sum + fs.statSync(path.join(options.dataDir, f)).size, 0);
  db.close();
  const total = byType.reduce((sum, t) => sum + t.n, 0);
  const withPersonal = byType.filter((t) => personalFieldsOf(t.type)).reduce((sum, t) => sum + t.n, 0);
  const first = Math.min(100_000, Math.floor(total / 10));
  const checkpoints = [first, Math.floor(total / 2), total];

  const modes: Array<{ mode: ExportMode; what: string }> = [
    { mode: 'export', what: '`historyLines` export (the service\'s code: paged reads, envelope, `personal` decrypted, NDJSON)' },
    { mode: 'raw-json', what: 'raw scan + JSON: the same rows by one SELECT, data and metadata parsed, a line serialized (no decryption, no paging)' },
    { mode: 'raw', what: 'raw scan: the same rows by one better-sqlite3 SELECT, read and dropped (ceiling)' },
  ];
  const results = new Map<ExportMode, ExportResult[]>(modes.map((m) => [m.mode, []]));
  for (let run = 1; run <= options.runs; run++) {
    for (const { mode } of modes) {
      log(`run ${run} of ${options.runs}: ${mode}`);
      const result = await runWorker(mode, options.dataDir, seeded.orgId, checkpoints, cleanup.undo);
      if (result.lines !== total) throw new Error(`${mode} gave ${result.lines} lines, the org holds ${total} events`);
      if (mode === 'export' && result.personalLines !== withPersonal) throw new Error(`the export showed personal data on ${result.personalLines} lines; ${withPersonal} events hold some`);
      log(`  ${num(result.lines / result.seconds)} lines/s, ${result.seconds.toFixed(1)} s, peak RSS ${mb(result.peakRss)} MB`);
      results.get(mode)!.push(result);
    }
  }

  // Not timed: what the export keeps, apart from heap V8 and the allocator have not handed back.
  log('one more export with a full GC at each checkpoint (diagnostic, not timed)');
  const retained = await runWorker('export', options.dataDir, seeded.orgId, checkpoints, cleanup.undo, true);

  const rate = (r: ExportResult) => r.lines / r.seconds;
  const ceiling = spread(results.get('raw')!.map(rate)).median;
  const exported = results.get('export')!;
  const lines = [
    `### History export, ${machine.date}`,
    '',
    `- Machine: ${machine.nproc} cores (nproc), ${machine.cpuModel}, ${memory}, Node ${machine.node}, ${machine.kernel}, load average at start ${machine.loadAverage}; data folder on ${machine.tempFs} (${num(machine.fdatasyncPerSecond)} fdatasync/s).`,
    `- Store: embedded SQLite opened as the service opens it (\`openServiceEventStore\`: WAL, personal data encrypted per person, AES-256-GCM), file ${mb(fileBytes)} MB. The export is \`historyLines\` piped as \`npm run cli -- export\` pipes it, into a sink that counts lines and bytes instead of a file; each export and scan runs in a fresh process.`,
    `- Data: one org (team preset) of ${num(total)} events: ${byType.map((t) => `${t.type} ${count(t.n)}`).join(', ')}. ${num(seeded.members)} members as the create-member command commits them (\`bench/support/dataset.ts\`), then the Owner's commands on them, decided by the membership decider (\`bench/support/history-seed.ts\`); ${num(withPersonal)} events hold personal data (every one showed it decrypted under \`personal\`: checked). Seeded by \`appendMany\` through the encrypting store in ${seeded.seconds.toFixed(0)} s on ${seeded.seededAt.slice(0, 10)}; the folder is kept between runs.`,
    `- Each figure: median of ${options.runs} runs, [min–max]; rows interleaved in every run. RSS is the process's resident set (\`process.memoryUsage.rss()\`) when the line count passed ${num(checkpoints[0])}, ${num(checkpoints[1])} and ${num(checkpoints[2])}; peak is \`getrusage\` max RSS. Every run's line count equals the org's events in SQL: checked.`,
    '',
    `| What | Events/s: median [min–max] | Seconds | RSS at ${num(checkpoints[0])} / ${num(checkpoints[1])} / ${num(checkpoints[2])} lines, MB | Peak RSS, MB | vs raw scan |`,
    '|---|--:|--:|--:|--:|--:|',
  ];
  for (const { mode, what } of modes) {
    const rs = results.get(mode)!;
    const r = spread(rs.map(rate));
    const rss = checkpoints.map((c) => mb(spread(rs.map((x) => x.rssAt[String(c)])).median)).join(' / ');
    const versus = mode === 'raw' ? '' : `${Math.round((r.median / ceiling) * 100)} %`;
    lines.push(`| ${what} | ${num(r.median)} [${num(r.min)}–${num(r.max)}] | ${spread(rs.map((x) => x.seconds)).median.toFixed(1)} | ${rss} | ${mb(spread(rs.map((x) => x.peakRss)).median)} | ${versus} |`);
  }
  const at = (c: number) => spread(exported.map((x) => x.rssAt[String(c)])).median;
  const growth = at(checkpoints[2]) - at(checkpoints[0]);
  lines.push(
    '',
    `The export of ${num(total)} events runs at ${num(spread(exported.map(rate)).median)} events/s (${Math.round((spread(exported.map(rate)).median / ceiling) * 100)} % of the raw scan), ${mb(spread(exported.map((x) => x.bytes)).median)} MB of NDJSON; its RSS moves by ${growth >= 0 ? '+' : ''}${mb(growth)} MB from line ${num(checkpoints[0])} to the last (${mb(spread(exported.map((x) => x.rssBefore)).median)} MB with the store open, before the first line).`,
  );
  lines.push(
    '',
    `Heap in use right after a full GC at ${checkpoints.map(num).join(' / ')} lines (one more export with \`--expose-gc\`, not timed): ${checkpoints.map((c) => mb(retained.heapAfterGcAt[String(c)])).join(' / ')} MB; RSS then ${checkpoints.map((c) => mb(retained.rssAt[String(c)])).join(' / ')} MB.`,
  );
  const report = lines.join('\n');
  process.stdout.write(`${report}\n`);
  if (options.write) {
    writeSection(path.join(__dirname, '..', '..', 'BENCHMARKS.md'), report, MARKS);
    log('BENCHMARKS.md updated');
  }
  cleanup.undoAll();
  cleanup.detach();
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
