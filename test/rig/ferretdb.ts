import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { MongoClient } from 'mongodb';

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
const OWNER_FILE = 'owner.pid';
const SERVER_PID_FILE = 'ferretdb.pid';
const READY_TIMEOUT_MS = 30_000;
const BUILD_SCRIPT = path.resolve(__dirname, '../../scripts/build-ferretdb.sh');

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

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), DIR_PREFIX));
  fs.writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  const logFile = path.join(dir, 'ferretdb.log');

  let child: ChildProcess | undefined;
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    if (child) killAndWaitSync(child);
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
      const failure = await waitUntilReady(child, port, url);
      if (!failure) {
        return {
          url,
          started: true,
          description: `FerretDB ${FERRETDB_VERSION}, SQLite backend`,
          stop,
          stopSync,
        };
      }
      killAndWaitSync(child);
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
  // Async, so a PostgreSQL start running alongside is not held up. The script's own
  // output goes to stderr (stdout may carry Jest's --json report).
  const status = await new Promise<number | string>((resolve) => {
    const build = spawn('bash', [BUILD_SCRIPT], { stdio: ['ignore', 2, 2] });
    build.once('error', (err) => resolve(err.message));
    build.once('exit', (code, signal) => resolve(code ?? `signal ${signal}`));
  });
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

/** Resolves undefined once a TCP connect and a `ping` succeed, or the reason it failed. */
async function waitUntilReady(
  child: ChildProcess,
  port: number,
  url: string,
): Promise<{ reason: string; exited: boolean } | undefined> {
  let exitReason: string | undefined;
  const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
    exitReason = `it exited (${code !== null ? `code ${code}` : `signal ${signal}`})`;
  };
  const onError = (err: Error) => {
    exitReason = `it could not be run: ${err.message}`;
  };
  child.once('exit', onExit);
  child.once('error', onError);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'no attempt made';
  try {
    while (Date.now() < deadline) {
      if (exitReason) return { reason: exitReason, exited: true };
      if (await canConnect(port)) {
        const client = new MongoClient(url, {
          directConnection: true,
          serverSelectionTimeoutMS: 2_000,
          connectTimeoutMS: 2_000,
        });
        try {
          await client.connect();
          await client.db('admin').command({ ping: 1 });
          return undefined;
        } catch (err) {
          lastError = (err as Error).message;
        } finally {
          await client.close().catch(() => undefined);
        }
      } else {
        lastError = `nothing listening on 127.0.0.1:${port}`;
      }
      await sleep(100);
    }
    return exitReason
      ? { reason: exitReason, exited: true }
      : { reason: `not ready after ${READY_TIMEOUT_MS / 1000} s (last error: ${lastError})`, exited: false };
  } finally {
    child.off('exit', onExit);
    child.off('error', onError);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** SIGKILL (the data is thrown away anyway) and wait, without the event loop, until it is gone. */
function killAndWaitSync(child: ChildProcess): void {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill('SIGKILL');
  } catch {
    return;
  }
  waitGoneSync(child.pid, 3_000);
}

/** Gone or a zombie (an exit handler cannot reap it; init does once we exit). */
function waitGoneSync(pid: number, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return;
    }
    if (/^\d+ \(.*\) [ZX]/s.test(stat)) return;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

/** Stops servers left behind by runs that were killed before their teardown ran. */
function reapStaleServers(): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(os.tmpdir(), entry);
    try {
      const owner = Number(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
      if (!owner || isAlive(owner)) continue;
      const serverPid = Number(readOr(path.join(dir, SERVER_PID_FILE), ''));
      // Check it is still FerretDB, not an unrelated process that reused the pid.
      if (serverPid && readOr(`/proc/${serverPid}/cmdline`, '').includes('ferretdb')) {
        try {
          process.kill(serverPid, 'SIGKILL');
          waitGoneSync(serverPid, 3_000);
        } catch {
          // Already gone, or not ours.
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Someone else's dir, or one still being created: leave it alone.
    }
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(file: string, lines = 30): string {
  return readOr(file, '(no log)').trimEnd().split('\n').slice(-lines).join('\n') || '(empty log)';
}
