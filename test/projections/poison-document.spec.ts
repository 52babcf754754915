import { MongoClient } from 'mongodb';
import { randomUUID } from 'node:crypto';
import type { EventStore } from '../../infra/eventstore/port';
import { MongoReadStore } from '../../infra/readstore/mongo';
import { checkpointName, type ReadStore } from '../../infra/readstore/port';
import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { projection, type Doc } from '../../projections/projection';
import { DEAD_LETTERS } from '../../src/shared/dead-letters';
import { ProjectionRunner, type ProjectionFault } from '../../src/readmodels/projection-runner';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Note extends Doc {
  lastName: string;
  changes: number;
  extra?: unknown;
}

/**
 * A read model whose fold succeeds but whose document the store will not hold: a
 * value no JSON or BSON can encode (refused by the driver or the embedded store),
 * and on FerretDB a field name with a dot (refused by the server itself, one
 * document of a batch). Real read models meet the same with a document too large.
 */
const notes = projection('notes.v1', ['notes'], {
  UserProfileUpdated: async (event, docs) => {
    const lastName = String(event.data.changes.lastName);
    const before = await docs.get<Note>('notes', event.data.userId);
    const note: Note = { id: event.data.userId, lastName, changes: (before?.changes ?? 0) + 1 };
    if (lastName === 'Unencodable') {
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      note.extra = cycle;
    }
    if (lastName === 'Dotted') note.extra = { 'a.b': 1 };
    docs.put('notes', note);
  },
});

describe('a document the read store refuses stops nothing, and says so (issue 14, item 9; R-SEC-5)', () => {
  let t: TestApp;
  let events: EventStore;
  let org: OrgSession;
  const people: string[] = [];
  const poison = new Map<string, string>();
  /** Person 0's document as the events that can be stored make it (each case below renames them once more). */
  const zero = { lastName: 'First', changes: 1 };

  async function rename(userId: string, lastName: string): Promise<string> {
    const eventId = randomUUID();
    const metadata = { actor: { kind: 'user' as const, id: org.ownerId }, orgId: org.orgId, correlationId: randomUUID() };
    await events.append(`user-${userId}`, [{ eventId, type: 'UserProfileUpdated', data: { userId, changes: { lastName } }, metadata }], 'any');
    return eventId;
  }

  beforeAll(async () => {
    t = await startApp();
    events = t.app.get(EVENT_STORE);
    org = await createOrg(t);
    for (let i = 0; i < 3; i++) people.push((await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: `d${i}@example.com`, firstName: `D${i}`, lastName: 'Doc', mode: 'setup-email' } })).body.userId);
    // Person 0 gets a document no store can hold between two good ones; person 1 one only FerretDB refuses; person 2 only good ones.
    await rename(people[0], 'First');
    poison.set('Unencodable', await rename(people[0], 'Unencodable'));
    await rename(people[2], 'Second');
    poison.set('Dotted', await rename(people[1], 'Dotted'));
    await rename(people[2], 'Third');
  });
  afterAll(() => t.close());

  const adapters: Array<[string, () => Promise<{ store: ReadStore; refusesDots: boolean; cleanup: () => Promise<void> }>]> = [
    ['embedded (SQLite)', async () => ({ store: new SqliteReadStore(':memory:'), refusesDots: false, cleanup: async () => undefined })],
    [
      'MongoDB (FerretDB, or MONGODB_URL)',
      async () => {
        const url = process.env.MONGODB_URL!;
        const database = `gh_poison_${randomUUID().slice(0, 8)}`;
        const client = await MongoClient.connect(url);
        const server = await client.db('admin').command({ buildInfo: 1 });
        return {
          store: new MongoReadStore(url, database),
          // MongoDB 5+ takes dotted field names; FerretDB v1 refuses the document.
          refusesDots: Boolean(server.ferretdbVersion),
          cleanup: async () => {
            await client.db(database).dropDatabase();
            await client.close();
          },
        };
      },
    ],
  ];

  it.each(adapters)('the other documents and every later event are written, the checkpoint reaches the head, the refused document is a dead letter and the projection degraded, not retrying: %s', async (_name, setup) => {
    const { store, refusesDots, cleanup } = await setup();
    const runner = new ProjectionRunner(events, store, () => new Date());
    runner.projections = [notes];
    // An event per batch, so what stays of a refused document is the event before (in a larger batch: the document as the batch began).
    runner.batchSize = 1;
    runner.retryMs = 5;
    runner.maxRetryMs = 20;
    try {
      await runner.onApplicationBootstrap();
      const status = async () => (await runner.status())[0];
      await eventually(async () => (await status()).failures === 0 && !(await status()).behind && (await store.checkpoint('notes.v1')) === (await events.headPosition()));

      const stored = await store.getMany<Note>('notes', people);
      // Refused: the document stays as the event before made it.
      expect(stored.get(people[0])).toMatchObject(zero);
      expect(stored.get(people[2])).toMatchObject({ lastName: 'Third', changes: 2 });
      if (refusesDots) expect(stored.has(people[1])).toBe(false);
      else expect(stored.get(people[1])).toMatchObject({ lastName: 'Dotted', extra: { 'a.b': 1 } });

      const refused = refusesDots ? ['Unencodable', 'Dotted'] : ['Unencodable'];
      expect(await status()).toMatchObject({ status: 'degraded', skippedEvents: refused.length, failures: 0 });
      const letters = await store.find<ProjectionFault>({ collection: DEAD_LETTERS, where: { projection: 'notes.v1' }, orderBy: [['id', 'asc']], limit: 10 });
      expect(letters.map((l) => l.eventId).sort()).toEqual(refused.map((name) => poison.get(name)).sort());
      for (const letter of letters) {
        expect(letter).toMatchObject({ projection: 'notes.v1', generation: 1, eventType: 'UserProfileUpdated', status: 'dead' });
        expect(letter.id).toBe(`${checkpointName('notes.v1', 1)}:${letter.eventId}:notes:${letter.stream.slice('user-'.length)}`);
        expect(letter.reason).toMatch(/^DocumentRefused: notes /);
        expect(letter.reason).not.toMatch(/Unencodable|Dotted/); // what the document holds stays out of the letter
      }

      // A later event of the same person folds again, from the document as it was stored.
      const later = `Later${zero.changes}`;
      await rename(people[0], later);
      Object.assign(zero, { lastName: later, changes: zero.changes + 1 });
      await eventually(async () => (await store.getMany<Note>('notes', [people[0]])).get(people[0])?.lastName === later);
      expect((await store.getMany<Note>('notes', [people[0]])).get(people[0])).toMatchObject(zero);
    } finally {
      await runner.onApplicationShutdown();
      await store.close();
      await cleanup();
    }
  }, 60_000);
});
