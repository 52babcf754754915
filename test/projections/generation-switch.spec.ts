import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { EventStore } from '../../infra/eventstore/port';
import { physicalCollection, type ReadStore } from '../../infra/readstore/port';
import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { directory } from '../../projections/directory';
import { ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE, READ_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every collection of directory.v1 in one generation, in id order. */
async function dump(store: ReadStore, generation: number): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const c of directory.collections) out[c] = await store.find({ collection: physicalCollection(c, generation), where: {}, orderBy: [['id', 'asc']], limit: 1_000_000 });
  return out;
}

describe('a rebuild switching generations under a running service (issue 14, item 8)', () => {
  let t: TestApp;
  let org: OrgSession;
  const people: string[] = [];

  beforeAll(async () => {
    t = await startApp();
    org = await createOrg(t);
    for (let i = 0; i < 12; i++) {
      const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: `s${i}@example.com`, firstName: `S${i}`, lastName: 'Before', mode: 'setup-email' } });
      people.push(created.body.userId);
    }
  });
  afterAll(() => t.close());

  /** Profile changes for everyone, appended at once: the service meets them in several batches back to back. */
  async function renameEveryone(lastName: string): Promise<void> {
    const events: EventStore = t.app.get(EVENT_STORE);
    const metadata = { actor: { kind: 'user' as const, id: org.ownerId }, orgId: org.orgId, correlationId: randomUUID() };
    await Promise.all(people.map((userId) => events.append(`user-${userId}`, [{ eventId: randomUUID(), type: 'UserProfileUpdated', data: { userId, changes: { lastName } }, metadata }], 'any')));
  }

  it('a switch met by a batch in flight restarts the projection once, from the new generation\'s own checkpoint: no batch of the old run lands in the new generation, nothing is skipped', async () => {
    const service = t.app.get(ProjectionRunner);
    service.batchSize = 2;
    await service.caughtUp();

    // The CLI in its own process in real life: its own runner and connection, on the same files.
    const cliStore = new SqliteReadStore(join(t.dataDir, 'readmodels.db'));
    const cli = new ProjectionRunner(t.app.get(EVENT_STORE), cliStore, () => new Date());
    expect((await cli.rebuild('directory.v1', () => undefined)).generation).toBe(2);
    // At once, before the service's once-a-second look: its next batches are the first to see the switch.
    await renameEveryone('After');

    await eventually(() => service.collection('members') === 'members_g2');
    await eventually(async () => (await service.status()).every((p) => !p.behind && p.state === 'running'));
    await service.caughtUp();

    const clean = new SqliteReadStore(':memory:');
    const cleanRunner = new ProjectionRunner(t.app.get(EVENT_STORE), clean, () => new Date());
    await cleanRunner.onApplicationBootstrap();
    await cleanRunner.caughtUp();
    const store: ReadStore = t.app.get(READ_STORE);
    const expected = await dump(clean, 1);
    expect((expected.users as Array<{ lastName?: string }>).filter((u) => u.lastName === 'After')).toHaveLength(12);
    expect(await dump(store, 2)).toEqual(expected);
    await cleanRunner.onApplicationShutdown();
    await clean.close();

    // A second rebuild: generation 3 in use, 2 kept while readers move on, 1 dropped (tables, indexes, checkpoint).
    expect((await cli.rebuild('directory.v1', () => undefined)).generation).toBe(3);
    await cliStore.close();
    await eventually(() => service.collection('members') === 'members_g3');
    const file = new Database(join(t.dataDir, 'readmodels.db'), { readonly: true });
    const tables = (file.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rm_members%'").all() as Array<{ name: string }>).map((r) => r.name).sort();
    const checkpoints = (file.prepare("SELECT projection FROM rm_checkpoints WHERE projection LIKE 'directory.v1%'").all() as Array<{ projection: string }>).map((r) => r.projection).sort();
    file.close();
    expect(tables).toEqual(['rm_members_g2', 'rm_members_g3']);
    expect(checkpoints).toEqual(['directory.v1@g2', 'directory.v1@g3']);
    await renameEveryone('Third');
    await eventually(async () => (await t.request('GET', `/v1/orgs/${org.orgId}/members?limit=200&q=third`, { token: org.token })).body.items.length === 12);
  }, 90_000);
});
