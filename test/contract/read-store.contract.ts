import type { ReadStore } from '../../infra/readstore/port';
import { fold } from '../../projections/projection';

interface Person {
  id: string;
  orgId: string;
  nameKey: string;
  emailKey: string;
  joinedAt: string;
  active: boolean;
  score: number;
  tags: string[];
}

const people: Person[] = [
  ['p1', 'o1', 'Ana Álvarez', 'ana@x.io', '2026-01-03', true, 3],
  ['p2', 'o1', 'Bob Baker', 'bob@x.io', '2026-01-01', false, 1],
  ['p3', 'o1', 'Zoë Ångström', 'zoe@x.io', '2026-01-02', true, 2],
  ['p4', 'o1', 'Ana Abel', 'abel@x.io', '2026-01-02', true, 5],
  ['p5', 'o2', 'Ana Other', 'other@x.io', '2026-01-01', true, 4],
  ['p6', 'o1', 'Ana 🦊 Fox', 'fox@x.io', '2026-01-05', true, 6],
].map(([id, orgId, name, email, joinedAt, active, score]) => ({
  id: id as string,
  orgId: orgId as string,
  nameKey: fold(name as string),
  emailKey: email as string,
  joinedAt: joinedAt as string,
  active: active as boolean,
  score: score as number,
  tags: ['t'],
}));

/** The read store port's contract: the same queries answer the same on every adapter. */
export function readStoreContract(name: string, open: () => Promise<{ store: ReadStore; close(): Promise<void> }>): void {
  describe(`ReadStore contract: ${name}`, () => {
    let store: ReadStore;
    let close: () => Promise<void>;
    const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id);

    beforeAll(async () => {
      ({ store, close } = await open());
      await store.ensureIndexes([{ collection: 'people', fields: ['orgId', 'nameKey', 'id'] }]);
      await store.write({ puts: people.map((doc) => ({ collection: 'people', doc })), deletes: [] }, { projection: 'contract', position: 42n });
    });
    afterAll(() => close?.());

    it('stores documents whole and reads them back by id, with the checkpoint written beside them', async () => {
      const found = await store.getMany<Person>('people', ['p1', 'p3', 'missing']);
      expect([...found.keys()].sort()).toEqual(['p1', 'p3']);
      expect(found.get('p3')).toEqual(people[2]);
      expect(await store.checkpoint('contract')).toBe(42n);
      expect(await store.checkpoint('never-ran')).toBe(0n);
    });

    it('filters by equality, booleans, lists of values and bounds', async () => {
      const q = (where: Record<string, any>) => store.find<Person>({ collection: 'people', where, orderBy: [['id', 'asc']], limit: 100 });
      expect(ids(await q({ orgId: 'o1', active: false }))).toEqual(['p2']);
      expect(ids(await q({ orgId: { in: ['o2'] } }))).toEqual(['p5']);
      expect(ids(await q({ score: { gt: 4 } }))).toEqual(['p4', 'p6']);
      expect(ids(await q({ joinedAt: { lt: '2026-01-02' } }))).toEqual(['p2', 'p5']);
      expect(await store.count('people', { orgId: 'o1', active: true })).toBe(4);
    });

    it('matches text prefixes on precomputed folded keys, including characters beyond the basic plane', async () => {
      const q = (prefix: string) => store.find<Person>({ collection: 'people', where: { orgId: 'o1', nameKey: { prefix } }, orderBy: [['nameKey', 'asc'], ['id', 'asc']], limit: 100 });
      expect(ids(await q(fold('ANA')))).toEqual(['p4', 'p1', 'p6']); // byte order: the fox (U+1F98A) sorts after letters
      expect(ids(await q(fold('zoe ang')))).toEqual(['p3']);
      expect(ids(await q('ana 🦊'))).toEqual(['p6']);
      expect(ids(await q('q'))).toEqual([]);
    });

    it('matches any of several conditions', async () => {
      const rows = await store.find<Person>({ collection: 'people', where: { orgId: 'o1' }, anyOf: [{ nameKey: { prefix: 'bob' } }, { emailKey: { prefix: 'zoe' } }], orderBy: [['id', 'asc']], limit: 10 });
      expect(ids(rows)).toEqual(['p2', 'p3']);
    });

    it('pages in a stable total order with keyset cursors, ascending and descending', async () => {
      for (const direction of ['asc', 'desc'] as const) {
        const orderBy: Array<[string, 'asc' | 'desc']> = [['joinedAt', direction], ['id', direction]];
        const all = ids(await store.find<Person>({ collection: 'people', where: { orgId: 'o1' }, orderBy, limit: 100 }));
        const paged: string[] = [];
        let after: Array<string | number> | undefined;
        for (;;) {
          const page = await store.find<Person>({ collection: 'people', where: { orgId: 'o1' }, orderBy, limit: 2, after });
          paged.push(...ids(page));
          if (page.length < 2) break;
          const last = page[page.length - 1];
          after = [last.joinedAt, last.id];
        }
        expect(paged).toEqual(all);
        expect(all).toEqual(direction === 'asc' ? ['p2', 'p3', 'p4', 'p1', 'p6'] : ['p6', 'p1', 'p4', 'p3', 'p2']);
      }
    });

    it('replaces and deletes documents, and resets a projection', async () => {
      await store.write({ puts: [{ collection: 'people', doc: { ...people[0], active: false } as Person }], deletes: [{ collection: 'people', id: 'p2' }] }, { projection: 'contract', position: 43n });
      expect((await store.getMany<Person>('people', ['p1'])).get('p1')!.active).toBe(false);
      expect((await store.getMany('people', ['p2'])).size).toBe(0);
      expect(await store.checkpoint('contract')).toBe(43n);
      await store.reset('contract', ['people']);
      expect(await store.count('people', {})).toBe(0);
      expect(await store.checkpoint('contract')).toBe(0n);
    });
  });
}
