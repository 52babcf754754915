import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { MongoClient } from 'mongodb';

/**
 * A MongoDB-wire server for the bench: MONGODB_URL if set, otherwise FerretDB v1 on
 * its SQLite backend from the binary scripts/build-ferretdb.sh caches (the bench does
 * not build it). A minimal copy of test/rig/ferretdb.ts, which the build leaves out.
 * FerretDB is not MongoDB: its speed says nothing about MongoDB's (RIG.md).
 */
export interface MongoTarget {
  url: string;
  /** For the report: "FerretDB v1.24.2, SQLite backend" or "server from MONGODB_URL". */
  description: string;
  isFerretDb: boolean;
  stop(): Promise<void>;
  stopSync(): void;
}

const VERSION = 'v1.24.2';

export function ferretDbBinary(): string {
  const cacheRoot = process.env.FERRETDB_CACHE || path.join(os.homedir(), '.cache', 'gatehouse');
  return path.join(cacheRoot, `ferretdb-${VERSION}`, 'ferretdb');
}

/** The server, or why there is none (then that row of the report says so). */
export async function mongoTarget(): Promise<MongoTarget | string> {
  const external = process.env.MONGODB_URL;
  if (external) return { url: external, description: 'server from MONGODB_URL', isFerretDb: false, stop: async () => undefined, stopSync: () => undefined };
  const bin = ferretDbBinary();
  if (!fs.existsSync(bin)) return `not measured: no MONGODB_URL and no FerretDB binary at ${bin} (build it with \`bash scripts/build-ferretdb.sh\`)`;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-ferretdb-'));
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  const logFile = path.join(dir, 'ferretdb.log');
  let child: ChildProcess | undefined;
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const stop = async () => {
    if (stopped) return;
    const running = child;
    if (running && running.exitCode === null && running.signalCode === null) {
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
    for (let attempt = 1; attempt <= 3; attempt++) {
      const port = await freePort();
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FERRETDB_')));
      const log = fs.openSync(logFile, 'a');
      child = spawn(
        bin,
        ['--handler=sqlite', `--sqlite-url=file:${dataDir}/`, `--listen-addr=127.0.0.1:${port}`, '--debug-addr=-', '--telemetry=disable', `--state-dir=${dir}`, '--log-level=error', '--log-format=text'],
        { cwd: dir, env, stdio: ['ignore', log, log] },
      );
      fs.closeSync(log);
      child.on('error', () => undefined);
      const url = `mongodb://127.0.0.1:${port}/`;
      if (await ready(child, url)) return { url, description: `FerretDB ${VERSION}, SQLite backend, started by the bench in the temp dir`, isFerretDb: true, stop, stopSync };
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join(' / ') : '';
    stopSync();
    return `not measured: FerretDB did not start (${log || 'no log'})`;
  } catch (error) {
    stopSync();
    return `not measured: FerretDB did not start (${(error as Error).message})`;
  }
}

async function ready(child: ChildProcess, url: string): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const client = new MongoClient(url, { directConnection: true, serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  return false;
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
