import { Pool, type PoolClient } from 'pg';
import type { EventRegistry } from '../../domain/shared/event-registry';
import { replayedResult } from './append-rules';
import { AppendSignal, CatchUpSubscription } from './catch-up-subscription';
import { recorded, WrongExpectedVersion, type AppendRequest, type AppendResult, type EventStore, type ExpectedVersion, type NewEvent, type ReadAllOptions, type ReadAllResult, type SubscribeOptions, type SubscriptionHandler } from './port';
import type { Position } from '../../domain/shared/envelope';
import type { Recorded } from '../../domain/events';

export interface PostgresOptions {
  url: string;
  registry: EventRegistry;
  poolSize?: number;
  pollMs?: number;
  clock?: () => Date;
}

/**
 * Global order without skipped events under concurrent writers.
 *
 * A position is `(transaction id << 20) + n`: events are ordered by the
 * transaction that wrote them, then by their order in it. Readers only read below
 * `pg_snapshot_xmin(pg_current_snapshot()) << 20`: every transaction older than
 * that horizon has finished, so no event can later appear below it. A reader
 * that has passed a position therefore never misses an event committed after it.
 * The cost: a long-running writing transaction holds readers back until it ends.
 */
const TX_SHIFT = 20;
const MAX_EVENTS_PER_TX = (1 << TX_SHIFT) - 1;

const SCHEMA = `
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
  base := (pg_current_xact_id()::text::bigint << ${TX_SHIFT}) + p_offset;
  INSERT INTO gatehouse_events (position, event_id, stream, stream_version, type, schema_version, recorded_at, org_id, metadata, data)
  SELECT base + t.ord, t.e->>'eventId', p_stream, current_version + t.ord::integer, t.e->>'type',
         (t.e->>'schemaVersion')::integer, p_recorded_at, t.e->>'orgId', t.e->'metadata', t.e->'data'
  FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, ord);
  RETURN QUERY SELECT current_version + n, base + n, false;
END $$;
`;

const HORIZON = `(pg_snapshot_xmin(pg_current_snapshot())::text::bigint << ${TX_SHIFT})`;

interface EventRow {
  position: string;
  event_id: string;
  stream: string;
  stream_version: number;
  type: string;
  schema_version: number;
  recorded_at: Date;
  org_id: string | null;
  metadata: { actor: Recorded['actor']; realActor?: Recorded['actor']; correlationId: string; causationId?: string };
  data: unknown;
}

export class PostgresEventStore implements EventStore {
  readonly name = 'postgres';
  readonly atomicMultiStream = true;
  readonly signal = new AppendSignal();
  readonly pollMs: number;
  private readonly pool: Pool;
  private readonly clock: () => Date;
  private ready: Promise<void> | undefined;

  constructor(private readonly options: PostgresOptions) {
    this.pool = new Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
    // A dropped idle connection must not crash the process; the pool replaces it. A connection that dies while checked
    // out (between two queries of a transaction, when the server restarts) emits 'error' on its client too: the pending or
    // next query fails with it, so that event is only heard here, never left to crash the process (issue 13).
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
    this.pollMs = options.pollMs ?? 100;
    this.clock = options.clock ?? (() => new Date());
  }

