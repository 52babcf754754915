import { Secret, TOTP } from 'otpauth';
import type { EventStore } from '../../infra/eventstore/port';
import type { Recorded } from '../../domain/events';
import { ConsumerScope, type Consumer } from '../../src/messaging/consumer';
import { ConsumerRunner, CONSUMERS } from '../../src/messaging/consumer-runner';
import { ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE, READ_STORE } from '../../src/shared/tokens';
import { createOrg, linkTokenFor, startApp, type OrgSession, type TestApp } from '../support/app';

/**
 * Argon2id is replaced in this file by a stand-in of constant cost. Its own jitter
 * (milliseconds on a busy 2-core machine) would drown the 0.5 ms the timing tests
 * must see; both paths still verify exactly once, which a test checks. `delayMs`
 * gives the verify the duration in which parallel guesses used to slip past the throttle.
 */
jest.mock('../../infra/crypto/passwords', () => {
  const standIn = { verifies: 0, delayMs: 0 };
  const pause = () => new Promise<void>((resolve) => (standIn.delayMs > 0 ? setTimeout(resolve, standIn.delayMs) : setImmediate(resolve)));
  return {
    standIn,
    hashPassword: async (password: string) => {
      await pause();
      return `stand-in:${password}`;
    },
    verifyPassword: async (hash: string, password: string) => {
      standIn.verifies++;
      await pause();
      return hash === `stand-in:${password}`;
    },
  };
});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { standIn } = require('../../infra/crypto/passwords') as { standIn: { verifies: number; delayMs: number } };

const PASSWORD = 'a long passphrase 7';
/** What test/support/app.ts gives every Owner. */
const OWNER_PASSWORD = 'correct horse battery';

/**
 * R-SEC-3's "about the same time": the median of the paired known − unknown
 * differences stays within this. Half of the 0.5 ms the test must see, so a
 * 0.5 ms difference fails it; the same work measures within ±0.05 ms here.
 */
const THRESHOLD_MS = 0.25;
const ROUNDS = 4;
const PEOPLE = 50;
/** Measurements per endpoint at most (see leastDifference), each with its own people: a retry must not meet the per-address limits or a lockout. */
const ATTEMPTS = 3;

