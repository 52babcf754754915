import { PostgresEventStore } from '../../infra/eventstore/postgres';
import { eventRegistry } from '../../domain/events';
import { createTestDatabase } from '../rig/postgres';
import { newEvent } from '../support/events';
import { verifyStore } from '../../src/audit/verify';

/** The schema as it was before the hash chain (issue 15): what an existing database holds. */
const BEFORE_THE_CHAIN = `
CREATE TABLE IF NOT EXISTS gatehouse_events (
  position       bigint      PRIMARY KEY,
  event_id       text        NOT NULL UNIQUE,
  stream         text        NOT NULL,
  stream_version integer     NOT NULL,
  type           text        NOT NULL,
  schema_version integer     NOT NULL,
  recorded_at    timestamptz NOT NULL,
  org_id         text,
  metadata       jsonb       NOT NULL,
  data           jsonb       NOT NULL,
  UNIQUE (stream, stream_version)
);
CREATE INDEX IF NOT EXISTS gatehouse_events_org ON gatehouse_events (org_id, position) WHERE org_id IS NOT NULL;

-- One round trip per append: retry detection, version check and insert.
-- p_expected: -2 any, -1 no stream, n exact. Returns (version, position) or raises GH409.
CREATE OR REPLACE FUNCTION gatehouse_append(
  p_stream text, p_expected integer, p_offset integer, p_recorded_at timestamptz, p_events jsonb
) RETURNS TABLE (version integer, "position" bigint, replayed boolean) LANGUAGE plpgsql AS $$
DECLARE
  current_version integer;
  base bigint;
  n integer := jsonb_array_length(p_events);
BEGIN
  IF EXISTS (SELECT 1 FROM gatehouse_events e WHERE e.event_id = p_events->0->>'eventId') THEN
    RETURN QUERY SELECT -1, 0::bigint, true;
    RETURN;
  END IF;
  SELECT max(e.stream_version) INTO current_version FROM gatehouse_events e WHERE e.stream = p_stream;
  current_version := coalesce(current_version, -1);
  IF (p_expected = -1 AND current_version <> -1) OR (p_expected >= 0 AND current_version <> p_expected) THEN
    RAISE EXCEPTION USING ERRCODE = 'GH409', MESSAGE = current_version::text;
  END IF;
  base := (pg_current_xact_id()::text::bigint << 20) + p_offset;
  INSERT INTO gatehouse_events (position, event_id, stream, stream_version, type, schema_version, recorded_at, org_id, metadata, data)
  SELECT base + t.ord, t.e->>'eventId', p_stream, current_version + t.ord::integer, t.e->>'type',
         (t.e->>'schemaVersion')::integer, p_recorded_at, t.e->>'orgId', t.e->'metadata', t.e->'data'
  FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, ord);
  RETURN QUERY SELECT current_version + n, base + n, false;
END $$;
`;

describe('R-AUD-3 a PostgreSQL database from before the hash chain', () => {
  it('gets its columns and its events chained once when the new version starts, and verify says when', async () => {
    const { Client } = await import('pg');
    const db = await createTestDatabase();
    const legacy = new Client({ connectionString: db.url });
    await legacy.connect();
    try {
      await legacy.query(BEFORE_THE_CHAIN);
      for (let i = 0; i < 1200; i++) {
        await legacy.query('SELECT * FROM gatehouse_append($1, -2, 0, $2, $3)', [
          `s-${i % 3}`,
          new Date(Date.UTC(2024, 0, 1) + i),
          JSON.stringify([{ eventId: `legacy-${i}`, type: 'Old', schemaVersion: 1, orgId: i % 2 ? 'org-1' : null, metadata: { actor: { kind: 'system', id: 't' }, correlationId: 'c' }, data: { i } }]),
        ]);
      }
    } finally {
      await legacy.end();
    }

    const store = new PostgresEventStore({ url: db.url, registry: eventRegistry() });
    try {
      await store.init();
      const origin = await store.chainOrigin();
      expect(origin).toMatchObject({ legacyEvents: 1200 });
      expect(Date.parse(origin.chainedAt!)).toBeGreaterThan(Date.now() - 60_000);
      await store.append('s-1', [newEvent('New')], 'any');
      await store.append('s-new', [newEvent('New')], 'no_stream');
      expect(await verifyStore(store, () => undefined)).toEqual({ ok: true, counts: { events: 1202, streams: 4, unchained: 0, gaps: 0, clearPersonal: 0 } });
    } finally {
      await store.close();
    }
    const again = new PostgresEventStore({ url: db.url, registry: eventRegistry() });
    try {
      await again.init();
      expect((await again.chainOrigin()).legacyEvents).toBe(1200);
    } finally {
      await again.close();
      await db.drop();
    }
  }, 60_000);
});
