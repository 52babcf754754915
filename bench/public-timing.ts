/**
 * R-SEC-3, as a stranger measures it: do the public endpoints take longer for an
 * email that has an account? Real HTTP/1.1 keep-alive to the app, in its own
 * process on 127.0.0.1,
 * production settings (embedded SQLite, synchronous=FULL, real argon2id),
 * known and unknown emails in interleaved pairs (random order within a pair),
 * each request timed alone: what it set going (consumers, read models) ends
 * before the next one starts. A wrong password for `/v1/sessions`.
 *
 *   npx tsc -p bench/tsconfig.json; node dist/bench/public-timing.js [--people 50] [--rounds 4] [--threshold 0.5]
 *
 * Prints per endpoint the median time of each side, the median of the paired
 * differences and a Mann-Whitney U test's two-sided p (normal approximation).
 * Threshold: the median paired difference within ±0.5 ms (the finding of issue
 * 11 was +0.7 to +2.1 ms, p < 1e-8); the exit code is 1 when an endpoint is over it.
 * The suite's test (test/api/public-endpoints.spec.ts) holds the same line at
 * 0.25 ms with argon2 replaced by a constant-cost stand-in; this one keeps argon2,
 * whose jitter on a busy machine is the noise a real attacker has to beat too.
 * Between pairs a hand-moved clock jumps two hours, so the per-address and
 * per-email limits and the throttle never answer 429 in a measurement.
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app';
import { loadSettings } from '../src/config/config';
import { ConsumerRunner } from '../src/messaging/consumer-runner';
import { ProjectionRunner } from '../src/readmodels/projection-runner';
import { EVENT_STORE } from '../src/shared/tokens';
import type { EventStore } from '../infra/eventstore/port';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const PEOPLE = arg('people', 50);
const ROUNDS = arg('rounds', 4);
const THRESHOLD_MS = arg('threshold', 0.5);
const PASSWORD = 'correct horse battery staple';

/** The app, in its own process as in production: the client's timing holds only what a remote caller sees. */
async function serve(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-public-timing-'));
  let now = Date.now();
  const app = await createApp({ settings: loadSettings({ DATA_DIR: dataDir, LOG_FORMAT: 'json' }), logger: false, clock: () => new Date(now) });
  const store = app.get<EventStore>(EVENT_STORE);
  const stop = async () => {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.on('disconnect', () => void stop().finally(() => process.exit(0)));
  process.on('message', async (message: { quiet?: number; advanceMs?: number }) => {
    if (message.advanceMs) now += message.advanceMs;
    // What a request set going (consumers, read models) ends before the next one starts.
    await app.get(ConsumerRunner).settled(30_000);
    await app.get(ProjectionRunner).waitFor(await store.headPosition(), 30_000);
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    process.send!({ quiet: message.quiet });
  });
  await app.listen(0, '127.0.0.1');
  process.send!({ port: (app.getHttpServer().address() as AddressInfo).port });
}

async function main(): Promise<void> {
  const server = fork(__filename, ['--serve'], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('message', (m: { port: number }) => resolve(m.port));
    server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  let asked = 0;
  const quiet = (advanceMs = 0) =>
    new Promise<void>((resolve) => {
      const id = ++asked;
      const answered = (m: { quiet?: number }) => {
        if (m.quiet !== id) return;
        server.off('message', answered);
        resolve();
      };
      server.on('message', answered);
      server.send({ quiet: id, advanceMs });
    });
  try {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const call = (path: string, body: unknown, token?: string) =>
      new Promise<{ status: number; body: string; ms: number }>((resolve, reject) => {
        const payload = JSON.stringify(body);
        const start = process.hrtime.bigint();
        const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: Number(process.hrtime.bigint() - start) / 1e6 }));
        });
        req.on('error', reject);
        req.end(payload);
      });

    const org = JSON.parse((await call('/v1/orgs', { name: 'Timing', preset: 'team', owner: { email: 'owner@timing.example', firstName: 'Olive', lastName: 'Owner', password: PASSWORD } })).body);
    const known: string[] = [];
    const unknown: string[] = [];
    for (let i = 0; i < PEOPLE; i++) {
      known.push(`known-${i}@timing.example`);
      unknown.push(`unknown-${i}@timing.example`);
      const made = await call(`/v1/orgs/${org.orgId}/members`, { email: known[i], firstName: 'Kay', lastName: 'Known', mode: 'set-password', password: PASSWORD }, org.token);
      if (made.status !== 201) throw new Error(`member not created: ${made.body}`);
    }

    const endpoints: Array<[string, (email: string) => unknown, number]> = [
      ['/v1/sessions', (email) => ({ email, password: 'not the password at all' }), 401],
      ['/v1/magic-links', (email) => ({ email }), 202],
      ['/v1/password-resets', (email) => ({ email }), 202],
    ];
    let failed = false;
    console.log(`R-SEC-3 public endpoints, known vs unknown emails: ${PEOPLE} people × ${ROUNDS} rounds = ${PEOPLE * ROUNDS} interleaved pairs each, threshold ±${THRESHOLD_MS} ms`);
    console.log('| endpoint | known median ms | unknown median ms | median paired difference ms | Mann-Whitney p | within threshold |');
    console.log('|---|---|---|---|---|---|');
    for (const [path, body, expected] of endpoints) {
      const timed = async (email: string) => {
        const answer = await call(path, body(email));
        if (answer.status !== expected) throw new Error(`${path}: ${answer.status} ${answer.body}`);
        await quiet();
        return answer.ms;
      };
      for (let i = 0; i < 10; i++) await timed(`warm-${i}@timing.example`);
      const k: number[] = [];
      const u: number[] = [];
      const diffs: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < PEOPLE; i++) {
          await quiet(2 * 3_600_000); // every limit and throttle window has passed
          let a: number, b: number;
          if (Math.random() < 0.5) {
            a = await timed(known[i]);
            b = await timed(unknown[i]);
          } else {
            b = await timed(unknown[i]);
            a = await timed(known[i]);
          }
          k.push(a);
          u.push(b);
          diffs.push(a - b);
        }
      }
      const difference = median(diffs);
      const ok = Math.abs(difference) < THRESHOLD_MS;
      failed ||= !ok;
      console.log(`| ${path} | ${median(k).toFixed(3)} | ${median(u).toFixed(3)} | ${difference >= 0 ? '+' : ''}${difference.toFixed(3)} | ${mannWhitneyP(k, u).toExponential(1)} | ${ok ? 'yes' : 'NO'} |`);
    }
    agent.destroy();
    process.exitCode = failed ? 1 : 0;
  } finally {
    server.disconnect();
    await new Promise((resolve) => server.once('exit', resolve));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Two-sided p of the Mann-Whitney U test, normal approximation with tie correction. */
function mannWhitneyP(a: number[], b: number[]): number {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  let ties = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].v === all[i].v) j++;
    for (let r = i; r <= j; r++) ranks[r] = (i + j) / 2 + 1;
    const t = j - i + 1;
    ties += t ** 3 - t;
    i = j + 1;
  }
  const n1 = a.length;
  const n2 = b.length;
  const r1 = all.reduce((sum, x, i) => sum + (x.g === 0 ? ranks[i] : 0), 0);
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1))));
  const z = Math.abs(u - (n1 * n2) / 2) / sigma;
  return 2 * (1 - normalCdf(z));
}

function normalCdf(z: number): number {
  // Abramowitz and Stegun 7.1.26
  const t = 1 / (1 + 0.3275911 * (z / Math.SQRT2));
  const erf = 1 - (((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t) * Math.exp(-(z * z) / 2);
  return 0.5 * (1 + erf);
}

(process.argv.includes('--serve') ? serve() : main()).catch((error) => {
  console.error(error);
  process.exit(2);
});
