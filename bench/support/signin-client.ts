import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

/**
 * A Gatehouse process (signin-server.ts) on a data dir, and a keep-alive HTTP
 * client for it. Each run of bench/signin.ts starts these and stops them again,
 * also on failure: `killSync` is for exit handlers.
 */
export class AppProcess {
  private stopped = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** UV_THREADPOOL_SIZE as the process saw it ('' when unset: libuv's default, 4). */
    readonly threadpool: string,
    readonly startMs: number,
  ) {}

  /** Forks the server on `dataDir`, resolves once it listens (at most `timeoutMs`). */
  static async start(dataDir: string, logFile: string, env: Record<string, string> = {}, timeoutMs = 60_000): Promise<AppProcess> {
    const started = performance.now();
    const log = fs.openSync(logFile, 'a');
    const child = fork(path.join(__dirname, 'signin-server.js'), [], {
      env: { ...process.env, ...env, DATA_DIR: dataDir },
      stdio: ['ignore', log, log, 'ipc'],
    });
    fs.closeSync(log);
    try {
      const ready = await nextMessage<{ type: 'ready'; port: number; threadpool: string }>(child, 'ready', timeoutMs);
      return new AppProcess(child, ready.port, ready.threadpool, performance.now() - started);
    } catch (error) {
      child.kill('SIGKILL');
      const tail = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-8).join('\n') : '';
      throw new Error(`the app did not start: ${(error as Error).message}${tail ? `\n${tail}` : ''}`);
    }
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits until every projection has reached the log's head (the app has nothing left to do in the background). */
  async settle(timeoutMs = 120_000): Promise<void> {
    this.child.send({ type: 'settle', timeoutMs });
    const answer = await nextMessage<{ ok: boolean; head?: string; position?: string; error?: string }>(this.child, 'settled', timeoutMs + 5_000);
    if (!answer.ok) throw new Error(`projections did not catch up: head ${answer.head}, reached ${answer.position}${answer.error ? `, ${answer.error}` : ''}`);
  }

  /** CPU time the process has used so far, all its threads, in seconds. */
  async cpuSeconds(): Promise<number> {
    this.child.send({ type: 'cpu' });
    return (await nextMessage<{ micros: number }>(this.child, 'cpu', 10_000)).micros / 1e6;
  }

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
      this.child.send({ type: 'stop' });
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

function nextMessage<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no '${type}' from the app within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    const onMessage = (message: { type?: string }) => {
      if (message?.type === type) done(undefined, message as T);
    };
    const onExit = (code: number | null, signal: string | null) => done(new Error(`the app exited (${signal ?? code}) before '${type}'`));
    const done = (error?: Error, value?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value!);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export interface Response {
  status: number;
  text: string;
}

/** Keep-alive HTTP/1.1 to 127.0.0.1: one socket per concurrent worker, reused across its requests. */
export class Client {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  constructor(private readonly port: number) {}

  request(method: 'GET' | 'POST', url: string, options: { token?: string; body?: unknown } = {}): Promise<Response> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string | number> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path: url, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url}: no answer within 30 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Parsed JSON of a response with the expected status, or an error that shows what came back. */
  async json<T>(method: 'GET' | 'POST', url: string, expected: number, options: { token?: string; body?: unknown } = {}): Promise<T> {
    const response = await this.request(method, url, options);
    if (response.status !== expected) throw new Error(`${method} ${url}: ${response.status} (expected ${expected}): ${response.text.slice(0, 300)}`);
    return JSON.parse(response.text) as T;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** One timed run of HTTP requests: rate, latencies, and the CPU both sides used. */
export interface HttpSample {
  requests: number;
  seconds: number;
  /** Milliseconds, one per request, in completion order. */
  latencies: number[];
  /** CPU seconds per wall second: the app process (all threads) and the bench process (the client). */
  serverCores: number;
  clientCores: number;
}

/**
 * `workers` loops each sending `send(worker, i)` one after another for `seconds`
 * (or until `limit` requests have started); every answer must have `expected` status.
 */
export async function drive(
  app: AppProcess,
  workers: number,
  seconds: number,
  expected: number,
  send: (worker: number, i: number) => Promise<Response> | undefined,
): Promise<HttpSample> {
  const latencies: number[] = [];
  let started = 0;
  let exhausted = false;
  const serverBefore = await app.cpuSeconds();
  const clientBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  // Requests in flight at the deadline finish and count, and the elapsed time includes them.
  const loop = async (worker: number) => {
    while (!exhausted && performance.now() < deadline) {
      const pending = send(worker, started++);
      if (!pending) {
        exhausted = true;
        return;
      }
      const t0 = performance.now();
      const response = await pending;
      latencies.push(performance.now() - t0);
      if (response.status !== expected) throw new Error(`answer ${response.status}, expected ${expected}: ${response.text.slice(0, 300)}`);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`run did not finish within ${seconds + 60} s`)), (seconds + 60) * 1000);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: workers }, (_, w) => loop(w))), overdue]);
  } finally {
    clearTimeout(timer);
  }
  const sample = { seconds: (performance.now() - start) / 1000 };
  const client = process.cpuUsage(clientBefore);
  const serverAfter = await app.cpuSeconds();
  return {
    requests: latencies.length,
    seconds: sample.seconds,
    latencies,
    serverCores: (serverAfter - serverBefore) / sample.seconds,
    clientCores: (client.user + client.system) / 1e6 / sample.seconds,
  };
}
