import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { Pool } from 'pg';
import type { EventRegistry } from '../../domain/events';
import type { EventStore, NewEvent } from '../../infra/eventstore/port';
import { withClient } from '../../scripts/rig/postgres';

/** A MemberAdded-sized event: about 400 bytes of JSON across metadata and data. */
export function memberAdded(orgId: string, n: number): NewEvent {
  return {
    eventId: randomUUID(),
    type: 'MemberAdded',
    data: { orgId, memberId: `m-${randomUUID()}`, email: `member${n}@example.org`, role: 'Member', invitedBy: 'u-admin', at: new Date().toISOString() },
    metadata: { actor: { kind: 'user', id: 'u-admin' }, orgId, correlationId: randomUUID(), causationId: randomUUID() },
  };
}

const SETTINGS = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method', 'commit_delay', 'shared_buffers', 'max_wal_size'];

/** Read from the server, not assumed: an external POSTGRES_URL may run with other values. */
export async function postgresFacts(url: string): Promise<{ version: string; settings: string }> {
  return withClient(url, async (c) => {
    const version = (await c.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
    const { rows } = await c.query<{ name: string; value: string }>('SELECT name, current_setting(name) AS value FROM unnest($1::text[]) AS name', [SETTINGS]);
    return { version: `PostgreSQL ${version}`, settings: rows.map((r) => `${r.name}=${r.value}`).join(', ') };
  });
}

/** One row per INSERT, same columns as gatehouse_events but only a primary key: the ceiling. */
export const RAW_TABLE = `
CREATE TABLE bench_raw_insert (
  id             bigserial   PRIMARY KEY,
  event_id       text        NOT NULL,
  stream         text        NOT NULL,
  stream_version integer     NOT NULL,
  type           text        NOT NULL,
  schema_version integer     NOT NULL,
  recorded_at    timestamptz NOT NULL,
  org_id         text,
  metadata       jsonb       NOT NULL,
  data           jsonb       NOT NULL
)`;

export async function rawInsert(pool: Pool, stream: string, version: number, event: NewEvent): Promise<void> {
  const { actor, realActor, orgId, correlationId, causationId } = event.metadata;
  await pool.query(
    `INSERT INTO bench_raw_insert (event_id, stream, stream_version, type, schema_version, recorded_at, org_id, metadata, data)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [event.eventId, stream, version, event.type, 1, new Date(), orgId ?? null, JSON.stringify({ actor, realActor, correlationId, causationId }), JSON.stringify(event.data)],
  );
}

/**
 * The EventStoreDB adapter is loaded at run time so the bench builds before that
 * file exists. Returns the store, or why it was not measured.
 */
export async function openEventStoreDb(registry: EventRegistry): Promise<EventStore | string> {
  const url = process.env.EVENTSTORE_URL;
  if (!url) return 'not measured: no server here (EVENTSTORE_URL unset)';
  let exports: Record<string, unknown>;
  try {
    exports = require(path.join(__dirname, '..', '..', 'infra', 'eventstore', 'eventstoredb'));
  } catch (error) {
    return `not measured: adapter infra/eventstore/eventstoredb not built (${(error as Error).message.split('\n')[0]})`;
  }
  // src/shared/event-store.provider.ts names it EventStoreDbEventStore({ url, registry, clock }).
  const Adapter = (exports.EventStoreDbEventStore ??
    Object.values(exports).find((v) => typeof v === 'function' && typeof v.prototype?.append === 'function')) as
    | (new (options: { url: string; registry: EventRegistry }) => EventStore)
    | undefined;
  if (!Adapter) return 'not measured: infra/eventstore/eventstoredb exports no EventStore class';
  let store: EventStore | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    store = new Adapter({ url, registry });
    const opened = store;
    const ready = (async () => {
      await (opened as EventStore & { init?: () => Promise<void> }).init?.();
      await opened.ping();
    })();
    const overdue = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer within 20 s')), 20_000);
    });
    await Promise.race([ready, overdue]);
    return store;
  } catch (error) {
    await store?.close().catch(() => undefined);
    return `not measured: could not open the adapter at EVENTSTORE_URL (${(error as Error).message.split('\n')[0]})`;
  } finally {
    clearTimeout(timer);
  }
}
