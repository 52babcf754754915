import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { EventStore } from '../../infra/eventstore/port';
import { checkpointName, type ReadStore } from '../../infra/readstore/port';
import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { USERS, type UserDoc } from '../../projections/users';
import { DEAD_LETTERS } from '../../src/shared/dead-letters';
import { PROJECTIONS, ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE, READ_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A profile change that reached the log without the edge's validation (recorded
 * before it refused such input, or by a bug): written straight through the event
 * store port, as the command path would have.
 */
async function appendProfileChange(t: TestApp, org: OrgSession, userId: string, changes: Record<string, unknown>): Promise<{ eventId: string; position: string }> {
  const eventId = randomUUID();
  const metadata = { actor: { kind: 'user' as const, id: org.ownerId }, orgId: org.orgId, correlationId: randomUUID() };
  const appended = await t.app.get<EventStore>(EVENT_STORE).append(`user-${userId}`, [{ eventId, type: 'UserProfileUpdated', data: { userId, changes }, metadata }], 'any');
  return { eventId, position: appended.position.toString() };
}

/** The name the poison event carries: it must never show up in a dead letter, a log line or /health. */
const PRIVATE = 'Pat-Private-Name';

describe('an event a projection cannot apply stops nothing, and says so (R-SEC-5)', () => {
  let t: TestApp;
  let system: OrgSession;
  let orgA: OrgSession;
  let orgB: OrgSession;
  const a: Record<'nulled' | 'poisoned' | 'renamed', string> = { nulled: '', poisoned: '', renamed: '' };
  let poison: { eventId: string; position: string };

  const start = (dataDir: string) => startApp({ SYSTEM_ADMIN_ORG: system.orgId }, { dataDir });
  const members = (org: OrgSession) => `/v1/orgs/${org.orgId}/members`;
  async function addMember(org: OrgSession, email: string, firstName: string, lastName: string): Promise<{ userId: string; position: string }> {
    const created = await t.request('POST', members(org), { token: org.token, body: { email, firstName, lastName, mode: 'setup-email' } });
    expect(created.status).toBe(201);
    return created.body;
  }
  async function list(org: OrgSession, position: string, query = '') {
    const r = await t.request('GET', `${members(org)}?limit=200${query}`, { token: org.token, headers: { 'gatehouse-min-position': position } });
    expect(r.status).toBe(200);
    return r.body.items as Array<{ userId: string; firstName: string; lastName: string }>;
  }
  const directory = async () => (await t.request('GET', '/health')).body.projections.find((p: { projection: string }) => p.projection === 'directory.v1');

  beforeAll(async () => {
    const first = await startApp();
    system = await createOrg(first, { name: 'Operators' });
    await first.close({ keepData: true });
    t = await start(first.dataDir);
    orgA = await createOrg(t, { name: 'Org A' });
    orgB = await createOrg(t, { name: 'Org B' });
    a.nulled = (await addMember(orgA, 'nell@example.com', 'Nell', 'Nullable')).userId;
    a.poisoned = (await addMember(orgA, 'pat@example.com', 'Pat', 'Poison')).userId;
    a.renamed = (await addMember(orgA, 'rae@example.com', 'Rae', 'Renamed')).userId;

    // What the edge now refuses (a null name), and what no fold can make a name of.
    await appendProfileChange(t, orgA, a.nulled, { lastName: null });
    poison = await appendProfileChange(t, orgA, a.poisoned, { lastName: { text: PRIVATE } });
  });
  afterAll(() => t?.close());

  it('R-SEC-5 a member added to another org afterwards appears in its list, read-your-writes answering (no 503)', async () => {
    const added = await addMember(orgB, 'bea@example.com', 'Bea', 'Bystander');
    expect((await list(orgB, added.position)).map((m) => m.userId)).toContain(added.userId);
    const search = await t.request('GET', `${members(orgB)}/search?q=bea`, { token: orgB.token, headers: { 'gatehouse-min-position': added.position } });
    expect(search.status).toBe(200);
  });

  it("R-SEC-5 the org's own other changes still appear; the skipped event leaves the documents it would have changed as they were", async () => {
    const renamed = await t.request('PATCH', `${members(orgA)}/${a.renamed}`, { token: orgA.token, body: { firstName: 'Raven' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body.position).toEqual(expect.any(String));
    const rows = await list(orgA, renamed.body.position);
    expect(rows.find((m) => m.userId === a.renamed)).toMatchObject({ firstName: 'Raven', lastName: 'Renamed' });
    expect(rows.find((m) => m.userId === a.poisoned)).toMatchObject({ firstName: 'Pat', lastName: 'Poison' });
    // The person's document too, which the fold had changed before it failed on the member row.
    const runner = t.app.get(ProjectionRunner);
    const person = (await t.app.get<ReadStore>(READ_STORE).getMany<UserDoc>(runner.collection(USERS), [a.poisoned])).get(a.poisoned);
    expect(person).toMatchObject({ lastName: 'Poison' });
    expect((await list(orgA, poison.position, '&q=rav')).map((m) => m.userId)).toEqual([a.renamed]);
  });

  it('R-SEC-5 a null name recorded before the edge refused it folds as an empty name, not as a fault', async () => {
    const rows = await list(orgA, poison.position);
    expect(rows.find((m) => m.userId === a.nulled)).toMatchObject({ firstName: 'Nell', lastName: '' });
    expect((await list(orgA, poison.position, '&q=nell')).map((m) => m.userId)).toEqual([a.nulled]);
  });

  it('R-SEC-5 the fault is reported: /health degraded with the projection and the count, a /metrics counter, a dead letter without personal data', async () => {
    const health = await t.request('GET', '/health');
    expect(health.status).toBe(200); // degraded, not unready: every instance meets the same event
    expect(health.body.status).toBe('degraded');
    expect(await directory()).toMatchObject({ status: 'degraded', skippedEvents: 1, lastFault: { eventId: poison.eventId, eventType: 'UserProfileUpdated', position: poison.position } });
    const others = health.body.projections.filter((p: { projection: string }) => p.projection !== 'directory.v1');
    expect(others.map((p: { status: string }) => p.status)).toEqual(['ok', 'ok']);

    const metrics = (await t.request('GET', '/metrics')).body as string;
    expect(metrics).toContain('gatehouse_projection_faults_total{projection="directory.v1"} 1');
    expect(metrics).toContain('gatehouse_projection_faults_total{projection="permission-history.v1"} 0');
    expect(metrics).toContain('gatehouse_projection_skipped_events{projection="directory.v1"} 1');

    const letters = await t.request('GET', '/v1/system/dead-letters', { token: system.token });
    expect(letters.status).toBe(200);
    const letter = letters.body.items.find((l: { eventId: string }) => l.eventId === poison.eventId);
    expect(letter).toMatchObject({ consumer: 'directory.v1', projection: 'directory.v1', generation: 1, eventType: 'UserProfileUpdated', position: poison.position, orgId: orgA.orgId, status: 'dead', reason: expect.stringMatching(/^TypeError: /) });
    expect(JSON.stringify(letters.body)).not.toContain(PRIVATE);
    expect(JSON.stringify(health.body)).not.toContain(PRIVATE);
    // It is mended at the source and by a rebuild, not re-driven: a clear 409, not a 404 or a 500.
    expect(await t.request('POST', `/v1/system/dead-letters/${encodeURIComponent(letter.id)}/redrive`, { token: system.token })).toMatchObject({ status: 409, body: { code: 'not_redrivable' } });
  });

  it('R-SEC-5 after a restart on the same data the lists go on, and the fault is still reported', async () => {
    await t.close({ keepData: true });
    t = await start(t.dataDir);
    const added = await addMember(orgB, 'ben@example.com', 'Ben', 'Afterwards');
    expect((await list(orgB, added.position)).map((m) => m.firstName)).toEqual(expect.arrayContaining(['Bea', 'Ben']));
    expect((await t.request('GET', '/health')).body.status).toBe('degraded');
    expect(await directory()).toMatchObject({ status: 'degraded', skippedEvents: 1, lastFault: { eventId: poison.eventId } });
    expect((await t.request('GET', '/metrics')).body).toContain('gatehouse_projection_skipped_events{projection="directory.v1"} 1');
  });

  it('R-SEC-5 a rebuild meets the event, reports it and goes on: the new generation holds every other change', async () => {
    // The CLI runs in its own process in real life: here, its own runner and its own connection to the read store.
    const cliStore = new SqliteReadStore(join(t.dataDir, 'readmodels.db'));
    const cli = new ProjectionRunner(t.app.get(EVENT_STORE), cliStore, () => new Date());
    const done = await cli.rebuild('directory.v1', () => undefined);
    await cliStore.close();
    expect(done).toMatchObject({ generation: 2, skipped: 1 });

    const service = t.app.get(ProjectionRunner);
    await eventually(() => service.collection('members') === 'members_g2');
    const added = await addMember(orgB, 'bo@example.com', 'Bo', 'Rebuilt');
    expect((await list(orgB, added.position)).map((m) => m.firstName).sort()).toEqual(['Bea', 'Ben', 'Bo', 'Olive']);
    const rows = await list(orgA, added.position);
    expect(rows.find((m) => m.userId === a.renamed)).toMatchObject({ firstName: 'Raven' });
    expect(rows.find((m) => m.userId === a.poisoned)).toMatchObject({ lastName: 'Poison' });
    expect(rows.find((m) => m.userId === a.nulled)).toMatchObject({ lastName: '' });
    expect(await directory()).toMatchObject({ status: 'degraded', generation: 2, skippedEvents: 1 });
    const letters = (await t.request('GET', '/v1/system/dead-letters', { token: system.token })).body.items.filter((l: { eventId: string }) => l.eventId === poison.eventId);
    expect(letters.map((l: { generation: number }) => l.generation).sort()).toEqual([1, 2]);
  });

  it('R-SEC-5 a read store that fails is no poison: the projection starts again from its checkpoint, shows it in its status, and skips nothing', async () => {
    const events = t.app.get<EventStore>(EVENT_STORE);
    const dump = async (store: ReadStore) => {
      const out: Record<string, unknown[]> = {};
      for (const projection of PROJECTIONS) for (const collection of projection.collections) out[collection] = await store.find({ collection, where: {}, orderBy: [['id', 'asc']], limit: 1_000_000 });
      return out;
    };
    const clean = new SqliteReadStore(':memory:');
    const cleanRunner = new ProjectionRunner(events, clean, () => new Date());
    await cleanRunner.onApplicationBootstrap();
    await cleanRunner.caughtUp();

    let broken = true;
    const store = new SqliteReadStore(':memory:');
    const flaky = new Proxy(store, {
      get(target, property, receiver) {
        if (property !== 'getMany' && property !== 'write') return Reflect.get(target, property, receiver);
        return (...args: unknown[]) => (broken ? Promise.reject(new Error('read store unreachable')) : (Reflect.get(target, property, receiver) as (...a: unknown[]) => unknown).apply(target, args));
      },
    });
    const runner = new ProjectionRunner(events, flaky, () => new Date());
    runner.retryMs = 5;
    runner.maxRetryMs = 20;
    await runner.onApplicationBootstrap();
    const directoryStatus = async () => (await runner.status()).find((p) => p.projection === 'directory.v1')!;
    await eventually(async () => (await directoryStatus()).failures >= 2);
    expect(await directoryStatus()).toMatchObject({ status: 'retrying', skippedEvents: 0, lastError: 'Error', position: '0' });

    broken = false;
    await eventually(async () => (await runner.status()).every((p) => p.status !== 'retrying' && !p.behind));
    expect(await dump(store)).toEqual(await dump(clean));
    // Only the event no fold can apply was skipped; the store's failures were not.
    expect((await runner.status()).map((p) => [p.projection, p.status, p.skippedEvents])).toEqual([
      ['directory.v1', 'degraded', 1],
      ['permission-history.v1', 'ok', 0],
      ['login-activity.v1', 'ok', 0],
    ]);
    expect((await store.getMany(DEAD_LETTERS, [`${checkpointName('directory.v1', 1)}:${poison.eventId}`])).size).toBe(1);
    await Promise.all([runner.onApplicationShutdown(), cleanRunner.onApplicationShutdown()]);
    await Promise.all([store.close(), clean.close()]);
  });
});
