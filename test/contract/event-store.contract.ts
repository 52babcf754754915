import { EventRegistry } from '../../domain/shared/event-registry';
import { IdempotencyMismatch, WrongExpectedVersion, type EventStore } from '../../infra/eventstore/port';
import { START, type Position } from '../../domain/shared/envelope';
import type { Recorded } from '../../domain/events';
import { newEvent, testActor, uniquePrefix } from '../support/events';

export interface StoreUnderTest {
  store: EventStore;
  /** A second adapter instance on the same storage: another process of the same deployment. */
  another(): Promise<EventStore>;
  close(): Promise<void>;
}

/** A registry with one upcast event type, as the contract's tests need it. */
export function contractRegistry(): EventRegistry {
  return new EventRegistry().register('Renamed', 2, { 1: (d: { name: string }) => ({ firstName: d.name, lastName: '' }) });
}

async function waitFor(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The event store port's contract. Every test works inside its own stream
 * prefix, so the suite also runs against a shared server (EventStoreDB).
 */
export function eventStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`EventStore contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: EventStore;
    let p: string;

    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });
    afterAll(() => subject?.close());
    beforeEach(() => {
      p = uniquePrefix();
    });

    it('R-AUD-1 appends to a new stream and reads back the full envelope', async () => {
      const event = newEvent('MemberAdded', { userId: 'u1' }, {});
      event.metadata = {
        actor: { kind: 'user', id: 'u-admin' },
        realActor: { kind: 'user', id: 'u-support' },
        orgId: 'org-1',
        correlationId: 'corr-1',
        causationId: 'cause-1',
      };
      const result = await store.append(`${p}member-1`, [event], 'no_stream');
      expect(result.version).toBe(0);
      const [read] = await store.readStream(`${p}member-1`);
      expect(read).toMatchObject({
        eventId: event.eventId,
        type: 'MemberAdded',
        schemaVersion: 1,
        stream: `${p}member-1`,
        streamVersion: 0,
        position: result.position,
        actor: { kind: 'user', id: 'u-admin' },
        realActor: { kind: 'user', id: 'u-support' },
        orgId: 'org-1',
        correlationId: 'corr-1',
        causationId: 'cause-1',
        data: { userId: 'u1' },
      });
      expect(read.recordedAt).toBeInstanceOf(Date);
      expect(typeof read.position).toBe('bigint');
    });

    it('detects conflicts: no_stream on an existing stream, a stale exact version', async () => {
      const s = `${p}org`;
      await store.append(s, [newEvent('A'), newEvent('B')], 'no_stream');
      await expect(store.append(s, [newEvent('C')], 'no_stream')).rejects.toBeInstanceOf(WrongExpectedVersion);
      await expect(store.append(s, [newEvent('C')], 0)).rejects.toMatchObject({ code: 'wrong_expected_version', actual: 1 });
      await expect(store.append(`${p}missing`, [newEvent('C')], 3)).rejects.toMatchObject({ actual: 'no_stream' });
      const ok = await store.append(s, [newEvent('C')], 1);
      expect(ok.version).toBe(2);
      const any = await store.append(s, [newEvent('D')], 'any');
      expect(any.version).toBe(3);
      expect((await store.readStream(s)).map((e) => e.type)).toEqual(['A', 'B', 'C', 'D']);
    });

    it('lets exactly one of many racing writers with the same expected version win', async () => {
      const s = `${p}race`;
      await store.append(s, [newEvent('Created')], 'no_stream');
      const outcomes = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) => store.append(s, [newEvent('Raced', { i })], 0)),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const losers = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(losers).toHaveLength(15);
      for (const loser of losers) expect(loser.reason).toBeInstanceOf(WrongExpectedVersion);
      expect(await store.readStream(s)).toHaveLength(2);
    });

    it('treats appending the same event ids again as a no-op returning the first result', async () => {
      const s = `${p}retry`;
      const batch = [newEvent('A'), newEvent('B')];
      const first = await store.append(s, batch, 'no_stream');
      const again = await store.append(s, batch, 'no_stream');
      expect(again).toEqual(first);
      const concurrent = await Promise.all([store.append(`${p}retry2`, batch.map((e) => ({ ...e, eventId: e.eventId + 'x' })), 'any'), store.append(`${p}retry2`, batch.map((e) => ({ ...e, eventId: e.eventId + 'x' })), 'any')]);
      expect(concurrent[0]).toEqual(concurrent[1]);
      expect(await store.readStream(s)).toHaveLength(2);
      expect(await store.readStream(`${p}retry2`)).toHaveLength(2);
      await expect(store.append(`${p}elsewhere`, batch, 'any')).rejects.toBeInstanceOf(IdempotencyMismatch);
    });

    it('recognises a retried append from another process (a fresh adapter), with each kind of expectation', async () => {
      const other = await subject.another();
      try {
        for (const [kind, expected, then] of [
          ['no_stream', 'no_stream', 'no_stream'],
          ['exact', 0, 0],
          ['any', 'any', 'any'],
        ] as const) {
          const s = `${p}fresh-${kind}`;
          if (kind === 'exact') await store.append(s, [newEvent('First')], 'no_stream');
          const batch = [newEvent('A'), newEvent('B')];
          const first = await store.append(s, batch, expected);
          // The retry comes from a process that never saw the first append.
          expect({ kind, result: await other.append(s, batch, then) }).toEqual({ kind, result: first });
          expect({ kind, events: (await store.readStream(s)).length }).toEqual({ kind, events: kind === 'exact' ? 3 : 2 });
        }
      } finally {
        await other.close();
      }
    });

    it('gives an event the same position in its stream as in the log', async () => {
      const from = await store.headPosition();
      await store.append(`${p}pos-a`, [newEvent('A'), newEvent('B')], 'no_stream');
      await store.append(`${p}pos-b`, [newEvent('C')], 'no_stream');
      const inStreams = [...(await store.readStream(`${p}pos-a`)), ...(await store.readStream(`${p}pos-b`))];
      const inLog = (await store.readAll(from, { filter: { streamPrefix: `${p}pos-` }, limit: 100 })).events;
      expect(inStreams.map((e) => [e.eventId, e.position])).toEqual(inLog.map((e) => [e.eventId, e.position]));
      for (const e of inStreams) expect(e.position > 0n).toBe(true);
    });

    it('reads a stream from a version', async () => {
      const s = `${p}s`;
      await store.append(s, [newEvent('A'), newEvent('B'), newEvent('C')], 'no_stream');
      expect((await store.readStream(s, 1)).map((e) => e.type)).toEqual(['B', 'C']);
      expect(await store.readStream(`${p}none`)).toEqual([]);
    });

    it('upcasts old event versions on read without rewriting them', async () => {
      const s = `${p}up`;
      await store.append(s, [newEvent('Renamed', { name: 'Ada' }, { schemaVersion: 1 })], 'no_stream');
      await store.append(s, [newEvent('Renamed', { firstName: 'Grace', lastName: 'Hopper' })], 0);
      const [old, current] = await store.readStream(s);
      expect(old).toMatchObject({ schemaVersion: 2, data: { firstName: 'Ada', lastName: '' } });
      expect(current).toMatchObject({ schemaVersion: 2, data: { firstName: 'Grace', lastName: 'Hopper' } });
    });

    it('reads the log in global order, filtered by stream prefix or type, resuming past skipped events', async () => {
      const from = await store.headPosition();
      await store.append(`${p}a`, [newEvent('X'), newEvent('Y')], 'no_stream');
      await store.append(`${p}b`, [newEvent('X')], 'no_stream');
      await store.append(`${p}a`, [newEvent('Z')], 1);
      const all = await store.readAll(from, { filter: { streamPrefix: p }, limit: 100 });
      expect(all.events.map((e) => `${e.stream.slice(p.length)}:${e.type}`)).toEqual(['a:X', 'a:Y', 'b:X', 'a:Z']);
      expectIncreasing(all.events.map((e) => e.position));

      const paged = await store.readAll(from, { filter: { streamPrefix: p }, limit: 2 });
      expect(paged.events).toHaveLength(2);
      expect(paged.next).toBe(paged.events[1].position);

      const xs = await store.readAll(from, { filter: { streamPrefix: p, types: ['X'] }, limit: 100 });
      expect(xs.events.map((e) => e.stream.slice(p.length))).toEqual(['a', 'b']);
      expect(xs.next >= all.events[3].position).toBe(true);
      const after = await store.readAll(xs.next, { filter: { streamPrefix: p, types: ['X'] }, limit: 100 });
      expect(after.events).toEqual([]);

      const unfiltered = await store.readAll(from, { limit: 100_000 });
      const mine = unfiltered.events.filter((e) => e.stream.startsWith(p));
      expect(mine.map((e) => e.eventId)).toEqual(all.events.map((e) => e.eventId));
      expect((await store.headPosition()) >= all.events[3].position).toBe(true);
    });

    it('appends to several streams in one step (all or nothing where the store is atomic)', async () => {
      const results = await store.appendMany([
        { stream: `${p}email`, events: [newEvent('EmailReserved')], expected: 'no_stream' },
        { stream: `${p}user`, events: [newEvent('UserRegistered'), newEvent('PasswordSet')], expected: 'no_stream' },
      ]);
      expect(results.map((r) => r.version)).toEqual([0, 1]);
      expect(results[1].position > results[0].position).toBe(true);
      if (!store.atomicMultiStream) return;
      await expect(
        store.appendMany([
          { stream: `${p}other`, events: [newEvent('UserRegistered')], expected: 'no_stream' },
          { stream: `${p}email`, events: [newEvent('EmailReserved')], expected: 'no_stream' },
        ]),
      ).rejects.toBeInstanceOf(WrongExpectedVersion);
      expect(await store.readStream(`${p}other`)).toEqual([]);
    });

    it('keeps global order with no skipped or repeated event under 16 concurrent writers and a live subscriber', async () => {
      const from = await store.headPosition();
      const seen: Recorded[] = [];
      const subscription = store.subscribe((events) => void seen.push(...events), {
        from,
        filter: { streamPrefix: p },
        batchSize: 97,
      });
      await subscription.caughtUp;
      const writers = 16;
      const appendsPerWriter = 40;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < appendsPerWriter; i++) {
            const events = i % 5 === 0 ? [newEvent('Batch', { w, i }), newEvent('Batch', { w, i })] : [newEvent('One', { w, i })];
            await store.append(`${p}writer-${w}`, events, i === 0 ? 'no_stream' : 'any');
          }
        }),
      );
      const expected = writers * (appendsPerWriter + appendsPerWriter / 5);
      await waitFor(() => seen.length >= expected);
      await subscription.stop();
      expect(seen).toHaveLength(expected);
      expect(new Set(seen.map((e) => e.eventId)).size).toBe(expected);
      expectIncreasing(seen.map((e) => e.position));
      const logged = await readEverything(store, from, p);
      expect(seen.map((e) => e.eventId)).toEqual(logged.map((e) => e.eventId));
    });

    it('catches up from a checkpoint, then stays live, with no gap and no duplicate', async () => {
      const from = await store.headPosition();
      for (let i = 0; i < 50; i++) await store.append(`${p}live`, [newEvent('Before', { i })], 'any');
      const seen: Recorded[] = [];
      let checkpoint: Position = START;
      const subscription = store.subscribe(
        (events, at) => {
          seen.push(...events);
          checkpoint = at;
        },
        { from, filter: { streamPrefix: p }, batchSize: 7 },
      );
      await subscription.caughtUp;
      expect(seen).toHaveLength(50);
      for (let i = 0; i < 50; i++) await store.append(`${p}live`, [newEvent('After', { i })], 'any');
      await waitFor(() => seen.length >= 100);
      await subscription.stop();
      expect(seen.map((e) => e.streamVersion)).toEqual(Array.from({ length: 100 }, (_, i) => i));

      // Resuming from a checkpoint in the middle delivers exactly what came after it.
      const resumed: Recorded[] = [];
      const second = store.subscribe((events) => void resumed.push(...events), {
        from: seen[59].position,
        filter: { streamPrefix: p },
      });
      await second.caughtUp;
      await second.stop();
      expect(resumed.map((e) => e.streamVersion)).toEqual(Array.from({ length: 40 }, (_, i) => 60 + i));
      expect(checkpoint >= seen[99].position).toBe(true);
    });

    it('filters a subscription by event type', async () => {
      const from = await store.headPosition();
      await store.append(`${p}f`, [newEvent('Wanted'), newEvent('Other'), newEvent('Wanted')], 'no_stream');
      const seen: Recorded[] = [];
      const subscription = store.subscribe((events) => void seen.push(...events), {
        from,
        filter: { types: ['Wanted'], streamPrefix: p },
      });
      await subscription.caughtUp;
      await subscription.stop();
      expect(seen.map((e) => e.type)).toEqual(['Wanted', 'Wanted']);
    });

    it('stops a subscription whose handler fails and reports the error', async () => {
      await store.append(`${p}boom`, [newEvent('A')], 'no_stream');
      const errors: unknown[] = [];
      const subscription = store.subscribe(
        () => {
          throw new Error('projection bug');
        },
        { from: START, filter: { streamPrefix: p }, onError: (e) => errors.push(e) },
      );
      await expect(subscription.caughtUp).rejects.toThrow('projection bug');
      await subscription.stop();
      expect(errors).toHaveLength(1);
    });

    it('reads 100 000 events back in order', async () => {
      const from = await store.headPosition();
      const perAppend = 1000;
      for (let i = 0; i < 100; i++) {
        await store.append(
          `${p}bulk-${i % 10}`,
          Array.from({ length: perAppend }, (_, j) => newEvent('Bulk', { n: i * perAppend + j })),
          'any',
        );
      }
      const events = await readEverything(store, from, p);
      expect(events).toHaveLength(100_000);
      expect(events.map((e) => (e.data as unknown as { n: number }).n)).toEqual(Array.from({ length: 100_000 }, (_, i) => i));
      expectIncreasing(events.map((e) => e.position));
      expect(events[0].actor).toEqual(testActor);
    }, 180_000);
  });
}

async function readEverything(store: EventStore, from: Position, prefix: string): Promise<Recorded[]> {
  const out: Recorded[] = [];
  let at = from;
  for (;;) {
    const { events, next } = await store.readAll(at, { limit: 5000, filter: { streamPrefix: prefix } });
    out.push(...events);
    if (events.length < 5000) return out;
    at = next;
  }
}

function expectIncreasing(positions: Position[]): void {
  for (let i = 1; i < positions.length; i++) {
    if (!(positions[i] > positions[i - 1])) throw new Error(`position ${positions[i]} after ${positions[i - 1]} at ${i}`);
  }
}
