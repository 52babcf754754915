/**
 * Bulk import (R-CRT-5, SPEC 5.6, issue 16): how long `POST /v1/orgs/{org}/imports` takes to
 * make 100 000 members from one CSV body, from the POST to the job reporting `done`, and the
 * service's peak RSS (VmHWM) while it does.
 *
 *   npm run bench:import                    # 3 runs of 100 000 rows, silent mode; print the report (markdown)
 *   npm run bench:import -- --write         # and replace the results block in BENCHMARKS.md
 *   options: --rows 100000 --runs 3 --mode silent|setup-email|invite
 *            --cpu-prof DIR   the service runs under `node --cpu-prof` and writes its profile there (bench/support/cpu-profile.ts reads it)
 *
 * Each run starts the service as `npm start` runs it (`node dist/src/main.js`, embedded SQLite,
 * settings from the environment, consumers on) in a child process on a fresh data folder, makes
 * an org through the API, sends the CSV over HTTP and polls the job every 250 ms.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { machineFacts } from './support/machine';
import { num, writeSection } from './support/report';
import { ServiceProcess } from './support/service-process';
import { argsOf, log } from './support/args';

const MARKS = {
  start: '<!-- bench/import.ts results: generated, `npm run bench:import -- --write` replaces this block -->',
  end: '<!-- end of bench/import.ts results -->',
};


function option(argv: string[], name: string, fallback: string): string {
  return argsOf(argv).raw(name) ?? fallback;
}

async function call(port: number, method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<any> {
  const response = await fetch(`http://127.0.0.1:${port}${url}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} → ${response.status} ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

/** The service's peak resident set so far (Linux: VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** CPU seconds (user, system) the service has used so far: on a shared machine, the figure that load bends least. */
function cpuTimes(pid: number): { user: number; system: number } {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }; // utime, stime in clock ticks (USER_HZ = 100)
}

function csvOf(rows: number): string {
  const lines = ['email,firstName,lastName,role,phone,username,locations'];
  for (let i = 0; i < rows; i++) lines.push(`person${i}@bench.example.com,Person,Number${i},,+1415555${String(i % 10000).padStart(4, '0')},,`);
  return lines.join('\n') + '\n';
}

interface Run {
  seconds: number;
  rowsPerSecond: number;
  acceptSeconds: number;
  peakRssMb: number;
  startRssMb: number;
  cpuSeconds: number;
  /** Of cpuSeconds, the kernel's share (SQLite's writes and fsyncs, mostly). */
  systemSeconds: number;
  created: number;
  failed: number;
  /** The machine's 1-minute load average when the run started and when it ended: the figure that bends the wall time. */
  load: [number, number];
}

