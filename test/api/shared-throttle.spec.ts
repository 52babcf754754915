import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import type { ReadStore } from '../../infra/readstore/port';
import { READ_STORE } from '../../src/shared/tokens';
import { createOrg, manualClock, startApp, type OrgSession, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';
/** One throwaway database per run, so a real MongoDB given by MONGODB_URL keeps no counters from an earlier one. */
const mongoDatabase = `gh_throttle_${randomUUID().slice(0, 8)}`;

/**
 * Two replicas of Gatehouse over one store: the same data folder (the embedded
 * event and read stores, one SQLite file each) and, in the second run, one
 * MongoDB database for the read store. The throttles keep their counts there,
 * so the replicas count every attempt once, and a restart forgets none.
 */
describe.each([
  ['embedded read store (one SQLite file)', () => ({})],
  ['MongoDB read store (FerretDB in tests)', () => ({ READ_STORE: 'mongodb', MONGODB_URL: process.env.MONGODB_URL!, MONGODB_DATABASE: mongoDatabase })],
])('throttles two replicas share: %s', (_name, env) => {
  const clock = manualClock();
  let a: TestApp;
  let b: TestApp;
  let org: OrgSession;
  /** Why parallel attempts cannot be held to the sequential count on this store, if they cannot (FerretDB v1: see the read-store contract). */
  let swapsRace: string | undefined;

  beforeAll(async () => {
    a = await startApp(env() as Record<string, string>, { clock });
    b = await startApp(env() as Record<string, string>, { clock, dataDir: a.dataDir });
    org = await createOrg(a);
    swapsRace = await ferretDbVersion(env() as Record<string, string>);
  });
  afterAll(async () => {
    await b?.close({ keepData: true });
    await a?.close();
    await dropMongoDatabase(env() as Record<string, string>);
  });

  const signIn = (replica: TestApp, email: string, password: string, ip: string) =>
    replica.app.inject({ method: 'POST', url: '/v1/sessions', remoteAddress: ip, headers: { 'content-type': 'application/json', 'user-agent': 'Replica/1.0' }, payload: JSON.stringify({ email, password }) });
  const askLink = (replica: TestApp, email: string, ip: string) =>
    replica.app.inject({ method: 'POST', url: '/v1/magic-links', remoteAddress: ip, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email }) });
  async function member(email: string): Promise<string> {
    const created = await a.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email, firstName: 'Re', lastName: 'Plica', mode: 'set-password', password: PASSWORD } });
    if (created.status !== 201) throw new Error(`member not created: ${JSON.stringify(created.body)}`);
    return created.body.userId;
  }
  const body = (answer: { body: string }) => JSON.parse(answer.body);

  it('R-CRED-7 failures counted through one replica slow sign-in through the other, with growing waits; the owner from another address still signs in', async () => {
    await member('shared-target@example.com');
    for (let i = 0; i < 6; i++) expect((await signIn(i % 2 ? b : a, 'shared-target@example.com', `guess ${i}`, '10.7.0.1')).statusCode).toBe(401);
    // Six failures, three through each replica: the next attempt waits, whichever replica it reaches.
    for (const replica of [a, b]) {
      const throttled = await signIn(replica, 'shared-target@example.com', PASSWORD, '10.7.0.1');
      expect(throttled.statusCode).toBe(429);
      expect(body(throttled)).toMatchObject({ code: 'too_many_attempts', details: { retryAfterSeconds: 1 } });
    }
    // A stranger's failures never lock the owner out.
    expect((await signIn(b, 'shared-target@example.com', PASSWORD, '10.7.0.2')).statusCode).toBe(201);
    clock.advance(1000);
    expect((await signIn(b, 'shared-target@example.com', 'guess 6', '10.7.0.1')).statusCode).toBe(401);
    expect(body(await signIn(a, 'shared-target@example.com', PASSWORD, '10.7.0.1')).details.retryAfterSeconds).toBe(2);
  });

  it('R-SEC-3 R-SEC-6 email requests and link emails are counted once across replicas: 5 an hour per email, whichever replica is asked', async () => {
    const userId = await member('shared-links@example.com');
    for (let i = 0; i < 5; i++) expect((await askLink(i % 2 ? b : a, 'shared-asked@example.com', `10.7.1.${i}`)).statusCode).toBe(202);
    for (const replica of [a, b]) expect(await askLink(replica, 'shared-asked@example.com', '10.7.1.9')).toMatchObject({ statusCode: 429 });
    // R-SEC-6: setup links to one address, counted when issued.
    for (let i = 0; i < 5; i++) expect((await (i % 2 ? b : a).request('POST', `/v1/orgs/${org.orgId}/members/${userId}/setup-link`, { token: org.token })).status).toBeLessThan(300);
    for (const replica of [a, b]) expect(await replica.request('POST', `/v1/orgs/${org.orgId}/members/${userId}/setup-link`, { token: org.token })).toMatchObject({ status: 429, body: { code: 'too_many_requests' } });
  });

  it('R-CRED-7 R-SEC-3 R-SEC-6 the counts survive a restart: a replica closed and started again refuses what it refused before', async () => {
    await member('restart-target@example.com');
    const userId = await member('restart-links@example.com');
    for (let i = 0; i < 6; i++) expect((await signIn(a, 'restart-target@example.com', `guess ${i}`, '10.7.2.1')).statusCode).toBe(401);
    for (let i = 0; i < 5; i++) expect((await askLink(a, 'restart-asked@example.com', `10.7.2.${10 + i}`)).statusCode).toBe(202);
    for (let i = 0; i < 5; i++) expect((await a.request('POST', `/v1/orgs/${org.orgId}/members/${userId}/setup-link`, { token: org.token })).status).toBeLessThan(300);

    await a.close({ keepData: true });
    a = await startApp(env() as Record<string, string>, { clock, dataDir: b.dataDir });
    for (const replica of [a, b]) {
      expect(body(await signIn(replica, 'restart-target@example.com', PASSWORD, '10.7.2.1'))).toMatchObject({ code: 'too_many_attempts', details: { retryAfterSeconds: 1 } });
      expect(await askLink(replica, 'restart-asked@example.com', '10.7.2.99')).toMatchObject({ statusCode: 429 });
      expect(await replica.request('POST', `/v1/orgs/${org.orgId}/members/${userId}/setup-link`, { token: org.token })).toMatchObject({ status: 429, body: { code: 'too_many_requests' } });
    }
    // Forgotten after a quiet while, as before: nothing is locked for good.
    clock.advance(16 * 60_000);
    expect((await signIn(a, 'restart-target@example.com', PASSWORD, '10.7.2.1')).statusCode).toBe(201);
  });

  it('R-CRED-7 R-SEC-3 50 parallel wrong passwords spread over both replicas are tried no more often than 50 sequential ones', async () => {
    await member('spread-seq@example.com');
    await member('spread-par@example.com');
    const sequential: number[] = [];
    for (let i = 0; i < 50; i++) sequential.push((await signIn(i % 2 ? b : a, 'spread-seq@example.com', `guess number ${i}`, '10.7.3.1')).statusCode);
    const parallel = (await Promise.all(Array.from({ length: 50 }, (_, i) => signIn(i % 2 ? b : a, 'spread-par@example.com', `guess number ${i}`, '10.7.3.2')))).map((r) => r.statusCode);
    // Every answer but a 429 came after the password was tried.
    const tried = (answers: number[]) => answers.filter((s) => s !== 429).length;
    expect(tried(sequential)).toBe(6);
    expect(parallel.every((s) => s === 401 || s === 429)).toBe(true);
    if (swapsRace) {
      // Said, not hidden: on this stand-in for MongoDB the racing counts are not checked.
      console.log(`shared throttle: parallel tries not held to the sequential count on ${swapsRace}, whose updates are not atomic (see the read-store contract); ${tried(parallel)} of 50 tried`);
      return;
    }
    expect(new Set(parallel)).toEqual(new Set([401, 429]));
    expect(tried(parallel)).toBeLessThanOrEqual(tried(sequential));
  });

  it('R-CRED-7 counters do not pile up: once nothing in them counts, the next attempt after a sweep interval removes them', async () => {
    const counters = () => a.app.get<ReadStore>(READ_STORE).find<{ id: string }>({ collection: 'throttle', where: {}, orderBy: [['id', 'asc']], limit: 10_000 });
    expect((await counters()).length).toBeGreaterThan(10);
    clock.advance(2 * 3_600_000); // past every window: an hour for requests and link emails, 15 minutes for sign-ins
    expect((await signIn(a, org.ownerEmail, 'correct horse battery', '10.7.4.1')).statusCode).toBe(201);
    // Left: the three counters of that sign-in (emptied by its success, and removed by a later sweep).
    expect((await counters()).map((c) => c.id)).toEqual([expect.stringMatching(/^sign-in:a\+i:/), expect.stringMatching(/^sign-in:a:/), 'sign-in:i:10.7.4.1']);
  });
});

async function ferretDbVersion(env: Record<string, string>): Promise<string | undefined> {
  if (env.READ_STORE !== 'mongodb') return undefined;
  const client = await MongoClient.connect(env.MONGODB_URL);
  try {
    const server = await client.db('admin').command({ buildInfo: 1 });
    return server.ferretdbVersion ? `FerretDB ${server.ferretdbVersion}` : undefined;
  } finally {
    await client.close();
  }
}

async function dropMongoDatabase(env: Record<string, string>): Promise<void> {
  if (env.READ_STORE !== 'mongodb') return;
  const client = await MongoClient.connect(env.MONGODB_URL);
  await client.db(env.MONGODB_DATABASE).dropDatabase();
  await client.close();
}
