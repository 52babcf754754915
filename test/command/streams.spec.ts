import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BillingEvent } from '../../domain/billing/billing';
import type { Recorded } from '../../domain/events';
import type { Decider } from '../../domain/shared/decider';
import { DomainError } from '../../domain/shared/errors';
import { EventRegistry } from '../../domain/shared/event-registry';
import { SqliteEventStore } from '../../infra/eventstore/sqlite';
import { Streams } from '../../src/shared/streams';

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
