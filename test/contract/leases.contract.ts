import { overlaps, type Leases } from '../../infra/leases/port';

export interface LeasesUnderTest {
  leases: Leases;
  /** Another handle on the same store, as another replica would have. */
  another(): Promise<Leases>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The lease port's contract (issue 13): one holder at a time, taken over once a term ends, a fencing token per holder. */
export function leasesContract(name: string, open: () => Promise<LeasesUnderTest>): void {
  describe(`Leases contract: ${name}`, () => {
    let subject: LeasesUnderTest;
    let n = 0;
    const lease = () => `lease-${++n}`;

    beforeAll(async () => {
      subject = await open();
    }, 60_000);
    afterAll(() => subject?.close());

    it('the first holder gets token 1; another is refused while the term runs; a renewal keeps the token and moves the end', async () => {
      const { leases } = subject;
      const l = lease();
      const first = await leases.acquire(l, 'a', 5_000);
      expect(first).toMatchObject({ name: l, holder: 'a', token: 1 });
      expect(await leases.acquire(l, 'b', 5_000)).toBeUndefined();
      await sleep(20);
      const renewed = await leases.acquire(l, 'a', 5_000);
      expect(renewed).toMatchObject({ holder: 'a', token: 1 });
      expect(renewed!.acquiredAt.getTime()).toBe(first!.acquiredAt.getTime());
      expect(renewed!.until.getTime()).toBeGreaterThan(first!.until.getTime());
    });

    it('once a term has run out another holder takes over with the next token, and the old holder cannot renew', async () => {
      const { leases } = subject;
      const l = lease();
      await leases.acquire(l, 'a', 150);
      await sleep(300);
      expect(await leases.acquire(l, 'b', 5_000)).toMatchObject({ holder: 'b', token: 2 });
      expect(await leases.acquire(l, 'a', 5_000)).toBeUndefined();
      const terms = await leases.history(l);
      expect(terms.map((t) => [t.holder, t.token])).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
      expect(overlaps(terms)).toEqual([]);
    });

    it('a released lease is taken at once; releasing one held by another does nothing', async () => {
      const { leases } = subject;
      const l = lease();
      await leases.acquire(l, 'a', 60_000);
      await leases.release(l, 'b');
      expect(await leases.acquire(l, 'b', 60_000)).toBeUndefined();
      await leases.release(l, 'a');
      expect(await leases.acquire(l, 'b', 60_000)).toMatchObject({ holder: 'b', token: 2 });
      expect(overlaps(await leases.history(l))).toEqual([]);
    });

    it('of replicas racing for a free lease exactly one wins, again after each term ends; no two terms overlap', async () => {
      const others = await Promise.all(Array.from({ length: 4 }, () => subject.another()));
      try {
        const l = lease();
        for (let round = 0; round < 3; round++) {
          const won = await Promise.all(others.flatMap((leases, i) => [leases.acquire(l, `r${i}`, 200), leases.acquire(l, `r${i}`, 200)]));
          const holders = new Set(won.filter((g) => g !== undefined).map((g) => g!.holder));
          expect(holders.size).toBe(1);
          await sleep(300);
        }
        // A holder that wins again after its own term ran out keeps its token; each new holder takes the next.
        const terms = await subject.leases.history(l);
        expect(terms.map((t) => t.token)).toEqual(terms.map((_, i) => i + 1));
        expect(overlaps(terms)).toEqual([]);
      } finally {
        await Promise.all(others.map((o) => o.close()));
      }
    });

    it('the terms are kept with how far each was renewed', async () => {
      const { leases } = subject;
      const l = lease();
      await leases.acquire(l, 'a', 1_000);
      const last = await leases.acquire(l, 'a', 2_000);
      const [term] = await leases.history(l);
      expect(term.until.getTime()).toBe(last!.until.getTime());
    });
  });
}
