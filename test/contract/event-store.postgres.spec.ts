import { PostgresEventStore } from '../../infra/eventstore/postgres';
import { createTestDatabase } from '../rig/postgres';
import { newEvent } from '../support/events';
import { contractRegistry, eventStoreContract } from './event-store.contract';

eventStoreContract('postgres', async () => {
  const db = await createTestDatabase();
  const store = new PostgresEventStore({ url: db.url, registry: contractRegistry(), poolSize: 20 });
  await store.init();
  return {
    store,
    another: async () => {
      const other = new PostgresEventStore({ url: db.url, registry: contractRegistry(), poolSize: 2 });
      await other.init();
      return other;
    },
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
});

describe('PostgreSQL global order under an open transaction', () => {
  it('does not hand out a later commit while an earlier writer is still open, then delivers both in order', async () => {
    const { Client } = await import('pg');
    const db = await createTestDatabase();
    const store = new PostgresEventStore({ url: db.url, registry: contractRegistry() });
    await store.init();
    const slow = new Client({ connectionString: db.url });
    await slow.connect();
    try {
      // The slow writer takes its transaction id (and so its position) first but commits last.
      await slow.query('BEGIN');
      await slow.query('SELECT pg_current_xact_id()');
      await slow.query(`SELECT * FROM gatehouse_append('slow', -2, 0, now(), $1)`, [
        JSON.stringify([{ eventId: 'slow-1', type: 'Slow', schemaVersion: 1, orgId: null, metadata: { actor: { kind: 'system', id: 't' }, correlationId: 'c' }, data: {} }]),
      ]);
      const fast = await store.append('fast', [newEvent('Fast')], 'no_stream');

      const early = await store.readAll(0n);
      expect(early.events).toEqual([]); // a naive "ORDER BY position" reader would return Fast here and skip Slow later
      expect(early.next < fast.position).toBe(true);

      await slow.query('COMMIT');
      const late = await store.readAll(early.next);
      expect(late.events.map((e) => e.type)).toEqual(['Slow', 'Fast']);
    } finally {
      await slow.end();
      await store.close();
      await db.drop();
    }
  });
});