async function oneRun(rows: number, mode: string, csv: string, dir: string, profileDir?: string): Promise<Run> {
  const loadBefore = os.loadavg()[0];
  const dataDir = fs.mkdtempSync(path.join(dir, 'run-'));
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [];
  const service = await ServiceProcess.start({ DATA_DIR: dataDir, EVENT_STORE: 'sqlite' }, path.join(dataDir, 'service.log'), 120_000, nodeArgs);
  try {
    const org = await call(service.port, 'POST', '/v1/orgs', JSON.stringify({ name: 'Bench Gym', preset: 'team', owner: { email: 'owner@bench.example.com', firstName: 'Olive', lastName: 'Owner', password: 'correct horse battery staple' } }), { 'content-type': 'application/json' });
    const auth = { authorization: `Bearer ${org.token}` };
    const startRssMb = peakRssMb(service.pid);
    const cpuBefore = cpuTimes(service.pid);
    const started = performance.now();
    const { jobId } = await call(service.port, 'POST', `/v1/orgs/${org.orgId}/imports?mode=${mode}`, csv, { ...auth, 'content-type': 'text/csv' });
    const acceptSeconds = (performance.now() - started) / 1000;
    let job: any;
    for (;;) {
      job = await call(service.port, 'GET', `/v1/orgs/${org.orgId}/imports/${jobId}`, undefined, auth);
      if (job.status === 'done' || job.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = cpuTimes(service.pid);
    const systemSeconds = cpuAfter.system - cpuBefore.system;
    const cpu = cpuAfter.user - cpuBefore.user + systemSeconds;
    if (job.status !== 'done' || job.processed !== rows) throw new Error(`the job ended ${job.status} at ${job.processed}/${rows}`);
    return { seconds, rowsPerSecond: rows / seconds, acceptSeconds, peakRssMb: peakRssMb(service.pid), startRssMb, cpuSeconds: cpu, systemSeconds, created: job.created, failed: job.failed, load: [loadBefore, os.loadavg()[0]] };
  } finally {
    await service.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function main(argv: string[]): Promise<void> {
  const rows = Number(option(argv, 'rows', '100000'));
  const runs = Number(option(argv, 'runs', '3'));
  const mode = option(argv, 'mode', 'silent');
  const profileDir = argsOf(argv).raw('cpu-prof');
  const machine = machineFacts();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-import-'));
  const csv = csvOf(rows);
  const results: Run[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const run = await oneRun(rows, mode, csv, dir, profileDir);
      log(`run ${i + 1}/${runs}: ${num(run.rowsPerSecond)} rows/s, ${run.seconds.toFixed(1)} s, ${run.cpuSeconds.toFixed(1)} CPU s (system ${run.systemSeconds.toFixed(1)}), peak RSS ${run.peakRssMb.toFixed(0)} MB, load ${run.load.map((l) => l.toFixed(2)).join(' → ')}`);
      results.push(run);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const lines = [
    `Generated ${machine.date} on ${machine.nproc} × ${machine.cpuModel}, Node ${machine.node}, load average ${machine.loadAverage} at start, temp dir on ${machine.tempFs}.`,
    `Load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.`,
    `${runs} runs of ${num(rows)} CSV rows in \`${mode}\` mode, each on a fresh data folder (embedded SQLite, the service's default settings); time from the POST to the job reporting \`done\`.`,
    '',
    '| | median | min | max |',
    '|---|---|---|---|',
    row('rows/s', results.map((r) => r.rowsPerSecond), (v) => num(Math.round(v))),
    row('seconds for all rows', results.map((r) => r.seconds), (v) => v.toFixed(1)),
    row('service CPU seconds (user + system)', results.map((r) => r.cpuSeconds), (v) => v.toFixed(1)),
    row('of which system (kernel) CPU seconds', results.map((r) => r.systemSeconds), (v) => v.toFixed(1)),
    row('rows per CPU second', results.map((r) => rows / r.cpuSeconds), (v) => num(Math.round(v))),
    row('seconds to accept the body (202)', results.map((r) => r.acceptSeconds), (v) => v.toFixed(2)),
    row('service peak RSS (VmHWM), MB', results.map((r) => r.peakRssMb), (v) => v.toFixed(0)),
    row('RSS before the import, MB', results.map((r) => r.startRssMb), (v) => v.toFixed(0)),
    '',
    `Every run created ${results.map((r) => num(r.created)).join(' / ')} members with ${results.map((r) => r.failed).join(' / ')} failed rows.`,
    `1-minute load average at the start → end of each run: ${results.map((r) => r.load.map((l) => l.toFixed(2)).join(' → ')).join('; ')}.`,
  ];
  const report = lines.join('\n');
  process.stdout.write(report + '\n');
  if (argv.includes('--write')) writeSection(path.join(__dirname, '..', '..', 'BENCHMARKS.md'), report, MARKS);
}

function row(name: string, values: number[], format: (v: number) => string): string {
  return `| ${name} | ${format(median(values))} | ${format(Math.min(...values))} | ${format(Math.max(...values))} |`;
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
