import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BillingEvent } from '../../domain/billing/billing';
import { type Recorded, EventRegistry, eventRegistry } from '../../domain/events';
import type { Decider } from '../../domain/shared/decider';
import { DomainError } from '../../domain/shared/errors';
import { SqliteEventStore } from '../../infra/eventstore/sqlite';
import { Streams } from '../../src/shared/streams';
import { link as linkDecider, linkStream } from '../../domain/link/link';
import { emailReservation, emailStream, user, userStream } from '../../domain/user/user';
import type { AppendRequest, EventStore } from '../../infra/eventstore/port';

/** A counter (seats, as it happens) that refuses to pass 1000, so decisions really depend on the folded state. */
const counted = (n: number): BillingEvent => ({ type: 'SeatQuantityUpdated', data: { orgId: 'o', subscriptionItemId: 'si', quantity: n, previousQuantity: n - 1, causedBy: 'test' } });
const counter: Decider<{ n: number }, { type: 'Count' }, BillingEvent> = {
  initialState: () => ({ n: 0 }),
  decide: (state) => {
    if (state.n >= 1000) throw new DomainError('too_many_requests');
    return [counted(state.n + 1)];
  },
  evolve: (_state, event) => ({ n: event.data.quantity }),
};
const countOf = (e: Recorded) => (e.type === 'SeatQuantityUpdated' ? e.data.quantity : NaN);

const meta = { actor: { kind: 'system' as const, id: 'test' }, correlationId: 'c' };

describe('the command path (load, decide, append with expected version, retry on conflict)', () => {
  let dir: string;
  let store: SqliteEventStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-streams-'));
    store = new SqliteEventStore({ file: join(dir, 'e.db'), registry: new EventRegistry(), synchronous: 'normal' });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('decides on the folded state and appends with the version it decided on', async () => {
    const streams = new Streams(store);
    for (let i = 0; i < 3; i++) await streams.handle('counter-1', counter, { type: 'Count' }, { now: new Date(), actor: meta.actor }, meta);
    expect((await store.readStream('counter-1')).map(countOf)).toEqual([1, 2, 3]);
  });

  it('retries when another process appended in between, so no decision is made on stale state', async () => {
    // Two command paths with separate caches over one store stand for two Gatehouse processes.
    const a = new Streams(store);
    const b = new Streams(store);
    await a.handle('counter-1', counter, { type: 'Count' }, { now: new Date(), actor: meta.actor }, meta);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).handle('counter-1', counter, { type: 'Count' }, { now: new Date(), actor: meta.actor }, meta)),
    );
    const counts = (await store.readStream('counter-1')).map(countOf);
    expect(counts).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });

  it('gives up after a bounded number of conflicts', async () => {
    const streams = new Streams(store);
    let attempts = 0;
    const rival = new Streams(store);
    await expect(
      streams.retrying(async () => {
        attempts++;
        const loaded = await streams.load('counter-2', counter);
        await rival.handle('counter-2', counter, { type: 'Count' }, { now: new Date(), actor: meta.actor }, meta); // always first
        return streams.commit([{ from: loaded, events: counter.decide(loaded.state, { type: 'Count' }, { now: new Date(), actor: meta.actor }) }], meta);
      }),
    ).rejects.toMatchObject({ code: 'wrong_expected_version' });
    expect(attempts).toBe(5);
  });

  it('passes a rejection through as it is, appending nothing', async () => {
    const streams = new Streams(store);
    await store.append('counter-3', [{ eventId: 'e', ...counted(1000), metadata: meta }], 'no_stream');
    await expect(streams.handle('counter-3', counter, { type: 'Count' }, { now: new Date(), actor: meta.actor }, meta)).rejects.toMatchObject({ code: 'too_many_requests' });
    expect(await store.readStream('counter-3')).toHaveLength(1);
  });
});

/**
 * A store that appends stream by stream, as EventStoreDB before KurrentDB 25.1 does:
 * the real SQLite store underneath, with appendMany taken one request at a time and
 * one stream made to fail, as a lost connection would (issue 14, item 1).
 */
function streamByStream(store: SqliteEventStore, failing: (stream: string) => boolean): EventStore {
  return Object.assign(Object.create(store) as EventStore, {
    atomicMultiStream: false,
    async appendMany(requests: AppendRequest[]) {
      const results = [];
      for (const r of requests) {
        if (failing(r.stream)) throw new Error(`connection lost while appending to ${r.stream}`);
        results.push(await store.append(r.stream, r.events, r.expected));
      }
      return results;
    },
  });
}

describe('a command over several streams on a store that is not atomic across them', () => {
  let dir: string;
  let store: SqliteEventStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-streams-'));
    store = new SqliteEventStore({ file: join(dir, 'e.db'), registry: eventRegistry(), synchronous: 'normal' });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('releases the reservation it made when the rest fails, so a retry finds the email free (no ghost account)', async () => {
    const streams = new Streams(streamByStream(store, (s) => s.startsWith('user-')));
    const reservation = await streams.load(emailStream('hash-of-ada'), emailReservation);
    const account = await streams.load(userStream('u-ghost'), user);
    const context = { now: new Date(), actor: meta.actor };
    const changes = [
      { from: reservation, events: emailReservation.decide(reservation.state, { type: 'Reserve', userId: 'u-ghost' }, context) },
      { from: account, events: user.decide(account.state, { type: 'RegisterUser', userId: 'u-ghost', email: 'ada@example.com', firstName: 'Ada', lastName: 'L' }, context) },
    ];
    await expect(streams.commit(changes, meta)).rejects.toThrow('connection lost');
    expect((await store.readStream(emailStream('hash-of-ada'))).map((e) => e.type)).toEqual(['EmailReserved', 'EmailReleased']);
    expect(await store.readStream(userStream('u-ghost'))).toEqual([]);
    // A second try (another id) reserves the email: nobody holds it.
    const fresh = new Streams(store);
    const again = await fresh.load(emailStream('hash-of-ada'), emailReservation);
    expect(again.state.userId).toBeUndefined();
    expect(emailReservation.decide(again.state, { type: 'Reserve', userId: 'u-real' }, context)).toEqual([{ type: 'EmailReserved', data: { userId: 'u-real' } }]);
  });

  it('spends a one-time link last, so a failure before it leaves the link usable', async () => {
    const streams = new Streams(streamByStream(store, (s) => s.startsWith('session-')));
    const link = await streams.load(linkStream('token-hash'), linkDecider);
    const context = { now: new Date(), actor: meta.actor };
    await streams.commit([{ from: link, events: linkDecider.decide(link.state, { type: 'IssueLink', purpose: 'magic-link', userId: 'u-1' }, context) }], meta);
    const issued = await streams.load(linkStream('token-hash'), linkDecider);
    const session = await streams.load('session-abc', user);
    const changes = [
      { from: issued, events: linkDecider.decide(issued.state, { type: 'UseLink', purposes: ['magic-link'] }, context) },
      { from: session, events: [{ type: 'SessionsRevoked' as const, data: { userId: 'u-1', at: context.now.toISOString(), reason: 'test' } }] },
    ];
    await expect(streams.commit(changes, meta)).rejects.toThrow('connection lost');
    expect((await store.readStream(linkStream('token-hash'))).map((e) => e.type)).toEqual(['LinkIssued']);
  });
});
