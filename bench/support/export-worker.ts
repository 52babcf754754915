/**
 * One export, or one raw scan, for bench/export.ts, in a process of its own so its
 * peak RSS is the export's alone. Forked with
 *   argv: <mode> <dataDir> <orgId> <checkpoints, comma-separated line counts> [gc]
 * and answers one IPC message { type: 'done', ... } (or { type: 'failed', error }).
 *
 * Modes:
 *   export    `historyLines` (src/audit/history.ts) on the event store opened as the
 *             service opens it (openServiceEventStore: SQLite, personal data decrypted
 *             under `personal`), piped as the CLI's `export` pipes it, into a sink that
 *             counts the lines and bytes instead of a file (the figure is the export's, not the disk's)
 *   raw       the same rows by one better-sqlite3 statement, each row read and dropped: the ceiling
 *   raw-json  the same rows, each row's JSON parsed and a line serialized: no decryption, no paging
 * With `gc` (and node's --expose-gc) a full GC runs at each checkpoint, after its RSS is
 * read, and the heap still in use is recorded: what the export keeps, apart from what V8
 * and the allocator have not handed back. A diagnostic run: the GCs change the timing and RSS.
 * Not part of the app: nothing here changes how it runs.
 */
import { Writable } from 'node:stream';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { historyLines } from '../../src/audit/history';
import { loadSettings } from '../../src/config/config';
import { openSecretBox, openServiceEventStore } from '../../src/shared/event-store.provider';

export type ExportMode = 'export' | 'raw' | 'raw-json';

export interface ExportResult {
  type: 'done';
  mode: ExportMode;
  lines: number;
  bytes: number;
  /** Lines that carry `personal` (decrypted personal data): export mode only. */
  personalLines: number;
  seconds: number;
  /** RSS in bytes when the line count first reached each checkpoint. */
  rssAt: Record<string, number>;
  /** With `gc`: heap in use, bytes, right after a full GC at each checkpoint. */
  heapAfterGcAt: Record<string, number>;
  /** Peak RSS of the process, bytes (getrusage ru_maxrss). */
  peakRss: number;
  /** RSS after opening the store, before the first line. */
  rssBefore: number;
}

const PERSONAL = '"personal":';

async function run(mode: ExportMode, dataDir: string, orgId: string, checkpoints: number[], gc?: () => void): Promise<ExportResult> {
  const rssAt: Record<string, number> = {};
  const heapAfterGcAt: Record<string, number> = {};
  let lines = 0;
  let bytes = 0;
  let personalLines = 0;
  let next = 0;
  const counted = (added: number) => {
    lines += added;
    while (next < checkpoints.length && lines >= checkpoints[next]) {
      const at = String(checkpoints[next++]);
      rssAt[at] = process.memoryUsage.rss();
      if (gc) {
        gc();
        heapAfterGcAt[at] = process.memoryUsage().heapUsed;
      }
    }
  };

  if (mode === 'export') {
    const settings = loadSettings({ ...process.env, DATA_DIR: dataDir, EVENT_STORE: 'sqlite' });
    const clock = () => new Date();
    const store = await openServiceEventStore(settings, clock, openSecretBox(settings), () => {
      throw new Error('the embedded event store keeps its keys beside the events: no read store needed');
    });
    const rssBefore = process.memoryUsage.rss();
    const sink = new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
        bytes += Buffer.byteLength(text);
        let n = 0;
        for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
        for (let i = text.indexOf(PERSONAL); i >= 0; i = text.indexOf(PERSONAL, i + 1)) personalLines++;
        counted(n);
        done();
      },
    });
    const start = performance.now();
    // As the CLI's `export` does it (src/cli.ts), with the sink in place of the file.
    await pipeline(Readable.from(historyLines(store, { orgId }, store.personal)), sink);
    const seconds = (performance.now() - start) / 1000;
    await store.close();
    return { type: 'done', mode, lines, bytes, personalLines, seconds, rssAt, heapAfterGcAt, peakRss: process.resourceUsage().maxRSS * 1024, rssBefore };
  }

  const db = new Database(path.join(dataDir, 'events.db'), { readonly: true, fileMustExist: true });
  const rssBefore = process.memoryUsage.rss();
  const start = performance.now();
  const rows = db.prepare('SELECT * FROM events WHERE org_id = ? ORDER BY position').iterate(orgId) as Iterable<Record<string, unknown>>;
  for (const row of rows) {
    if (mode === 'raw') {
      bytes += (row.data as string).length + (row.metadata as string).length;
    } else {
      const line = JSON.stringify({ ...row, metadata: JSON.parse(row.metadata as string), data: JSON.parse(row.data as string) }) + '\n';
      bytes += line.length;
    }
    counted(1);
  }
  const seconds = (performance.now() - start) / 1000;
  db.close();
  return { type: 'done', mode, lines, bytes, personalLines, seconds, rssAt, heapAfterGcAt, peakRss: process.resourceUsage().maxRSS * 1024, rssBefore };
}

const [mode, dataDir, orgId, checkpoints, gcFlag] = process.argv.slice(2);
if (!process.send) throw new Error('export-worker runs as a child of bench/export.ts (it needs the IPC channel)');
const gc = gcFlag === 'gc' ? (globalThis as { gc?: () => void }).gc : undefined;
if (gcFlag === 'gc' && !gc) throw new Error('gc asked for, but node was not started with --expose-gc');
run(mode as ExportMode, dataDir, orgId, (checkpoints ?? '').split(',').filter(Boolean).map(Number), gc).then(
  (result) => process.send!(result, undefined, {}, () => process.exit(0)),
  (error) => process.send!({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, undefined, {}, () => process.exit(1)),
);
