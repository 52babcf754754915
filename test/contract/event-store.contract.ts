import { EventRegistry, type Recorded } from '../../domain/events';
import { IdempotencyMismatch, WrongExpectedVersion, type EventStore, type StoredEvent, type StoredFilter } from '../../infra/eventstore/port';
import { GENESIS, hashOf } from '../../infra/eventstore/hash-chain';
import { START, type Position } from '../../domain/shared/envelope';
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

    it('R-ROLE-8 a read from past a stream\'s end sees what this or another process appended since, and nothing a refused append tried', async () => {
      const s = `${p}tail`;
      await store.append(s, [newEvent('MemberAdded')], 'no_stream');
      expect(await store.readStream(s, 1)).toEqual([]);
      expect(await store.readStream(s, 1)).toEqual([]); // a second look, as a cached state's next load makes
      const other = await subject.another();
      try {
        // Another replica disables the member: the very next read here must return it.
        await other.append(s, [newEvent('AccessDisabled')], 0);
        expect((await store.readStream(s, 1)).map((e) => e.type)).toEqual(['AccessDisabled']);
        expect(await store.readStream(s, 2)).toEqual([]);
        await store.append(s, [newEvent('AccessEnabled')], 1);
        expect((await store.readStream(s, 2)).map((e) => e.type)).toEqual(['AccessEnabled']);
        await other.append(s, [newEvent('RoleChanged')], 2);
        expect((await store.readStream(s, 3)).map((e) => e.type)).toEqual(['RoleChanged']);
        // Refused appends leave the stream as it was: alone, and as part of a multi-stream append.
        await expect(store.append(s, [newEvent('AccessDisabled')], 1)).rejects.toBeInstanceOf(WrongExpectedVersion);
        await expect(store.appendMany([{ stream: s, events: [newEvent('AccessDisabled')], expected: 3 }, { stream: s, events: [newEvent('AccessEnabled')], expected: 'no_stream' }])).rejects.toBeInstanceOf(WrongExpectedVersion);
        expect(await store.readStream(s, 4)).toEqual([]);
        expect((await other.readStream(s)).map((e) => e.type)).toEqual(['MemberAdded', 'AccessDisabled', 'AccessEnabled', 'RoleChanged']);
        // A stream that did not exist when first read, created by the other process.
        expect(await store.readStream(`${p}later`)).toEqual([]);
        await other.append(`${p}later`, [newEvent('MemberAdded')], 'no_stream');
        expect(await store.readStream(`${p}later`)).toHaveLength(1);
      } finally {
        await other.close();
      }
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

    it('appends to several streams in one step', async () => {
      const results = await store.appendMany([
        { stream: `${p}email`, events: [newEvent('EmailReserved')], expected: 'no_stream' },
        { stream: `${p}user`, events: [newEvent('UserRegistered'), newEvent('PasswordSet')], expected: 'no_stream' },
      ]);
      expect(results.map((r) => r.version)).toEqual([0, 1]);
      // One atomic append may report the position of its last event for every stream.
      expect(results[1].position >= results[0].position).toBe(true);
      expect((await store.readStream(`${p}user`)).map((e) => e.type)).toEqual(['UserRegistered', 'PasswordSet']);
    });

    it('leaves nothing of a multi-stream append that fails half-way where the store is atomic, else exactly the streams before the failure', async () => {
      await store.append(`${p}taken`, [newEvent('EmailReserved')], 'no_stream');
      const failing = store.appendMany([
        { stream: `${p}before`, events: [newEvent('EmailReserved')], expected: 'no_stream' },
        { stream: `${p}taken`, events: [newEvent('EmailReserved')], expected: 'no_stream' },
        { stream: `${p}after`, events: [newEvent('UserRegistered')], expected: 'no_stream' },
      ]);
      await expect(failing).rejects.toBeInstanceOf(WrongExpectedVersion);
      // The command path (src/shared/streams.ts) undoes what a store that is not atomic leaves: it releases reservations, and spends one-time links last.
      expect({ atomic: store.atomicMultiStream, before: (await store.readStream(`${p}before`)).length, after: (await store.readStream(`${p}after`)).length }).toEqual({
        atomic: store.atomicMultiStream,
        before: store.atomicMultiStream ? 0 : 1,
        after: 0,
      });
      expect(await store.readStream(`${p}taken`)).toHaveLength(1);
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

    it('R-AUD-3 chains each stream by hash when appending, over the stored envelope, and the hashes read back', async () => {
      const from = await store.headPosition();
      const [a, b] = [`${p}chain-a`, `${p}chain-b`];
      const impersonated = newEvent('RoleChanged', { memberId: 'm1', role: 'Admin', note: 'é ✓ "quoted"', at: new Date(0), gone: undefined });
      impersonated.metadata = { actor: { kind: 'user', id: 'u-admin' }, realActor: { kind: 'user', id: 'u-support' }, orgId: 'org-1', correlationId: 'c-1', causationId: 'cause-1' };
      await store.append(a, [newEvent('Renamed', { name: 'Ada' }, { schemaVersion: 1 }), impersonated], 'no_stream');
      await store.appendMany([
        { stream: a, events: [newEvent('A', { n: 1.5, big: 1e21, list: [1, 'two', null] })], expected: 1 },
        { stream: b, events: [newEvent('B', {}, { metadata: { actor: testActor, correlationId: 'c-2' } })], expected: 'no_stream' },
      ]);
      await store.append(a, [newEvent('C'), newEvent('D')], 'any');

      const lines = await readStoredEverything(store, { streamPrefix: `${p}chain-` }, from);
      expect(lines.map((l) => `${l.stream.slice(p.length)}@${l.streamVersion}`)).toEqual(['chain-a@0', 'chain-a@1', 'chain-a@2', 'chain-b@0', 'chain-a@3', 'chain-a@4']);
      expectChained(lines);

      // The line is what was stored: the schema version and data before the upcast readers get, absent fields as null.
      const [renamed, role] = lines;
      expect(renamed).toMatchObject({ type: 'Renamed', schemaVersion: 1, data: { name: 'Ada' }, realActor: null, causationId: null, orgId: 'org-test', prevHash: GENESIS });
      expect((await store.readStream(a))[0]).toMatchObject({ schemaVersion: 2, data: { firstName: 'Ada' } });
      expect(role).toMatchObject({ realActor: { kind: 'user', id: 'u-support' }, causationId: 'cause-1', data: { note: 'é ✓ "quoted"', at: '1970-01-01T00:00:00.000Z' } });
      expect(role.data).not.toHaveProperty('gone');
      expect(lines.find((l) => l.stream === b)).toMatchObject({ orgId: null, prevHash: GENESIS });
      const recorded = await store.readStream(a);
      expect(lines.filter((l) => l.stream === a).map((l) => l.recordedAt)).toEqual(recorded.map((e) => e.recordedAt.toISOString()));
      for (const line of lines) expect(line.recordedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      // Another process reads the same hashes.
      const other = await subject.another();
      try {
        expect(await readStoredEverything(other, { streamPrefix: `${p}chain-` }, from)).toEqual(lines);
      } finally {
        await other.close();
      }
    });

    it('R-AUD-3 keeps each chain whole when many writers append to one stream at once', async () => {
      const s = `${p}chain-race`;
      const from = await store.headPosition();
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          for (let i = 0; i < 5; i++) await store.append(s, i % 2 ? [newEvent('X', { w, i })] : [newEvent('X', { w, i }), newEvent('Y', { w, i })], 'any');
        }),
      );
      const lines = await readStoredEverything(store, { streamPrefix: s }, from);
      expect(lines).toHaveLength(8 * 8);
      expect(lines.map((l) => l.streamVersion).sort((x, y) => x - y)).toEqual(Array.from({ length: 64 }, (_, i) => i));
      expectChained(lines);
    });

    it('R-AUD-3 a changed byte in a stored event no longer matches its hash', async () => {
      const from = await store.headPosition();
      await store.append(`${p}tamper`, [newEvent('MemberAdded', { userId: 'u1', role: 'Member' }), newEvent('RoleChanged', { role: 'Admin' })], 'no_stream');
      const [first, second] = await readStoredEverything(store, { streamPrefix: `${p}tamper` }, from);
      expect(hashOf(lineOf(first))).toBe(first.hash);
      expect(hashOf({ ...lineOf(first), data: { userId: 'u1', role: 'Membes' } })).not.toBe(first.hash);
      expect(hashOf({ ...lineOf(first), recordedAt: first.recordedAt.replace(/(.)Z$/, (_, d: string) => `${d === '9' ? '8' : '9'}Z`) })).not.toBe(first.hash);
      expect(hashOf({ ...lineOf(second), prevHash: first.hash!.replace(/^./, (c) => (c === '0' ? '1' : '0')) })).not.toBe(second.hash);
    });

    it('R-AUD-2 reads stored events of one org in a time range, from inclusive, to exclusive', async () => {
      const inOrg = (orgId: string, type: string) => newEvent(type, {}, { metadata: { actor: testActor, correlationId: 'c', orgId } });
      const org = `${p}org`;
      const from = await store.headPosition();
      await store.append(`${p}h1`, [inOrg(org, 'First')], 'no_stream');
      await new Promise((r) => setTimeout(r, 5));
      await store.append(`${p}h2`, [inOrg(`${p}other`, 'Elsewhere')], 'no_stream');
      await store.append(`${p}h3`, [inOrg(org, 'Second')], 'no_stream');
      await new Promise((r) => setTimeout(r, 5));
      await store.append(`${p}h4`, [inOrg(org, 'Third')], 'no_stream');
      const all = await readStoredEverything(store, { orgId: org }, from);
      expect(all.map((l) => l.type)).toEqual(['First', 'Second', 'Third']);
      const [, second, third] = all;
      const ranged = await readStoredEverything(store, { orgId: org, recordedFrom: new Date(second.recordedAt), recordedBefore: new Date(third.recordedAt) }, from);
      expect(ranged.map((l) => l.type)).toEqual(['Second']);
      expect(await readStoredEverything(store, { orgId: org, types: ['Third'] }, from)).toEqual([third]);
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

/** From `from` on (a shared EventStoreDB server holds every earlier run's events). */
async function readStoredEverything(store: EventStore, filter: StoredFilter, from: Position = START): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  let at = from;
  for (;;) {
    const { events, next } = await store.readStored(at, { limit: 500, filter });
    out.push(...events);
    if (events.length < 500) return out;
    at = next;
  }
}

function lineOf(event: StoredEvent): StoredEvent & { prevHash: string } {
  if (event.prevHash === null) throw new Error(`${event.eventId} has no prevHash`);
  return { ...event, prevHash: event.prevHash };
}

/** Every stream starts at GENESIS, each prevHash is the hash before it, each hash is its line's. */
function expectChained(lines: StoredEvent[]): void {
  const byStream = new Map<string, StoredEvent[]>();
  for (const line of lines) byStream.set(line.stream, [...(byStream.get(line.stream) ?? []), line]);
  for (const events of byStream.values()) {
    events.sort((x, y) => x.streamVersion - y.streamVersion);
    events.forEach((line, i) => {
      expect({ at: `${line.stream}@${line.streamVersion}`, prevHash: line.prevHash }).toEqual({ at: `${line.stream}@${line.streamVersion}`, prevHash: i === 0 ? GENESIS : events[i - 1].hash });
      expect(line.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(hashOf(lineOf(line))).toBe(line.hash);
    });
  }
}

function expectIncreasing(positions: Position[]): void {
  for (let i = 1; i < positions.length; i++) {
    if (!(positions[i] > positions[i - 1])) throw new Error(`position ${positions[i]} after ${positions[i - 1]} at ${i}`);
  }
}
