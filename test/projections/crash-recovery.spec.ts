import { MongoClient } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore } from '../../infra/eventstore/port';
import { MongoReadStore } from '../../infra/readstore/mongo';
import type { Changes, ReadStore } from '../../infra/readstore/port';
import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { DEAD_LETTERS } from '../../src/shared/dead-letters';
import { PROJECTIONS, ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, linkTokenFor, startApp, type TestApp } from '../support/app';

/**
 * A store that dies during its third write, after the documents and before the
 * checkpoint (MongoDB's worst case; SQLite writes both in one transaction, but the
 * runner must not rely on that): on restart the batch is replayed onto documents
 * that already hold it.
 */
function crashingOnThirdWrite(store: ReadStore): ReadStore {
  let writes = 0;
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'write') return Reflect.get(target, property, receiver);
      return async (changes: Changes, checkpoint: { projection: string; position: bigint }) => {
        if (checkpoint.projection !== 'directory.v1' || ++writes < 3) return target.write(changes, checkpoint);
        await target.write(changes, { projection: `${checkpoint.projection}.crashed`, position: 0n });
        throw new Error('simulated crash mid-batch');
      };
    },
  });
}

async function dump(store: ReadStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const projection of PROJECTIONS) {
    for (const collection of projection.collections) out[collection] = await store.find({ collection, where: {}, orderBy: [['id', 'asc']], limit: 1_000_000 });
  }
  return out;
}

/** Two MongoDB stores on the database of one fresh store (its name read back from the store it opens). */
function sameDatabaseTwice(fresh: () => ReadStore): [ReadStore, ReadStore] {
  const one = fresh() as MongoReadStore;
  const database = (one as unknown as { db: { databaseName: string } }).db.databaseName;
  return [one, new MongoReadStore(process.env.MONGODB_URL!, database)];
}

async function ferretDbVersion(): Promise<string | undefined> {
  const client = await MongoClient.connect(process.env.MONGODB_URL!);
  try {
    return (await client.db('admin').command({ buildInfo: 1 })).ferretdbVersion;
  } finally {
    await client.close();
  }
}

/** The two stores' writes one at a time, in the order they are asked for. */
function takingTurns(...stores: ReadStore[]): ReadStore[] {
  let turn: Promise<unknown> = Promise.resolve();
  return stores.map(
    (store) =>
      new Proxy(store, {
        get(target, property, receiver) {
          if (property !== 'write') return Reflect.get(target, property, receiver);
          return (changes: Changes, checkpoint: { projection: string; position: bigint }) => {
            const result = turn.then(() => target.write(changes, checkpoint));
            turn = result.catch(() => undefined);
            return result;
          };
        },
      }),
  );
}

async function runToEnd(events: EventStore, store: ReadStore, batchSize: number): Promise<ProjectionRunner> {
  const runner = new ProjectionRunner(events, store, () => new Date());
  runner.batchSize = batchSize;
  await runner.onApplicationBootstrap();
  await runner.caughtUp();
  return runner;
}

