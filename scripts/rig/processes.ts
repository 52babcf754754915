import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * What the rig's throwaway servers (PostgreSQL, FerretDB, Kafka) share: temp dirs that
 * record who owns them, free ports, waiting for a server to answer, and killing it again,
 * also from 'exit' and signal handlers, which cannot await. The tests (Jest's global setup,
 * fault tests) and the benches (compiled to dist/) start their servers with the same code.
 */

/** Why a server did not come up; `exited` when it died (worth a retry on new ports). */
export interface StartFailure {
  reason: string;
  exited: boolean;
}

const OWNER_FILE = 'owner.pid';

/** A new temp dir that names this process as its owner, so a later run can tell when it was left behind. */
export function createOwnedTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
  return dir;
}

/**
 * Cleans up the temp dirs of runs (or test workers) that died before stopping their
 * server: `stopServer` stops what runs there, then the dir goes.
 */
export function reapStaleDirs(prefix: string, stopServer: (dir: string) => void): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith(prefix));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(os.tmpdir(), entry);
    try {
      const owner = Number(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
      if (!owner || isAlive(owner)) continue;
      stopServer(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Someone else's dir, or one still being created: leave it alone.
    }
  }
}

/**
 * SIGKILLs the process whose pid `pidFile` holds and waits until it is gone, but only
 * if its command line shows it is still that server, not an unrelated process that reused the pid.
 */
export function killRecordedServer(
  pidFile: string,
  isThatServer: (cmdline: string) => boolean,
  timeoutMs: number,
): void {
  const serverPid = Number(readOr(pidFile, ''));
  const cmdline = serverPid ? readOr(`/proc/${serverPid}/cmdline`, '') : '';
  if (!serverPid || !isThatServer(cmdline)) return;
  try {
    process.kill(serverPid, 'SIGKILL');
    waitGoneSync(serverPid, timeoutMs);
  } catch {
    // Already gone, or not ours.
  }
}

/** SIGKILL and wait, without the event loop, until it is gone. */
export function killAndWaitSync(child: ChildProcess, timeoutMs: number): void {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill('SIGKILL');
  } catch {
    return;
  }
  waitGoneSync(child.pid, timeoutMs);
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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * scripts/<name>: beside this folder when run from the sources (Jest), three levels up
 * when compiled to dist/scripts/rig/ (the build does not copy shell scripts).
 */
export function scriptPath(name: string): string {
  const beside = path.resolve(__dirname, '..', name);
  return fs.existsSync(beside) ? beside : path.resolve(__dirname, '..', '..', '..', 'scripts', name);
}

/**
 * Runs a bash script that fetches or builds a server, its output on our stderr (stdout
 * may carry Jest's --json report). Async, so servers starting alongside are not held up.
 * Resolves its exit code, or why it did not run or finish.
 */
export function runScriptToStderr(script: string): Promise<number | string> {
  return new Promise((resolve) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 2, 2] });
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (code, signal) => resolve(code ?? `signal ${signal}`));
  });
}

/**
 * Resolves undefined once something listens on the port and `probe` succeeds (tried every
 * 100 ms), or the reason it did not within `timeoutMs`.
 */
export async function waitUntilReady(
  child: ChildProcess,
  port: number,
  timeoutMs: number,
  probe: () => Promise<void>,
): Promise<StartFailure | undefined> {
  let exitReason: string | undefined;
  const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
    exitReason = `it exited (${code !== null ? `code ${code}` : `signal ${signal}`})`;
  };
  const onError = (err: Error) => {
    exitReason = `it could not be run: ${err.message}`;
  };
  child.once('exit', onExit);
  child.once('error', onError);
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no attempt made';
  try {
    while (Date.now() < deadline) {
      if (exitReason) return { reason: exitReason, exited: true };
      // A plain connect first keeps the client's own logging of refused connections out.
      if (await canConnect(port)) {
        try {
          await probe();
          return undefined;
        } catch (err) {
          lastError = (err as Error).message;
        }
      } else {
        lastError = `nothing listening on 127.0.0.1:${port}`;
      }
      await sleep(100);
    }
    return exitReason
      ? { reason: exitReason, exited: true }
      : { reason: `not ready after ${timeoutMs / 1000} s (last error: ${lastError})`, exited: false };
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

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}

/** Distinct free ports, all held open together so the kernel cannot hand out one twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      server.unref();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

/** The last lines of a log, for an error message. */
export function tail(file: string, lines = 30): string {
  return readOr(file, '(no log)').trimEnd().split('\n').slice(-lines).join('\n') || '(empty log)';
}
