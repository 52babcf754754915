import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';

/** dist/src: where `npm run build` puts the service's main.js. */
const DIST_SRC = path.join(__dirname, '..', '..', 'src');

/**
 * The service as `npm start` starts it (`node dist/src/main.js`, settings from the
 * environment), in a child process on 127.0.0.1 and a free port, its log in a file.
 * Unlike signin-server.ts there is no IPC: the bench knows only what HTTP tells it.
 */
export class ServiceProcess {
  private stopped = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** From spawn to /health/live answering 200. */
    readonly startMs: number,
  ) {}

  /** `nodeArgs` go before main.js (bench/http's --cpu-prof). */
  static async start(env: Record<string, string>, logFile: string, timeoutMs = 120_000, nodeArgs: string[] = []): Promise<ServiceProcess> {
    const started = performance.now();
    const port = await freePort();
    const log = fs.openSync(logFile, 'a');
    const child = spawn(process.execPath, [...nodeArgs, path.join(DIST_SRC, 'main.js')], {
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the service exited (${child.signalCode ?? child.exitCode}) before it listened\n${tail(logFile)}`);
      if ((await healthStatus(port)) === 200) return new ServiceProcess(child, port, performance.now() - started);
      if (performance.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the service did not answer /health/live within ${timeoutMs / 1000} s\n${tail(logFile)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** SIGTERM, as an orchestrator stops it; SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, 15_000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }

  killSync(): void {
    this.stopped = true;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function healthStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health/live', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function tail(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').slice(-10).join('\n') : '';
}
