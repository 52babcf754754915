import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface MachineFacts {
  date: string;
  nproc: string;
  cpuModel: string;
  node: string;
  kernel: string;
  loadAverage: string;
  /** Filesystem holding the temp dir, where both the SQLite file and the PostgreSQL cluster live. */
  tempFs: string;
  /** 8 kB write + fdatasync per round on that filesystem: the floor under any durable commit. */
  fdatasyncPerSecond: number;
}

export function machineFacts(): MachineFacts {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: command('nproc', []) ?? String(os.availableParallelism()),
    cpuModel: cpuModel(),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    tempFs: command('findmnt', ['-n', '-o', 'FSTYPE,SOURCE', '--target', os.tmpdir()])?.replace(/\s+/g, ' ') ?? 'unknown',
    fdatasyncPerSecond: fdatasyncRate(),
  };
}

function cpuModel(): string {
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    return line?.split(':')[1]?.trim() || 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

function command(file: string, args: string[]): string | undefined {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function fdatasyncRate(seconds = 1): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-fsync-'));
  try {
    const fd = fs.openSync(path.join(dir, 'probe'), 'w');
    const block = Buffer.alloc(8192, 1);
    const start = performance.now();
    const deadline = start + seconds * 1000;
    let rounds = 0;
    for (; rounds < 1_000_000 && performance.now() < deadline; rounds++) {
      fs.writeSync(fd, block, 0, block.length, 0);
      fs.fdatasyncSync(fd);
    }
    const elapsed = (performance.now() - start) / 1000;
    fs.closeSync(fd);
    return Math.round(rounds / elapsed);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
