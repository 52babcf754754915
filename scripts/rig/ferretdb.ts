import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MongoClient } from 'mongodb';
import {
  createOwnedTempDir,
  freePort,
  killAndWaitSync,
  killRecordedServer,
  reapStaleDirs,
  runScriptToStderr,
  scriptPath,
  tail,
  waitUntilReady,
} from './processes';

/**
 * FerretDB v1 on its SQLite backend: the only MongoDB-wire server that can be had on
 * the CI machine (see /work/shared/RIG.md). It is not MongoDB: transactions, change
 * streams, $lookup, collation and more fail, and a few operators are silently wrong,
 * so tests against it should stick to whole-document upserts and plain find/sort/limit.
 */
export interface RunningFerretDb {
  /** e.g. mongodb://127.0.0.1:40123/ */
  url: string;
  /** Whether this process started the server (false: it came from MONGODB_URL). */
  started: boolean;
  /** e.g. "FerretDB v1.24.2, SQLite backend" or "from MONGODB_URL" */
  description: string;
  stop(): Promise<void>;
  /** Same as stop(), for process 'exit' and signal handlers, which cannot await. */
  stopSync(): void;
}

export const FERRETDB_VERSION = 'v1.24.2';

const DIR_PREFIX = 'gatehouse-ferretdb-rig-';
const SERVER_PID_FILE = 'ferretdb.pid';
const READY_TIMEOUT_MS = 30_000;
// SIGKILL, since the data is thrown away anyway; then this long for it to be gone.
const KILL_WAIT_MS = 3_000;
const BUILD_SCRIPT = scriptPath('build-ferretdb.sh');

const HOW_TO_FIX =
  'Install Go (https://go.dev/dl/, or Debian/Ubuntu: apt-get install -y golang-go) and run ' +
  '`bash scripts/build-ferretdb.sh` (one cold build takes ~5 min), or point the tests at an existing ' +
  'MongoDB-wire server with MONGODB_URL=mongodb://host:27017/.';

/** Where scripts/build-ferretdb.sh caches the binary; keep the two in step. */
export function ferretDbBinaryPath(): string {
  const cacheRoot = process.env.FERRETDB_CACHE || path.join(os.homedir(), '.cache', 'gatehouse');
  return path.join(cacheRoot, `ferretdb-${FERRETDB_VERSION}`, 'ferretdb');
}

/**
 * Uses MONGODB_URL when set; otherwise starts FerretDB (SQLite backend) in a temp dir on
 * a free 127.0.0.1 port, building the binary first if it is not cached yet.
 */
export async function startFerretDb(): Promise<RunningFerretDb> {
  const external = process.env.MONGODB_URL;
  if (external) {
    return {
      url: external,
      started: false,
      description: 'from MONGODB_URL',
      stop: async () => undefined,
      stopSync: () => undefined,
    };
  }

  const bin = await ensureBinary();
  reapStaleServers();

  const dir = createOwnedTempDir(DIR_PREFIX);
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  const logFile = path.join(dir, 'ferretdb.log');

  let child: ChildProcess | undefined;
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    if (child) killAndWaitSync(child, KILL_WAIT_MS);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const stop = async () => {
    if (stopped) return;
    if (child && child.exitCode === null && child.signalCode === null) {
      const running = child;
      // The timer (referenced) also keeps the loop alive while we wait for the unref'd child.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          running.kill('SIGKILL');
          resolve();
        }, 5_000);
        running.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        running.kill('SIGTERM');
      });
    }
    stopSync();
  };

  try {
    // The free port is only free until someone else takes it: retry with a new one.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      child = spawnServer(bin, port, dir, dataDir, logFile);
      const url = `mongodb://127.0.0.1:${port}/`;
      const failure = await waitUntilReady(child, port, READY_TIMEOUT_MS, () => ping(url));
      if (!failure) {
        return {
          url,
          started: true,
          description: `FerretDB ${FERRETDB_VERSION}, SQLite backend`,
          stop,
          stopSync,
        };
      }
      killAndWaitSync(child, KILL_WAIT_MS);
      if (attempt >= 3 || !failure.exited) {
        // The temp dir (log included) is removed below: quote the log now.
        throw new Error(`FerretDB did not start: ${failure.reason}\n--- its log ---\n${tail(logFile)}`);
      }
    }
  } catch (err) {
    stopSync();
    throw err;
  }
}

async function ensureBinary(): Promise<string> {
  const bin = ferretDbBinaryPath();
  if (fs.existsSync(bin)) return bin;

  process.stderr.write(
    `\n[rig] FerretDB binary not found at ${bin}: building it now with ${path.relative(process.cwd(), BUILD_SCRIPT)} ` +
      '(once per machine, ~5 min cold)...\n',
  );
  const status = await runScriptToStderr(BUILD_SCRIPT);
  if (status !== 0 || !fs.existsSync(bin)) {
    throw new Error(
      `FerretDB (the MongoDB-wire server the tests use) is not available: ${BUILD_SCRIPT} failed ` +
        `(${typeof status === 'number' ? `exit ${status}` : status}; its output is above). ${HOW_TO_FIX}`,
    );
  }
  return bin;
}

function spawnServer(bin: string, port: number, dir: string, dataDir: string, logFile: string): ChildProcess {
  // FerretDB reads FERRETDB_* variables as flags; keep a stray one from changing the rig.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FERRETDB_')));
  const log = fs.openSync(logFile, 'a');
  try {
    const child = spawn(
      bin,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${dataDir}/`,
        `--listen-addr=127.0.0.1:${port}`,
        '--debug-addr=-',
        '--telemetry=disable',
        `--state-dir=${dir}`,
        '--log-level=error',
        '--log-format=text',
      ],
      { cwd: dir, env, stdio: ['ignore', log, log] },
    );
    // Not referenced: teardown (or the exit handlers) stop it; it must not keep Jest alive.
    child.unref();
    child.on('error', () => undefined); // surfaced by waitUntilReady via exitCode/'error' below
    if (child.pid) fs.writeFileSync(path.join(dir, SERVER_PID_FILE), String(child.pid));
    return child;
  } finally {
    fs.closeSync(log);
  }
}

async function ping(url: string): Promise<void> {
  const client = new MongoClient(url, {
    directConnection: true,
    serverSelectionTimeoutMS: 2_000,
    connectTimeoutMS: 2_000,
  });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Stops servers left behind by runs that were killed before their teardown ran. */
function reapStaleServers(): void {
  reapStaleDirs(DIR_PREFIX, (dir) =>
    killRecordedServer(path.join(dir, SERVER_PID_FILE), (cmdline) => cmdline.includes('ferretdb'), KILL_WAIT_MS),
  );
}
