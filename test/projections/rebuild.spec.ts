import { join } from 'node:path';
import type { EventStore } from '../../infra/eventstore/port';
import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type TestApp } from '../support/app';

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('rebuilding a projection without downtime (operator CLI)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('builds a fresh generation beside the live one, switches the running service to it, and keeps answering', async () => {
    const org = await createOrg(t);
    const members = `/v1/orgs/${org.orgId}/members`;
    let last = '';
    for (let i = 0; i < 30; i++) {
      last = (await t.request('POST', members, { token: org.token, body: { email: `r${i}@example.com`, firstName: `R${i}`, lastName: 'Build', mode: 'setup-email' } })).body.position;
    }
    const before = await t.request('GET', `${members}?limit=200`, { token: org.token, headers: { 'gatehouse-min-position': last } });
    expect(before.body.items).toHaveLength(31);

    // The CLI runs in its own process in real life: here, its own runner and its own connection to the read store.
    const events: EventStore = t.app.get(EVENT_STORE);
    const cliStore = new SqliteReadStore(join(t.dataDir, 'readmodels.db'));
    const cli = new ProjectionRunner(events, cliStore, () => new Date());
    cli.batchSize = 7;
    const progress: number[] = [];
    const rebuilding = cli.rebuild('directory.v1', (p) => progress.push(p.events));
    // The service keeps answering from the old generation while the new one is built.
    const during = await t.request('GET', `${members}?limit=200`, { token: org.token });
    expect(during.status).toBe(200);
    expect(during.body.items).toHaveLength(31);
    const done = await rebuilding;
    expect(done.generation).toBe(2);
    expect(await cliStore.generation('directory.v1')).toBe(2);
    await cliStore.close();

    const service = t.app.get(ProjectionRunner);
    await eventually(() => service.collection('members') === 'members_g2');
    const after = await t.request('GET', `${members}?limit=200`, { token: org.token });
    expect(after.body.items.map((m: { userId: string }) => m.userId)).toEqual(before.body.items.map((m: { userId: string }) => m.userId));

    // New writes land in the new generation.
    const added = await t.request('POST', members, { token: org.token, body: { email: 'late@example.com', firstName: 'Late', lastName: 'Comer', mode: 'setup-email' } });
    const seen = await t.request('GET', `${members}?q=late`, { token: org.token, headers: { 'gatehouse-min-position': added.body.position } });
    expect(seen.body.items.map((m: { firstName: string }) => m.firstName)).toEqual(['Late']);
  }, 60_000);

  it('refuses an unknown projection by name', async () => {
    const cli = new ProjectionRunner(t.app.get(EVENT_STORE), new SqliteReadStore(':memory:'), () => new Date());
    await expect(cli.rebuild('nope.v1', () => undefined)).rejects.toThrow('no projection nope.v1; known: directory.v1, permission-history.v1, login-activity.v1');
  });
});
