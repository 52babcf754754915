/**
 * The load generator of bench/http.ts, in its own process so its CPU is not the
 * server's: autocannon over keep-alive HTTP/1.1, `connections` clients each with one
 * request outstanding. The parent sends one job at a time over IPC and gets the result back.
 *
 * A job's requests are a list the clients take in turn (request k is items[(start + k) % n]),
 * so each request can have its own path, token and body; `{seq}` in a path or body becomes
 * a number unique in this process, for emails that must not repeat.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: Record<string, unknown>, done: (error: Error | null, result: AutocannonResult) => void) => unknown;

export interface LoadItem {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  token?: string;
  body?: string;
}

export interface LoadJob {
  port: number;
  connections: number;
  seconds: number;
  items: LoadItem[];
  /** Where in `items` this job begins: the previous job's `next`, so toggles stay in step across runs. */
  start: number;
}

export interface LoadResult {
  /** 2xx answers per second over the whole run. */
  rate: number;
  p50: number;
  p99: number;
  ok: number;
  /** Answers that were not 2xx, and transport errors/timeouts. */
  failed: number;
  /** Status codes other than 2xx seen, with counts. */
  statuses: Record<string, number>;
  next: number;
}

interface AutocannonResult {
  duration: number;
  latency: { p50: number; p99: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats?: Record<string, { count: number }>;
}

let seq = 0;

function run(job: LoadJob): Promise<LoadResult> {
  const { items } = job;
  let k = job.start;
  const setupRequest = (request: Record<string, unknown>) => {
    const item = items[k++ % items.length];
    const n = String(seq++);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (item.token) headers.authorization = `Bearer ${item.token}`;
    if (item.body !== undefined) headers['content-type'] = 'application/json';
    return { ...request, method: item.method, path: item.path.replace('{seq}', n), headers, body: item.body?.replace('{seq}', n) };
  };
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${job.port}`,
        connections: job.connections,
        pipelining: 1,
        duration: job.seconds,
        timeout: 30,
        requests: [{ setupRequest }],
      },
      (error, result) => {
        if (error) return reject(error);
        const statuses: Record<string, number> = {};
        for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) if (!code.startsWith('2')) statuses[code] = count;
        if (result.errors) statuses.errors = result.errors;
        resolve({
          rate: result['2xx'] / result.duration,
          p50: result.latency.p50,
          p99: result.latency.p99,
          ok: result['2xx'],
          failed: result.non2xx + result.errors,
          statuses,
          next: k % items.length,
        });
      },
    );
  });
}

process.on('message', (job: LoadJob) => {
  run(job).then(
    (result) => process.send!({ type: 'result', result }),
    (error: Error) => process.send!({ type: 'error', message: error.message }),
  );
});
process.on('disconnect', () => process.exit(0));
