import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A throwaway PostgreSQL cluster with production durability, for benchmarks.
 * test/rig/postgres.ts starts the same kind of cluster with fsync off (right for
 * tests, wrong for a throughput figure), and the build does not compile test/,
 * so this is its small durable twin.
 */
export interface BenchPostgres {
  /** Superuser URL (trust auth, no password). */
  url: string;
  /** e.g. "postgres (PostgreSQL) 15.18" */
  version: string;
  dataDir: string;
  /** Synchronous so it can run from 'exit' and signal handlers too. Safe to call twice. */
  stop(): void;
}

/** Spelled out although they are PostgreSQL's defaults: the figures depend on them. */
export const DURABLE_SETTINGS = ['fsync=on', 'synchronous_commit=on', 'full_page_writes=on'];

const DIR_PREFIX = 'gatehouse-bench-pg-';
const OWNER_FILE = 'owner.pid';

export async function startDurablePostgres(): Promise<BenchPostgres> {
  const binDir = findBinDir();
  if (!binDir) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl) not found under `pg_config --bindir` or /usr/lib/postgresql/*/bin. ' +
        'Install them (apt-get install -y postgresql) or set POSTGRES_URL to a server whose user has CREATEDB.',
    );
  }
  // initdb and pg_ctl refuse to run as root.
  const runAs = process.getuid?.() === 0 ? osUser('postgres') : undefined;
  const bin = (name: string) => path.join(binDir, name);
  reapStaleClusters(bin('pg_ctl'), runAs?.name);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), DIR_PREFIX));
  fs.writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
  if (runAs) fs.chownSync(dir, runAs.uid, runAs.gid);
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');

  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
      run(bin('pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop'], runAs?.name, dir);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    // --no-sync only skips initdb's own final flush; the running server fsyncs.
    const init = run(bin('initdb'), ['-D', dataDir, '--auth=trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'], runAs?.name, dir);
    if (init.status !== 0) throw new Error(`initdb failed:\n${init.output}`);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const port = await freePort();
      const options = [...DURABLE_SETTINGS, 'listen_addresses=127.0.0.1', `port=${port}`].map((s) => `-c ${s}`);
      const start = run(bin('pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', [...options, `-k '${dir}'`].join(' '), 'start'], runAs?.name, dir);
      if (start.status === 0) {
        return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, version: serverVersion(bin('postgres')), dataDir, stop };
      }
      if (attempt === 3) throw new Error(`pg_ctl start failed:\n${start.output}\n--- ${logFile} ---\n${tail(logFile)}`);
    }
    throw new Error('unreachable');
  } catch (err) {
    stop();
    throw err;
  }
}

function findBinDir(): string | undefined {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // Debian's server packages do not need pg_config on PATH.
  }
  try {
    const versions = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // Not a Debian layout.
  }
  return candidates.find((d) => ['initdb', 'pg_ctl', 'postgres'].every((b) => fs.existsSync(path.join(d, b))));
}

function osUser(name: string): { name: string; uid: number; gid: number } {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return { name, uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(`Running as root, but PostgreSQL refuses root and there is no '${name}' user. Run as another user or set POSTGRES_URL.`);
  }
}

function run(cmd: string, args: string[], asUser: string | undefined, cwd: string) {
  const [file, argv] = asUser ? ['runuser', ['-u', asUser, '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: [r.error?.message, r.stdout, r.stderr].filter(Boolean).join('\n').trim() };
}

function serverVersion(postgresBin: string): string {
  try {
    return execFileSync(postgresBin, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'PostgreSQL (unknown version)';
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

/** Stops clusters of earlier bench runs that were killed before they could clean up. */
function reapStaleClusters(pgCtl: string, asUser: string | undefined): void {
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
      const dataDir = path.join(dir, 'data');
      if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) run(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], asUser, dir);
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Being created by someone else right now: leave it.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