describe('projection runner crash recovery', () => {
  let t: TestApp;
  let events: EventStore;

  beforeAll(async () => {
    // A history with creations, changes, removals, sign-ins and invitations in several orgs.
    t = await startApp();
    events = t.app.get(EVENT_STORE);
    for (let o = 0; o < 3; o++) {
      const org = await createOrg(t, { preset: o === 1 ? 'studio' : 'team' });
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: `m${o}-${i}@example.com`, firstName: `Name${i}`, lastName: `Org${o}`, mode: 'set-password', password: 'a long passphrase 7' } });
        ids.push(r.body.userId);
      }
      const m = `/v1/orgs/${org.orgId}/members`;
      await t.request('POST', `${m}/${ids[0]}/disable`, { token: org.token });
      await t.request('PUT', `${m}/${ids[1]}/role`, { token: org.token, body: { role: 'admin' } });
      await t.request('DELETE', `${m}/${ids[2]}`, { token: org.token });
      await t.request('PATCH', `${m}/${ids[3]}`, { token: org.token, body: { firstName: 'Renamed' } });
      // R-SEC-5: one event no fold can make a name of (appended past the edge's validation): skipped and dead-lettered, on replay too.
      if (o === 1) {
        const metadata = { actor: { kind: 'user' as const, id: org.ownerId }, orgId: org.orgId, correlationId: randomUUID() };
        await events.append(`user-${ids[6]}`, [{ eventId: randomUUID(), type: 'UserProfileUpdated', data: { userId: ids[6], changes: { lastName: { not: 'text' } } }, metadata }], 'any');
      }
      await t.request('POST', `${m}/${ids[4]}/grants`, { token: org.token, body: { permission: 'users.list.any', reason: 'x' } });
      await t.request('POST', '/v1/sessions', { body: { email: `m${o}-5@example.com`, password: 'a long passphrase 7' } });
      await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: `inv${o}@example.com` } });
      await t.request('POST', '/v1/invitations/accept', { body: { token: linkTokenFor(t, `inv${o}@example.com`), password: 'a long passphrase 7', firstName: 'In', lastName: 'Vited' } });
    }
  });
  afterAll(() => t.close());

  const adapters: Array<[string, () => Promise<{ fresh: () => ReadStore; cleanup: () => Promise<void> }>]> = [
    ['embedded (SQLite)', async () => ({ fresh: () => new SqliteReadStore(':memory:'), cleanup: async () => undefined })],
    [
      'MongoDB (FerretDB)',
      async () => {
        const names: string[] = [];
        return {
          fresh: () => {
            const name = `gh_crash_${randomUUID().slice(0, 8)}`;
            names.push(name);
            return new MongoReadStore(process.env.MONGODB_URL!, name);
          },
          cleanup: async () => {
            const client = await MongoClient.connect(process.env.MONGODB_URL!);
            for (const name of names) await client.db(name).dropDatabase();
            await client.close();
          },
        };
      },
    ],
  ];

  it.each(adapters)('two projectors writing one read model at once (a rolling deploy, a lease holder cut off with a batch in flight), in batches of different sizes, end identical to a clean rebuild: %s', async (_name, setup) => {
    const { fresh, cleanup } = await setup();
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-two-'));
    try {
      const clean = fresh();
      const cleanRunner = await runToEnd(events, clean, 25);
      const expected = await dump(clean);

      // Two connections to one store: the embedded one as two processes would open its file, MongoDB as two clients of one database.
      let [first, second] = _name.startsWith('embedded') ? [new SqliteReadStore(join(dir, 'rm.db')), new SqliteReadStore(join(dir, 'rm.db'))] : sameDatabaseTwice(fresh);
      const ferretdb = _name.startsWith('embedded') ? undefined : await ferretDbVersion();
      if (ferretdb) {
        // FerretDB v1 reads, then replaces by _id alone: of two replaces of one document at the same instant the older can land
        // last (MongoDB checks the position in the write). Here the two projectors' writes take turns; their folds still interleave.
        process.stderr.write(`[projections] FerretDB ${ferretdb}: the two projectors' writes take turns (its guarded replace is not atomic)\n`);
        [first, second] = takingTurns(first, second);
      }
      const runners = await Promise.all([runToEnd(events, first, 3), runToEnd(events, second, 7)]);
      try {
        expect(await dump(first)).toEqual(expected);
        expect(await dump(second)).toEqual(expected);
        for (const projection of PROJECTIONS) expect(await first.checkpoint(projection.name)).toBe(await clean.checkpoint(projection.name));
      } finally {
        await Promise.all([cleanRunner, ...runners].map((r) => r.onApplicationShutdown()));
        await Promise.all([clean.close(), first.close(), second.close()]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await cleanup();
    }
  }, 120_000);

  it.each(adapters)('a projector killed mid-batch and restarted ends identical to a clean rebuild, the event it cannot apply dead-lettered once (R-SEC-5): %s', async (_name, setup) => {
    const { fresh, cleanup } = await setup();
    try {
      const clean = fresh();
      const cleanRunner = await runToEnd(events, clean, 25);
      const expected = await dump(clean);
      expect((expected.members as unknown[]).length).toBeGreaterThan(20);

      const store = fresh();
      const crashing = new ProjectionRunner(events, crashingOnThirdWrite(store), () => new Date());
      crashing.batchSize = 25;
      await crashing.onApplicationBootstrap();
      await expect(crashing.caughtUp()).rejects.toThrow('simulated crash mid-batch');
      await crashing.onApplicationShutdown();
      expect(await dump(store)).not.toEqual(expected); // the crash really left it half done

      const restarted = await runToEnd(events, store, 25);
      expect(await dump(store)).toEqual(expected);
      // The poison event was met by both, and is one dead letter in each, however often its batch ran.
      for (const [runner, readStore] of [[cleanRunner, clean], [restarted, store]] as const) {
        expect((await runner.status()).find((p) => p.projection === 'directory.v1')).toMatchObject({ status: 'degraded', skippedEvents: 1 });
        expect(await readStore.count(DEAD_LETTERS, { projection: 'directory.v1' })).toBe(1);
      }
      await Promise.all([cleanRunner.onApplicationShutdown(), restarted.onApplicationShutdown()]);
      await Promise.all([clean.close(), store.close()]);
    } finally {
      await cleanup();
    }
  }, 120_000);
});
