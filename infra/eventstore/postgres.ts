import { createHash } from 'node:crypto';
import { Pool, type PoolClient } from 'pg';
import type { EventRegistry, Recorded } from '../../domain/events';
import { replayedResult } from './port';
import { AppendSignal, CatchUpSubscription } from './catch-up-subscription';
import { EMPTY_STREAM, GENESIS, hashOf, isoTime, seal, storedData, type ChainHead, type StoredEvent } from './hash-chain';
import { recorded, WrongExpectedVersion, type AppendRequest, type AppendResult, type ChainOrigin, type EventStore, type ExpectedVersion, type NewEvent, type ReadAllOptions, type ReadAllResult, type ReadStoredOptions, type ReadStoredResult, type StoredFilter, type SubscribeOptions, type SubscriptionHandler } from './port';
import type { Position } from '../../domain/shared/envelope';

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
  prev_hash      text,
  hash           text,
  UNIQUE (stream, stream_version)
);
CREATE INDEX IF NOT EXISTS gatehouse_events_org ON gatehouse_events (org_id, position) WHERE org_id IS NOT NULL;

-- R-AUD-3: a database from before the hash chain gets its columns here, its events chained by init().
ALTER TABLE gatehouse_events ADD COLUMN IF NOT EXISTS prev_hash text, ADD COLUMN IF NOT EXISTS hash text;
CREATE INDEX IF NOT EXISTS gatehouse_events_unchained ON gatehouse_events (position) WHERE hash IS NULL;
CREATE TABLE IF NOT EXISTS gatehouse_chain_origin (
  id             integer     PRIMARY KEY CHECK (id = 1),
  chained_at     timestamptz NOT NULL,
  legacy_events  bigint      NOT NULL,
  legacy_through bigint
);
DO $$ BEGIN
  -- The function before the chain returned fewer columns, which CREATE OR REPLACE cannot change.
  IF EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('gatehouse_append(text,integer,integer,timestamptz,jsonb)')
             AND NOT ('head_hash' = ANY (coalesce(proargnames, '{}')))) THEN
    DROP FUNCTION gatehouse_append(text, integer, integer, timestamptz, jsonb);
  END IF;
END $$;

-- One round trip per append: retry detection, version check, chain check and insert.
-- p_expected: -2 any, -1 no stream, n exact. Returns (version, position) or raises GH409.
-- Events sealed by the caller carry streamVersion, prevHash and hash: when the stream's head is
-- not the one they were sealed onto, nothing is inserted and the head comes back (stale) to seal again.
CREATE OR REPLACE FUNCTION gatehouse_append(
  p_stream text, p_expected integer, p_offset integer, p_recorded_at timestamptz, p_events jsonb
) RETURNS TABLE (version integer, "position" bigint, replayed boolean, stale boolean, head_hash text) LANGUAGE plpgsql AS $$
DECLARE
  current_version integer;
  current_hash text;
  base bigint;
  n integer := jsonb_array_length(p_events);
BEGIN
  IF EXISTS (SELECT 1 FROM gatehouse_events e WHERE e.event_id = p_events->0->>'eventId') THEN
    RETURN QUERY SELECT -1, 0::bigint, true, false, NULL::text;
    RETURN;
  END IF;
  SELECT e.stream_version, e.hash INTO current_version, current_hash
  FROM gatehouse_events e WHERE e.stream = p_stream ORDER BY e.stream_version DESC LIMIT 1;
  current_version := coalesce(current_version, -1);
  IF (p_expected = -1 AND current_version <> -1) OR (p_expected >= 0 AND current_version <> p_expected) THEN
    RAISE EXCEPTION USING ERRCODE = 'GH409', MESSAGE = current_version::text;
  END IF;
  IF p_events->0 ? 'hash' AND ((p_events->0->>'streamVersion')::integer <> current_version + 1
      OR p_events->0->>'prevHash' IS DISTINCT FROM (CASE WHEN current_version = -1 THEN repeat('0', 64) ELSE current_hash END)) THEN
    RETURN QUERY SELECT current_version, 0::bigint, false, true, current_hash;
    RETURN;
  END IF;
  base := (pg_current_xact_id()::text::bigint << ${TX_SHIFT}) + p_offset;
  INSERT INTO gatehouse_events (position, event_id, stream, stream_version, type, schema_version, recorded_at, org_id, metadata, data, prev_hash, hash)
  SELECT base + t.ord, t.e->>'eventId', p_stream, current_version + t.ord::integer, t.e->>'type',
         (t.e->>'schemaVersion')::integer, p_recorded_at, t.e->>'orgId', t.e->'metadata', t.e->'data',
         t.e->>'prevHash', t.e->>'hash'
  FROM jsonb_array_elements(p_events) WITH ORDINALITY AS t(e, ord);
  RETURN QUERY SELECT current_version + n, base + n, false, false, NULL::text;