  /** Creates the schema once; safe when several processes start together. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      const client = await this.pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock(7243001)');
        await client.query(SCHEMA);
      } finally {
        await client.query('SELECT pg_advisory_unlock(7243001)').catch(() => undefined);
        client.release();
      }
    })();
    return this.ready;
  }

  async append(stream: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    await this.init();
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.appendOne(this.pool, { stream, events, expected }, 0);
        this.signal.notify();
        return result;
      } catch (error) {
        // A unique violation means a concurrent writer got there first: a retry of
        // the same ids becomes a replay; 'any' simply tries again on the new version.
        if (isUniqueViolation(error) && attempt < 5 && (expected === 'any' || isEventIdViolation(error))) continue;
        throw await this.translate(error, stream, expected);
      }
    }
  }

  async appendMany(requests: AppendRequest[]): Promise<AppendResult[]> {
    await this.init();
    const total = requests.reduce((n, r) => n + r.events.length, 0);
    if (total > MAX_EVENTS_PER_TX) throw new Error(`at most ${MAX_EVENTS_PER_TX} events per transaction`);
    const client = await this.pool.connect();
    let current: AppendRequest | undefined;
    try {
      await client.query('BEGIN');
      const results: AppendResult[] = [];
      let offset = 0;
      for (const request of requests) {
        current = request;
        results.push(await this.appendOne(client, request, offset));
        offset += request.events.length;
      }
      await client.query('COMMIT');
      this.signal.notify();
      return results;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw current ? await this.translate(error, current.stream, current.expected) : error;
    } finally {
      client.release();
    }
  }

  private async appendOne(db: Pool | PoolClient, { stream, events, expected }: AppendRequest, offset: number): Promise<AppendResult> {
    if (events.length === 0) throw new Error('append needs at least one event');
    if (events.length > MAX_EVENTS_PER_TX) throw new Error(`at most ${MAX_EVENTS_PER_TX} events per append`);
    const payload = events.map((e) => ({
      eventId: e.eventId,
      type: e.type,
      schemaVersion: e.schemaVersion ?? this.options.registry.currentVersion(e.type),
      orgId: e.metadata.orgId ?? null,
      metadata: {
        actor: e.metadata.actor,
        realActor: e.metadata.realActor,
        correlationId: e.metadata.correlationId,
        causationId: e.metadata.causationId,
      },
      data: e.data,
    }));
    const expectedCode = expected === 'any' ? -2 : expected === 'no_stream' ? -1 : expected;
    const { rows } = await db.query<{ version: number; position: string; replayed: boolean }>(
      'SELECT * FROM gatehouse_append($1, $2, $3, $4, $5)',
      [stream, expectedCode, offset, this.clock(), JSON.stringify(payload)],
    );
    if (rows.length > 0 && rows[0].replayed) {
      const stored = await db.query<{ event_id: string; stream: string; stream_version: number; position: string }>(
        'SELECT event_id, stream, stream_version, position FROM gatehouse_events WHERE event_id = ANY($1)',
        [events.map((e) => e.eventId)],
      );
      return replayedResult(
        stream,
        events,
        stored.rows.map((r) => ({ eventId: r.event_id, stream: r.stream, streamVersion: r.stream_version, position: BigInt(r.position) })),
      );
    }
    return { version: rows[0].version, position: BigInt(rows[0].position) };
  }

  private async translate(error: unknown, stream: string, expected: ExpectedVersion): Promise<unknown> {
    const code = (error as { code?: string }).code;
    if (code === 'GH409') {
      const actual = Number((error as Error).message);
      return new WrongExpectedVersion(stream, expected, actual === -1 ? 'no_stream' : actual);
    }
    if (isUniqueViolation(error) && !isEventIdViolation(error)) {
      const { rows } = await this.pool.query<{ v: number | null }>(
        'SELECT max(stream_version) AS v FROM gatehouse_events WHERE stream = $1',
        [stream],
      );
      return new WrongExpectedVersion(stream, expected, rows[0].v ?? 'no_stream');
    }
    return error;
  }

  async readStream(stream: string, fromVersion = 0): Promise<Recorded[]> {
    await this.init();
    const { rows } = await this.pool.query<EventRow>(
      'SELECT * FROM gatehouse_events WHERE stream = $1 AND stream_version >= $2 ORDER BY stream_version',
      [stream, fromVersion],
    );
    return rows.map((r) => this.toRecorded(r));
  }

  async readAll(from: Position, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    await this.init();
    const limit = options.limit ?? 1000;
    const params: unknown[] = [from.toString(), limit];
    const where = ['position > $1', `position < ${HORIZON}`];
    if (options.filter?.types) {
      params.push(options.filter.types);
      where.push(`type = ANY($${params.length})`);
    }
    if (options.filter?.streamPrefix) {
      params.push(options.filter.streamPrefix.replace(/[\\%_]/g, (c) => '\\' + c) + '%');
      where.push(`stream LIKE $${params.length}`);
    }
    // One statement, one snapshot: the rows and the horizon agree.
    const { rows } = await this.pool.query<EventRow & { horizon: string }>(
      `WITH h AS (SELECT ${HORIZON} - 1 AS horizon)
       SELECT e.*, h.horizon FROM h LEFT JOIN LATERAL (
         SELECT * FROM gatehouse_events WHERE ${where.join(' AND ')} ORDER BY position LIMIT $2
       ) e ON true`,
      params,
    );
    const horizon = BigInt(rows[0].horizon);
    const events = rows.filter((r) => r.position !== null).map((r) => this.toRecorded(r));
    const next = events.length === limit ? events[events.length - 1].position : horizon > from ? horizon : from;
    return { events, next };
  }

  async headPosition(): Promise<Position> {
    await this.init();
    const { rows } = await this.pool.query<{ head: string | null }>(
      `SELECT max(position) AS head FROM gatehouse_events WHERE position < ${HORIZON}`,
    );
    return BigInt(rows[0].head ?? 0);
  }

  subscribe(handler: SubscriptionHandler, options: SubscribeOptions) {
    return new CatchUpSubscription(this, handler, options);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private toRecorded(row: EventRow): Recorded {
    const { version, data } = this.options.registry.upcast(row.type, row.schema_version, row.data, { orgId: row.org_id ?? undefined });
    const envelope = {
      eventId: row.event_id,
      schemaVersion: version,
      stream: row.stream,
      streamVersion: row.stream_version,
      position: BigInt(row.position),
      recordedAt: row.recorded_at,
      orgId: row.org_id ?? undefined,
      actor: row.metadata.actor,
      realActor: row.metadata.realActor,
      correlationId: row.metadata.correlationId,
      causationId: row.metadata.causationId,
    };
    return recorded(envelope, row.type, data);
  }
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === '23505';
}

function isEventIdViolation(error: unknown): boolean {
  return (error as { constraint?: string }).constraint === 'gatehouse_events_event_id_key';
}
