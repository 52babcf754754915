import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { createOwnedTempDir, freePort, reapStaleDirs, tail } from './processes';

export interface RunningPostgres {
  /** Superuser URL of the throwaway cluster (trust auth, no password). */
  url: string;
  /** e.g. "postgres (PostgreSQL) 15.18" */
  version: string;
  stop(): Promise<void>;
  /** Same as stop(), for process 'exit' and signal handlers, which cannot await. */
  stopSync(): void;
  /**
   * Stops the server and keeps its data, for restart(): `fast` (the default) is a clean
   * shutdown that ends every connection; `immediate` is a crash. With the test defaults
   * (fsync and synchronous commit off) only `fast` keeps every acknowledged commit.
   * For a cluster of its own (startPostgres()), not the shared one from the global setup.
   */
  halt(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts the halted server again on the same port and data; resolves once it takes connections. */
  restart(): Promise<void>;
}

export interface StartPostgresOptions {
  /**
   * fsync, synchronous commit and full page writes on, as in production: for a bench,
   * whose figures depend on them. Off (the default) for tests: the cluster is thrown away.
   */
  durable?: boolean;
  /** The cluster's locale; by default C.UTF-8 where the machine has it, else C. */
  locale?: string;
}

export interface ThrowawayDatabase {
  url: string;
  name: string;
  /** Terminates open connections and drops the database. Safe to call twice. */
  drop(): Promise<void>;
}

const DIR_PREFIX = 'gatehouse-pg-';
// initdb and pg_ctl get this long before they are killed.
const COMMAND_TIMEOUT_MS = 120_000;

// Durability is pointless for a cluster deleted after the run; these make writes cheap.
const FAST_SETTINGS = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];
/** Spelled out although they are PostgreSQL's defaults: a bench's figures depend on them. */
export const DURABLE_SETTINGS = ['fsync=on', 'synchronous_commit=on', 'full_page_writes=on'];
const SERVER_SETTINGS = [
  // Each test database plus pools in every suite adds up quickly.
  'max_connections=200',
  'listen_addresses=127.0.0.1',
];

const HOW_TO_FIX =
  'Install the server (Debian/Ubuntu: apt-get install -y postgresql) ' +
  'or point the tests at an existing server with POSTGRES_URL=postgres://user:password@host:5432/postgres ' +
  '(that user needs CREATEDB).';

/** Starts a fresh PostgreSQL cluster in a temp dir on a free 127.0.0.1 port. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<RunningPostgres> {
  const binDir = findBinDir();
  if (!binDir) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl) not found: looked at `pg_config --bindir` ' +
        `and /usr/lib/postgresql/*/bin. ${HOW_TO_FIX}`,
    );
  }
  // initdb and pg_ctl refuse to run as root.
  const runAs = process.getuid?.() === 0 ? osUser('postgres') : undefined;
  const bin = (name: string) => path.join(binDir, name);

  reapStaleClusters(bin('pg_ctl'), runAs?.name);

  const dir = createOwnedTempDir(DIR_PREFIX);
  if (runAs) fs.chownSync(dir, runAs.uid, runAs.gid);
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');

  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
      runSync(bin('pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], runAs?.name, dir);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    // Async (as is the start below), so FerretDB and Kafka starting alongside are not held up.
    // --no-sync only skips initdb's own final flush; a durable server still fsyncs.
    const init = await run(
      bin('initdb'),
      ['-D', dataDir, '--auth=trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', `--locale=${options.locale ?? pickLocale()}`],
      runAs?.name,
      dir,
    );
    if (init.status !== 0) throw new Error(`initdb failed:\n${init.output}`);

    // The free port is only free until someone else takes it: retry with a new one.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const settings = [...(options.durable ? DURABLE_SETTINGS : FAST_SETTINGS), ...SERVER_SETTINGS, `port=${port}`];
      const serverOptions = [...settings.map((s) => `-c ${s}`), `-k '${dir}'`].join(' ');
      const start = await run(
        bin('pg_ctl'),
        ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start'],
        runAs?.name,
        dir,
      );
      if (start.status === 0) {
        const halt = async (mode: 'fast' | 'immediate' = 'fast') => {
          if (stopped) throw new Error('This PostgreSQL cluster was stopped, and stop() deleted its data: start a new one.');
          const result = await run(bin('pg_ctl'), ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop'], runAs?.name, dir);
          if (result.status !== 0) throw new Error(`pg_ctl stop failed:\n${result.output}`);
        };
        const restart = async () => {
          if (stopped) throw new Error('This PostgreSQL cluster was stopped, and stop() deleted its data: start a new one.');
          const result = await run(bin('pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start'], runAs?.name, dir);
          if (result.status !== 0) throw new Error(`pg_ctl start (again, on port ${port}) failed:\n${result.output}\n--- ${logFile} ---\n${tail(logFile)}`);
        };
        return {
          url: `postgres://postgres@127.0.0.1:${port}/postgres`,
          version: serverVersion(bin('postgres')),
          stop: async () => stopSync(),
          stopSync,
          halt,
          restart,
        };
      }
      if (attempt >= 3) {
        throw new Error(`pg_ctl start failed:\n${start.output}\n--- ${logFile} ---\n${tail(logFile)}`);
      }
    }
  } catch (err) {
    stopSync();
    throw err;
  }
}