END $$;
`;

/** This version's schema, as the events table's comment records it once applied. */
const SCHEMA_ID = `gatehouse-schema-${createHash('sha256').update(SCHEMA).digest('hex').slice(0, 16)}`;

/** Streams whose head this process knows: an append to one of them needs no extra round trip to chain onto it. */
const REMEMBERED_HEADS = 10_000;
const BACKFILL_PAGE = 1000;

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
  prev_hash: string | null;
  hash: string | null;
}

export class PostgresEventStore implements EventStore {
  readonly name = 'postgres';
  readonly atomicMultiStream = true;
  readonly signal = new AppendSignal();
  readonly pollMs: number;
  private readonly pool: Pool;
  private readonly clock: () => Date;
  private ready: Promise<void> | undefined;
  /** Stream → its last event's version and hash, as last seen. Only a hint: gatehouse_append checks it. */
  private readonly heads = new Map<string, ChainHead>();

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
        // A replica starting beside running ones takes no table lock when the schema is this version's
        // already (the table's comment names it): DDL beside appends in flight is a deadlock PostgreSQL
        // breaks by failing one side (40P01). When it does run (a new version), a failed try runs again.
        const { rows: [current] } = await client.query<{ id: string | null }>("SELECT obj_description(to_regclass('gatehouse_events'), 'pg_class') AS id");
        for (let attempt = 1; current?.id !== SCHEMA_ID; attempt++) {
          try {
            await client.query(`${SCHEMA}\nCOMMENT ON TABLE gatehouse_events IS '${SCHEMA_ID}';`);
            break;
          } catch (error) {
            if ((error as { code?: string }).code !== '40P01' || attempt >= 5) throw error;
            await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
          }
        }
        await this.chainLegacyEvents(client);
      } finally {
        await client.query('SELECT pg_advisory_unlock(7243001)').catch(() => undefined);
        client.release();
      }
    })();
    return this.ready;
  }

  /**
   * Events stored before the hash chain existed are chained once, stream by stream
   * in pages, when this version first starts on the database (under init's lock; a
   * restart part-way continues). gatehouse_chain_origin records when and how many,
   * so `verify` can say their hashes date from then (R-AUD-3).
   */
  private async chainLegacyEvents(client: PoolClient): Promise<void> {
    const { rows: [legacy] } = await client.query<{ n: string; through: string | null }>(
      'SELECT count(*) AS n, max(position) AS through FROM gatehouse_events WHERE hash IS NULL',
    );
    if (legacy.n === '0') return;
    await client.query(
      'INSERT INTO gatehouse_chain_origin (id, chained_at, legacy_events, legacy_through) VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING',
      [this.clock(), legacy.n, legacy.through],
    );
    let after: [string, number] = ['', -1];
    let head = { stream: '', hash: GENESIS };
    for (;;) {
      const { rows } = await client.query<EventRow>(
        `SELECT * FROM gatehouse_events WHERE (stream, stream_version) > ($1, $2) ORDER BY stream, stream_version LIMIT ${BACKFILL_PAGE}`,
        after,
      );
      const sealed: Array<{ position: string; prev_hash: string; hash: string }> = [];
      for (const row of rows) {
        const prevHash = row.stream === head.stream ? head.hash : GENESIS;
        let hash = row.hash;
        if (hash === null) {
          hash = hashOf({ ...this.toStored(row), prevHash });
          sealed.push({ position: row.position, prev_hash: prevHash, hash });
        }
        head = { stream: row.stream, hash };
      }
      if (sealed.length > 0) {
        await client.query(
          `UPDATE gatehouse_events e SET prev_hash = s.prev_hash, hash = s.hash
           FROM jsonb_to_recordset($1) AS s(position bigint, prev_hash text, hash text) WHERE e.position = s.position`,
          [JSON.stringify(sealed)],
        );
      }
      if (rows.length < BACKFILL_PAGE) return;
      const last = rows[rows.length - 1];
      after = [last.stream, last.stream_version];
    }
  }

  async append(stream: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    await this.init();
    for (let attempt = 0; ; attempt++) {
      try {
        const { result, head } = await this.appendOne(this.pool, { stream, events, expected }, 0);
        this.rememberHead(stream, head);
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
      const appended: Array<{ result: AppendResult; head: ChainHead | undefined }> = [];
      let offset = 0;
      for (const request of requests) {
        current = request;
        appended.push(await this.appendOne(client, request, offset));
        offset += request.events.length;
      }
      await client.query('COMMIT');
      requests.forEach((request, i) => this.rememberHead(request.stream, appended[i].head));
      this.signal.notify();
      return appended.map((a) => a.result);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw current ? await this.translate(error, current.stream, current.expected) : error;
    } finally {
      client.release();
    }
  }

  /**
   * Seals the batch onto the stream's head as this process last saw it (or reads
   * it), and lets gatehouse_append check that head inside the insert's statement:
   * a writer that got there first makes it answer `stale` with the new head, and
   * the batch is sealed again. The (stream, version) key keeps two writers from
   * both chaining onto the same head (R-AUD-3).
   */
  private async appendOne(db: Pool | PoolClient, { stream, events, expected }: AppendRequest, offset: number): Promise<{ result: AppendResult; head: ChainHead | undefined }> {
    if (events.length === 0) throw new Error('append needs at least one event');
    if (events.length > MAX_EVENTS_PER_TX) throw new Error(`at most ${MAX_EVENTS_PER_TX} events per append`);
    const recordedAt = this.clock();
    const stored = events.map((e) => ({
      ...e,
      schemaVersion: e.schemaVersion ?? this.options.registry.currentVersion(e.type),
      data: storedData(e.data).data,
    }));
    const expectedCode = expected === 'any' ? -2 : expected === 'no_stream' ? -1 : expected;
    let head = expected === 'no_stream' ? EMPTY_STREAM : (this.heads.get(stream) ?? (await this.readHead(db, stream)));
    for (let attempt = 0; ; attempt++) {
      const seals = seal(stream, head, isoTime(recordedAt), stored);
      const payload = stored.map((e, i) => ({
        eventId: e.eventId,
        type: e.type,
        schemaVersion: e.schemaVersion,
        orgId: e.metadata.orgId ?? null,
        metadata: {
          actor: e.metadata.actor,
          realActor: e.metadata.realActor,
          correlationId: e.metadata.correlationId,
          causationId: e.metadata.causationId,
        },
        data: e.data,
        ...seals[i],
      }));
      const { rows } = await db.query<{ version: number; position: string; replayed: boolean; stale: boolean; head_hash: string | null }>(
        'SELECT * FROM gatehouse_append($1, $2, $3, $4, $5)',
        [stream, expectedCode, offset, recordedAt, JSON.stringify(payload)],
      );
      if (rows[0].stale) {
        this.heads.delete(stream);
        if (rows[0].head_hash === null) throw new Error(`stream ${stream}: version ${rows[0].version} has no hash (written outside Gatehouse?); run verify`);
        if (attempt >= 100) throw new Error(`stream ${stream}: its head kept moving while appending`);
        head = { version: rows[0].version, hash: rows[0].head_hash };
        // Many writers of one stream: a jittered, growing pause, so the one that lost is not always beaten to the head again.
        if (attempt >= 2) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));
        continue;
      }
      if (rows[0].replayed) return { result: await this.replayed(db, stream, events), head: undefined };
      return { result: { version: rows[0].version, position: BigInt(rows[0].position) }, head: { version: rows[0].version, hash: seals[seals.length - 1].hash } };
    }
  }

  private async readHead(db: Pool | PoolClient, stream: string): Promise<ChainHead> {
    const { rows } = await db.query<{ stream_version: number; hash: string | null }>(
      'SELECT stream_version, hash FROM gatehouse_events WHERE stream = $1 ORDER BY stream_version DESC LIMIT 1',
      [stream],
    );
    // A missing hash is left for gatehouse_append to report.
    return rows.length === 0 ? EMPTY_STREAM : { version: rows[0].stream_version, hash: rows[0].hash ?? '' };
  }

  private rememberHead(stream: string, head: ChainHead | undefined): void {
    if (!head) return;
    this.heads.delete(stream);
    this.heads.set(stream, head);
    if (this.heads.size > REMEMBERED_HEADS) this.heads.delete(this.heads.keys().next().value!);
  }

  private async replayed(db: Pool | PoolClient, stream: string, events: NewEvent[]): Promise<AppendResult> {
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
    const last = rows[rows.length - 1];
    if (last?.hash) this.rememberHead(stream, { version: last.stream_version, hash: last.hash });
    return rows.map((r) => this.toRecorded(r));
  }

  async readAll(from: Position, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const { rows, next } = await this.readRows(from, options.limit ?? 1000, options.filter);
    return { events: rows.map((r) => this.toRecorded(r)), next };
  }

  async readStored(from: Position, options: ReadStoredOptions = {}): Promise<ReadStoredResult> {
    const { rows, next } = await this.readRows(from, options.limit ?? 1000, options.filter);
    return { events: rows.map((r) => this.toStored(r)), next };
  }

  async chainOrigin(): Promise<ChainOrigin> {
    await this.init();
    const { rows } = await this.pool.query<{ chained_at: Date; legacy_events: string; legacy_through: string | null }>(
      'SELECT chained_at, legacy_events, legacy_through FROM gatehouse_chain_origin WHERE id = 1',
    );
    if (rows.length === 0) return { legacyEvents: 0 };
    const [row] = rows;
    return { chainedAt: isoTime(row.chained_at), legacyEvents: Number(row.legacy_events), legacyThrough: row.legacy_through === null ? undefined : BigInt(row.legacy_through) };
  }

  private async readRows(from: Position, limit: number, filter: StoredFilter = {}): Promise<{ rows: EventRow[]; next: Position }> {
    await this.init();
    const params: unknown[] = [from.toString(), limit];
    const where = ['position > $1', `position < ${HORIZON}`];
    if (filter.types) {
      params.push(filter.types);
      where.push(`type = ANY($${params.length})`);
    }
    if (filter.streamPrefix) {
      params.push(filter.streamPrefix.replace(/[\\%_]/g, (c) => '\\' + c) + '%');
      where.push(`stream LIKE $${params.length}`);
    }
    if (filter.orgId !== undefined) {
      params.push(filter.orgId);
      where.push(`org_id = $${params.length}`);
    }
    if (filter.recordedFrom) {
      params.push(filter.recordedFrom);
      where.push(`recorded_at >= $${params.length}`);
    }
    if (filter.recordedBefore) {
      params.push(filter.recordedBefore);
      where.push(`recorded_at < $${params.length}`);
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
    const found = rows.filter((r) => r.position !== null);
    const next = found.length === limit ? BigInt(found[found.length - 1].position) : horizon > from ? horizon : from;
    return { rows: found, next };
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

  /** The export line's field order (SPEC 5.1). */
  private toStored(row: EventRow): StoredEvent {
    return {
      eventId: row.event_id,
      type: row.type,
      schemaVersion: row.schema_version,
      stream: row.stream,
      streamVersion: row.stream_version,
      position: BigInt(row.position),
      recordedAt: isoTime(row.recorded_at),
      actor: row.metadata.actor,
      realActor: row.metadata.realActor ?? null,
      orgId: row.org_id,
      correlationId: row.metadata.correlationId,
      causationId: row.metadata.causationId ?? null,
      data: row.data,
      prevHash: row.prev_hash,
      hash: row.hash,
    };
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