describe('public endpoints (R-SEC-3, R-SEC-6, R-CRED-7, R-ACC-1, R-ACC-7)', () => {
  let t: TestApp;
  let store: EventStore;
  let system: OrgSession;
  let ipCounter = 0;
  /** A fresh address per request, so the per-address limits never enter a measurement. */
  const nextIp = () => {
    ipCounter++;
    return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
  };

  beforeAll(async () => {
    // The system org (to suspend orgs) is an ordinary org named by SYSTEM_ADMIN_ORG when the service starts.
    const first = await startApp();
    system = await createOrg(first, { name: 'Operators' });
    await first.close({ keepData: true });
    t = await startApp({ SYSTEM_ADMIN_ORG: system.orgId, ...(process.env.XOFF ? { CONSUMERS: 'off' } : {}) }, { dataDir: first.dataDir });
    store = t.app.get(EVENT_STORE);
  }, 60_000);
  afterAll(() => t.close());
  afterEach(() => {
    standIn.delayMs = 0;
  });

  const post = (url: string, body: unknown, ip = nextIp()) =>
    t.app.inject({ method: 'POST', url, remoteAddress: ip, headers: { 'content-type': 'application/json', 'user-agent': 'Probe/1.0' }, payload: JSON.stringify(body) });
  const signIn = (email: string, password = PASSWORD, ip = nextIp()) => post('/v1/sessions', { email, password }, ip);
  async function member(org: OrgSession, email: string): Promise<string> {
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email, firstName: 'Mo', lastName: 'Member', mode: 'set-password', password: PASSWORD } });
    if (created.status !== 201) throw new Error(`member not created: ${JSON.stringify(created.body)}`);
    return created.body.userId;
  }
  /** Failed sign-ins are recorded just after their answer: let those writes land. */
  const settle = async () => {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    await t.app.get(ConsumerRunner).settled();
  };
  const failuresOf = async (userId: string, reason?: string) =>
    (await settle(), await store.readStream(`sign-ins-${userId}`)).filter((e) => e.type === 'SignInFailed' && (!reason || (e.data as { reason: string }).reason === reason)).length;

  describe('R-SEC-3 the same time for known and unknown emails', () => {
    const known: string[] = [];
    const unknown: string[] = [];
    beforeAll(async () => {
      const org = await createOrg(t, { name: 'Timing' });
      for (let i = 0; i < PEOPLE * ATTEMPTS; i++) {
        known.push(`known-${i}@timing.example`);
        unknown.push(`unknown-${i}@timing.example`);
        await member(org, known[i]);
      }
    }, 300_000);

    /**
     * Interleaved pairs, in random order within each pair, each request timed alone
     * (consumers and read models settle between requests, outside the timing): what a stranger
     * measures, without the machine's drifts favouring either side.
     */
    async function pairedDifference(url: string, body: (email: string) => unknown, attempt: number): Promise<{ medianDiff: number; known: number; unknown: number; statuses: Set<number> }> {
      const runner = t.app.get(ConsumerRunner);
      const projections = t.app.get(ProjectionRunner);
      const statuses = new Set<number>();
      const timed = async (email: string) => {
        const start = process.hrtime.bigint();
        const response = await post(url, body(email));
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        statuses.add(response.statusCode);
        // What a request set going (consumers, read models) ends before the next one starts.
        await runner.settled();
        await projections.waitFor(await store.headPosition(), 5_000);
        for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
        return ms;
      };
      let seed = 42;
      const coin = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 1) === 1;
      // Warm-up: the first requests of a route pay for compilation.
      for (let i = 0; i < 10; i++) await timed(`warm-${attempt}-${i}@timing.example`);
      const diffs: number[] = [];
      const k: number[] = [];
      const u: number[] = [];
      const person = attempt * PEOPLE;
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < PEOPLE; i++) {
          let a: number, b: number;
          if (coin()) {
            a = await timed(known[person + i]);
            b = await timed(unknown[person + i]);
          } else {
            b = await timed(unknown[person + i]);
            a = await timed(known[person + i]);
          }
          diffs.push(a - b);
          k.push(a);
          u.push(b);
        }
      }
      const result = { medianDiff: median(diffs), known: median(k), unknown: median(u), statuses };
      process.stdout.write(`R-SEC-3 timing ${url}: median known ${result.known.toFixed(3)} ms, unknown ${result.unknown.toFixed(3)} ms, median of ${diffs.length} paired differences ${result.medianDiff.toFixed(3)} ms\n`);
      return result;
    }

    /**
     * Up to ATTEMPTS measurements, until one is within the threshold: a leak (work done only for a
     * known email) is in every one of them, while another process's burst on a shared, loaded
     * machine (CI beside other jobs) is in one at most. Each is printed.
     */
    async function leastDifference(url: string, body: (email: string) => unknown): Promise<{ medianDiff: number; statuses: Set<number> }> {
      let result = await pairedDifference(url, body, 0);
      for (let attempt = 1; attempt < ATTEMPTS && Math.abs(result.medianDiff) >= THRESHOLD_MS; attempt++) result = await pairedDifference(url, body, attempt);
      return result;
    }

    it(`R-SEC-3 POST /v1/sessions with a wrong password: known and unknown emails within ${THRESHOLD_MS} ms (median of ${ROUNDS * PEOPLE} interleaved pairs), one verify each`, async () => {
      const before = standIn.verifies;
      expect((await signIn(known[0], 'not the password at all')).statusCode).toBe(401);
      expect((await signIn(unknown[0], 'not the password at all')).statusCode).toBe(401);
      expect(standIn.verifies - before).toBe(2);
      const { medianDiff, statuses } = await leastDifference('/v1/sessions', (email) => ({ email, password: 'not the password at all' }));
      expect([...statuses]).toEqual([401]);
      expect(Math.abs(medianDiff)).toBeLessThan(THRESHOLD_MS);
    }, 480_000);

    it(`R-SEC-3 POST /v1/magic-links: known and unknown emails within ${THRESHOLD_MS} ms (median of ${ROUNDS * PEOPLE} interleaved pairs)`, async () => {
      const { medianDiff, statuses } = await leastDifference('/v1/magic-links', (email) => ({ email }));
      expect([...statuses]).toEqual([202]);
      expect(Math.abs(medianDiff)).toBeLessThan(THRESHOLD_MS);
    }, 480_000);

    it(`R-SEC-3 POST /v1/password-resets: known and unknown emails within ${THRESHOLD_MS} ms (median of ${ROUNDS * PEOPLE} interleaved pairs)`, async () => {
      const { medianDiff, statuses } = await leastDifference('/v1/password-resets', (email) => ({ email }));
      expect([...statuses]).toEqual([202]);
      expect(Math.abs(medianDiff)).toBeLessThan(THRESHOLD_MS);
    }, 480_000);
  });

  it('R-SEC-3 a link request is in the log before its 202, in one shape for known and unknown emails, with no email in clear; only the known one is emailed', async () => {
    const org = await createOrg(t);
    await member(org, 'shape-known@example.com');
    const requested = async (url: string, email: string): Promise<Recorded[]> => {
      const head = await store.headPosition();
      expect((await post(url, { email })).statusCode).toBe(202);
      // The first event after the answer is the request's own: consumers append only after it.
      const events = (await store.readAll(head)).events;
      await t.app.get(ConsumerRunner).settled();
      return events;
    };
    for (const url of ['/v1/magic-links', '/v1/password-resets']) {
      const before = t.mailbox().length;
      const [knownFirst] = await requested(url, 'Shape-Known@example.com');
      const [unknownFirst] = await requested(url, 'shape-unknown@example.com');
      expect(knownFirst).toBeDefined();
      expect(unknownFirst).toBeDefined();
      expect(knownFirst.type).toBe(unknownFirst.type);
      expect(Object.keys(knownFirst.data as object).sort()).toEqual(Object.keys(unknownFirst.data as object).sort());
      await t.app.get(ConsumerRunner).settled();
      const logged = JSON.stringify((await store.readAll(0n, { limit: 100_000 })).events.filter((e) => !e.stream.startsWith('user-') && !e.stream.startsWith('member-')), (_, v) => (typeof v === 'bigint' ? String(v) : v));
      expect(logged.toLowerCase()).not.toContain('shape-unknown@example.com');
      expect(knownFirst.stream.toLowerCase()).not.toContain('shape');
      expect(t.mailbox().slice(before).map((m) => m.to)).toEqual(['shape-known@example.com']);
    }
  });

  it('R-SEC-3 a link request handled again from the log (a redelivery, a crash before its checkpoint) issues the same link and no second email', async () => {
    const org = await createOrg(t);
    await member(org, 'twice-handled@example.com');
    const head = await store.headPosition();
    expect((await t.request('POST', '/v1/magic-links', { body: { email: 'twice-handled@example.com' } })).status).toBe(202);
    const after = (await store.readAll(head)).events;
    const [request] = after.filter((e) => e.type === 'LinkRequested');
    expect(request).toBeDefined();
    const issued = after.filter((e) => e.type === 'LinkIssued');
    expect(issued).toHaveLength(1);
    const consumer = (t.app.get(CONSUMERS) as Consumer[]).find((c) => c.handles.includes('LinkRequested'))!;
    for (const redrive of [false, true]) {
      const effect = await consumer.handle(request, new ConsumerScope(t.app.get(READ_STORE), request), redrive);
      if (effect) await effect();
    }
    await settle();
    const again = (await store.readAll(head)).events;
    expect(again.filter((e) => e.type === 'LinkIssued').map((e) => e.stream)).toEqual(issued.map((e) => e.stream));
    expect(t.mailbox().filter((m) => m.to === 'twice-handled@example.com')).toHaveLength(1);
  });

  it('R-CRED-7 R-SEC-3 50 parallel wrong passwords from one address for one account are tried no more often than 50 sequential ones (checked and counted in one step)', async () => {
    standIn.delayMs = 5; // argon2 takes a while: the window parallel guesses used to slip through
    const org = await createOrg(t);
    const sequentialId = await member(org, 'guess-seq@example.com');
    const parallelId = await member(org, 'guess-par@example.com');
    const sequential: number[] = [];
    for (let i = 0; i < 50; i++) sequential.push((await signIn('guess-seq@example.com', `guess number ${i}`, '10.200.0.1')).statusCode);
    const parallel = (await Promise.all(Array.from({ length: 50 }, (_, i) => signIn('guess-par@example.com', `guess number ${i}`, '10.200.0.2')))).map((r) => r.statusCode);
    // Every answer but a 429 came after the password was tried; every wrong one is login activity.
    const tried = (answers: number[]) => answers.filter((s) => s !== 429).length;
    expect(await failuresOf(sequentialId)).toBe(sequential.filter((s) => s === 401).length);
    expect(await failuresOf(parallelId)).toBe(parallel.filter((s) => s === 401).length);
    expect(tried(parallel)).toBeLessThanOrEqual(tried(sequential));
    expect(tried(parallel)).toBeLessThanOrEqual(6);
    expect(new Set(parallel)).toEqual(new Set([401, 429]));
  });

  it('R-CRED-7 64 people signing in at once from one address (a NAT, a proxy) are all let in: attempts still in flight queue behind each other instead of answering 429', async () => {
    standIn.delayMs = 5;
    const org = await createOrg(t);
    const emails = Array.from({ length: 64 }, (_, i) => `crowd${i}@example.com`);
    for (const email of emails) await member(org, email);
    const answers = (await Promise.all(emails.map((email) => signIn(email, PASSWORD, '10.210.0.1')))).map((r) => r.statusCode);
    expect(answers.filter((s) => s !== 201)).toEqual([]);
    // Failures still count: from that address, wrong passwords past its allowance are refused as before.
    const wrong = (await Promise.all(emails.slice(0, 40).map((email) => signIn(email, 'not the password at all', '10.210.0.1')))).map((r) => r.statusCode);
    expect(new Set(wrong)).toEqual(new Set([401, 429]));
    expect(wrong.filter((s) => s === 401).length).toBeLessThanOrEqual(31);
  });

  describe('with MFA on', () => {
    /** A member with TOTP enrolled; returns its backup codes (a TOTP code works once per 30 s step, and enrolling used this one). */
    async function withMfa(org: OrgSession, email: string): Promise<{ userId: string; backupCodes: string[] }> {
      const userId = await member(org, email);
      const token = JSON.parse((await signIn(email)).body).token;
      const started = await t.request('POST', '/v1/me/mfa/totp', { token });
      const totp = new TOTP({ secret: Secret.fromBase32(started.body.secret) });
      const verified = await t.request('POST', '/v1/me/mfa/totp/verify', { token, body: { code: totp.generate() } });
      expect(verified.status).toBe(200);
      return { userId, backupCodes: verified.body.backupCodes };
    }
    const challengeOf = async (email: string) => JSON.parse((await signIn(email)).body).challenge as string;
    const mfaStep = (challenge: string, code: string, ip = nextIp()) => post('/v1/sessions/mfa', { challenge, code }, ip);

    it('R-CRED-7 R-SEC-3 50 parallel wrong MFA codes from one address are tried no more often than 50 sequential ones', async () => {
      standIn.delayMs = 5;
      const org = await createOrg(t);
      const seq = await withMfa(org, 'mfa-seq@example.com');
      const par = await withMfa(org, 'mfa-par@example.com');
      const seqChallenge = await challengeOf('mfa-seq@example.com');
      const parChallenge = await challengeOf('mfa-par@example.com');
      // A store a network hop away (PostgreSQL): reading the account takes a moment, as the verify does for passwords.
      const readStream = store.readStream.bind(store);
      const slow = jest.spyOn(store, 'readStream').mockImplementation(async (stream, from) => {
        if (stream.startsWith('user-')) await new Promise((resolve) => setTimeout(resolve, 3));
        return readStream(stream, from);
      });
      const sequential: number[] = [];
      for (let i = 0; i < 50; i++) sequential.push((await mfaStep(seqChallenge, `wrong-${i}`, '10.201.0.1')).statusCode);
      const parallel = (await Promise.all(Array.from({ length: 50 }, (_, i) => mfaStep(parChallenge, `wrong-${i}`, '10.201.0.2')))).map((r) => r.statusCode);
      slow.mockRestore();
      // Every answer but a 429 came after the code was tried; every wrong one is login activity.
      const tried = (answers: number[]) => answers.filter((s) => s !== 429).length;
      expect(await failuresOf(seq.userId, 'wrong_mfa_code')).toBe(sequential.filter((s) => s === 401).length);
      expect(await failuresOf(par.userId, 'wrong_mfa_code')).toBe(parallel.filter((s) => s === 401).length);
      expect(tried(parallel)).toBeLessThanOrEqual(tried(sequential));
      expect(tried(parallel)).toBeLessThanOrEqual(6);
      expect(new Set(parallel)).toEqual(new Set([401, 429]));
    });

    it('R-ACC-1 SPEC 5.7 the MFA step is refused with 403 access_disabled when the only membership was disabled after the password step', async () => {
      const org = await createOrg(t);
      const m = await withMfa(org, 'mfa-disabled@example.com');
      const challenge = await challengeOf('mfa-disabled@example.com');
      expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${m.userId}/disable`, { token: org.token })).status).toBe(200);
      const refused = await mfaStep(challenge, m.backupCodes[0]);
      expect(refused.statusCode).toBe(403);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'access_disabled' });
      // The password step says so too, once the password checked out.
      const again = await signIn('mfa-disabled@example.com');
      expect(again.statusCode).toBe(403);
      expect(JSON.parse(again.body)).toMatchObject({ code: 'access_disabled' });
    });
  });

  it('R-SEC-6 50 invitations and resends to one address send at most 5 emails an hour; the rest answer 429 too_many_requests with retryAfterSeconds', async () => {
    const a = await createOrg(t);
    const b = await createOrg(t);
    const email = 'flooded@example.com';
    const before = t.mailbox().length;
    const parallel = await Promise.all(Array.from({ length: 30 }, (_, i) => t.request('POST', `/v1/orgs/${(i % 2 ? a : b).orgId}/invitations`, { token: (i % 2 ? a : b).token, body: { email } })));
    const invitationId = parallel.find((r) => r.status === 201 && r.body.invitationId)?.body.invitationId;
    const resends = [];
    for (let i = 0; i < 20; i++) resends.push(await t.request('POST', `/v1/orgs/${a.orgId}/invitations/${invitationId}/resend`, { token: a.token }));
    const answers = [...parallel, ...resends];
    const sent = t.mailbox().slice(before).filter((m) => m.to === email);
    expect(sent.length).toBeLessThanOrEqual(5);
    expect(answers.filter((r) => r.status < 300)).toHaveLength(sent.length);
    const refused = answers.filter((r) => r.status === 429);
    expect(refused.length).toBe(50 - sent.length);
    for (const r of refused) expect(r.body).toMatchObject({ code: 'too_many_requests', details: { retryAfterSeconds: expect.any(Number) } });
    expect(refused[0].body.details.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused[0].body.details.retryAfterSeconds).toBeLessThanOrEqual(3600);
  });

  it('R-SEC-6 R-SEC-3 once an address had its emails for the hour, the public routes still answer 202 and send nothing more, as for unknown emails', async () => {
    const org = await createOrg(t);
    const userId = await member(org, 'capped@example.com');
    for (let i = 0; i < 5; i++) expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${userId}/setup-link`, { token: org.token })).status).toBeLessThan(300);
    expect(await t.request('POST', `/v1/orgs/${org.orgId}/members/${userId}/setup-link`, { token: org.token })).toMatchObject({ status: 429, body: { code: 'too_many_requests' } });
    const before = t.mailbox().length;
    for (const url of ['/v1/magic-links', '/v1/password-resets']) {
      const known = await t.request('POST', url, { body: { email: 'capped@example.com' } });
      const unknown = await t.request('POST', url, { body: { email: 'capped-nobody@example.com' } });
      expect([known.status, unknown.status]).toEqual([202, 202]);
      expect(known.body).toEqual(unknown.body);
    }
    expect(t.mailbox().slice(before)).toEqual([]);
  });

  it('R-ACC-1 SPEC 5.7 a person disabled in their only org cannot sign in by password, magic link or password link (403 access_disabled, said only after the proof checked out); enabling restores it', async () => {
    const org = await createOrg(t);
    const userId = await member(org, 'disabled@example.com');
    expect((await signIn('disabled@example.com')).statusCode).toBe(201);
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${userId}/disable`, { token: org.token })).status).toBe(200);

    // A stranger learns nothing: a wrong password is a wrong password.
    expect(JSON.parse((await signIn('disabled@example.com', 'not the password')).body)).toMatchObject({ code: 'invalid_credentials' });
    const refused = await signIn('disabled@example.com');
    expect(refused.statusCode).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'access_disabled' });

    expect((await t.request('POST', '/v1/magic-links', { body: { email: 'disabled@example.com' } })).status).toBe(202);
    expect(await t.request('POST', '/v1/magic-links/redeem', { body: { token: linkTokenFor(t, 'disabled@example.com', 'magic-link') } })).toMatchObject({ status: 403, body: { code: 'access_disabled' } });

    expect((await t.request('POST', '/v1/password-resets', { body: { email: 'disabled@example.com' } })).status).toBe(202);
    const resetToken = linkTokenFor(t, 'disabled@example.com', 'password-reset');
    expect(await t.request('POST', '/v1/password-resets/redeem', { body: { token: resetToken, newPassword: 'a different phrase 12' } })).toMatchObject({ status: 403, body: { code: 'access_disabled' } });

    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${userId}/enable`, { token: org.token })).status).toBe(200);
    // Nothing changed meanwhile: the old password still works, and the reset link is still good.
    expect((await signIn('disabled@example.com')).statusCode).toBe(201);
    expect((await t.request('POST', '/v1/password-resets/redeem', { body: { token: resetToken, newPassword: 'a different phrase 12' } })).status).toBe(200);
  });

  it('R-ACC-7 SPEC 5.7 a person whose every org is suspended cannot sign in (403 org_suspended); one usable membership is enough; no membership at all still signs in', async () => {
    const suspended = await createOrg(t);
    const other = await createOrg(t);
    const onlyThere = await member(suspended, 'only-suspended@example.com');
    await member(suspended, 'two-orgs@example.com');
    expect((await t.request('POST', `/v1/orgs/${other.orgId}/members`, { token: other.token, body: { email: 'two-orgs@example.com', firstName: 'Tw', lastName: 'O', mode: 'set-password', password: 'unused phrase 13' } })).body.addedExisting).toBe(true);
    const leaver = await member(suspended, 'leaver@example.com');
    expect((await t.request('DELETE', `/v1/orgs/${suspended.orgId}/members/${leaver}`, { token: suspended.token })).status).toBe(200);

    expect((await t.request('POST', `/v1/system/orgs/${suspended.orgId}/suspend`, { token: system.token, body: { reason: 'unpaid' } })).status).toBe(200);
    for (const [email, password] of [['only-suspended@example.com', PASSWORD], [suspended.ownerEmail, OWNER_PASSWORD]]) {
      const refused = await signIn(email, password);
      expect({ status: refused.statusCode, body: JSON.parse(refused.body) }).toMatchObject({ status: 403, body: { code: 'org_suspended' } });
    }
    expect(JSON.parse((await signIn('only-suspended@example.com', 'not the password')).body)).toMatchObject({ code: 'invalid_credentials' });
    expect((await signIn('two-orgs@example.com')).statusCode).toBe(201);
    expect((await signIn('leaver@example.com')).statusCode).toBe(201);

    expect((await t.request('POST', `/v1/system/orgs/${suspended.orgId}/reactivate`, { token: system.token })).status).toBe(200);
    expect((await signIn('only-suspended@example.com')).statusCode).toBe(201);
    expect(onlyThere).toEqual(expect.any(String));
  });
});

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