/**
 * Creates an empty database on the server at `adminUrl` (a user with CREATEDB), so a test
 * suite or a bench run gets its own schema without cleaning up after others.
 */
export async function createDatabase(adminUrl: string, prefix = 'gh_'): Promise<ThrowawayDatabase> {
  // Hex keeps the name a valid unquoted identifier, so it can be interpolated safely.
  const name = `${prefix}${randomBytes(8).toString('hex')}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));

  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      // WITH (FORCE) (PostgreSQL 13+) terminates connections a test left open.
      await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** The URL with any password masked, for logs. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<unparseable POSTGRES_URL>';
  }
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function findBinDir(): string | undefined {
  const candidates: string[] = [];
  try {
    candidates.push(
      execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
    );
  } catch {
    // No pg_config on PATH: Debian's server packages do not need it.
  }
  // Debian keeps server binaries per major version, outside PATH.
  try {
    const versions = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // Not a Debian layout.
  }
  // pg_config may come from a client-only package, so check the server tools exist.
  return candidates.find((d) => ['initdb', 'pg_ctl', 'postgres'].every((b) => fs.existsSync(path.join(d, b))));
}

function osUser(name: string): { name: string; uid: number; gid: number } {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return { name, uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error(
      `Running as root, but PostgreSQL refuses to run as root and there is no '${name}' OS user to run it as. ` +
        `Create it (useradd --system ${name}), run the tests as a non-root user, or set POSTGRES_URL. ${HOW_TO_FIX}`,
    );
  }
}

interface CommandResult {
  status: number | null;
  output: string;
}

function runSync(cmd: string, args: string[], asUser: string | undefined, cwd: string): CommandResult {
  const [file, argv] = asUser ? ['runuser', ['-u', asUser, '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { cwd, encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
  const output = [r.error?.message, r.stdout, r.stderr].filter(Boolean).join('\n').trim();
  return { status: r.status, output };
}

/** runSync without blocking the event loop. */
function run(cmd: string, args: string[], asUser: string | undefined, cwd: string): Promise<CommandResult> {
  const [file, argv] = asUser ? ['runuser', ['-u', asUser, '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve) => {
    const child = spawn(file, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let error: Error | undefined;
    const timer = setTimeout(() => {
      error = new Error(`${file} did not finish within ${COMMAND_TIMEOUT_MS / 1000} s`);
      child.kill('SIGTERM');
    }, COMMAND_TIMEOUT_MS);
    const done = (status: number | null) => {
      clearTimeout(timer);
      resolve({ status, output: [error?.message, stdout, stderr].filter(Boolean).join('\n').trim() });
    };
    child.once('error', (err) => {
      error = err;
      done(null);
    });
    child.once('close', (code) => done(error ? null : code));
  });
}

/** C.UTF-8 gives Unicode-aware lower()/upper() like a production cluster; plain C only folds ASCII. */
function pickLocale(): string {
  try {
    const locales = execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    if (/^c\.utf-?8$/im.test(locales)) return 'C.UTF-8';
  } catch {
    // No `locale` tool: fall through.
  }
  return 'C';
}

function serverVersion(postgresBin: string): string {
  try {
    return execFileSync(postgresBin, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'PostgreSQL (unknown version)';
  }
}

/** Stops clusters left behind by runs that were killed before their teardown ran. */
function reapStaleClusters(pgCtl: string, asUser: string | undefined): void {
  reapStaleDirs(DIR_PREFIX, (dir) => {
    const dataDir = path.join(dir, 'data');
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
      runSync(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], asUser, dir);
    }
  });
}
