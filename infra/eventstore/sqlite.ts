import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventRegistry, Recorded } from '../../domain/events';
import { AppendSignal, CatchUpSubscription } from './catch-up-subscription';
import { checkExpected, replayedResult } from './port';
import { GENESIS, hashOf, isoTime, seal, type StoredEvent } from './hash-chain';
import { recorded, type AppendRequest, type AppendResult, type ChainOrigin, type EventStore, type ExpectedVersion, type NewEvent, type ReadAllOptions, type ReadAllResult, type ReadStoredOptions, type ReadStoredResult, type StoredFilter, type SubscribeOptions, type SubscriptionHandler } from './port';
import type { Position } from '../../domain/shared/envelope';

export interface SqliteOptions {
  /** A file path, or ':memory:'. */
  file: string;
  registry: EventRegistry;
  /** 'full' survives power loss; 'normal' (WAL) survives a process crash only. */
  synchronous?: 'full' | 'normal';
  pollMs?: number;
  clock?: () => Date;
}

interface EventRow {
  position: number;
  event_id: string;
  stream: string;
  stream_version: number;
  type: string;
  schema_version: number;
  recorded_at: number;
  org_id: string | null;
  metadata: string;
  data: string;
  prev_hash: string | null;
  hash: string | null;
}

interface PendingAppend {
  requests: AppendRequest[];
  resolve: (results: AppendResult[]) => void;
  reject: (error: unknown) => void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position       INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id       TEXT    NOT NULL UNIQUE,
  stream         TEXT    NOT NULL,
  stream_version INTEGER NOT NULL,
  type           TEXT    NOT NULL,
  schema_version INTEGER NOT NULL,
  recorded_at    INTEGER NOT NULL,
  org_id         TEXT,
  metadata       TEXT    NOT NULL,
  data           TEXT    NOT NULL,
  prev_hash      TEXT,
  hash           TEXT,
  UNIQUE (stream, stream_version)
);
CREATE INDEX IF NOT EXISTS events_org ON events (org_id, position) WHERE org_id IS NOT NULL;
-- R-AUD-3: set once, when a store that already held events got the hash chain.
CREATE TABLE IF NOT EXISTS chain_origin (
  id             INTEGER PRIMARY KEY CHECK (id = 1),
  chained_at     TEXT    NOT NULL,
  legacy_events  INTEGER NOT NULL,
  legacy_through INTEGER
);
`;

const BACKFILL_PAGE = 1000;
/** Stream heads remembered at most; past it they are forgotten all at once (and read again). */
const HEADS_KEPT = 100_000;

/**
 * The embedded event store. SQLite has one writer at a time, so the rowid is the
 * commit order and no reader can skip an event. Appends that arrive in the same
 * tick share one transaction (group commit): one fsync for all of them.
 */
export class SqliteEventStore implements EventStore {
  readonly name = 'sqlite';
  readonly atomicMultiStream = true;
  readonly signal = new AppendSignal();
  readonly pollMs: number;
  private readonly db: Database.Database;
  private readonly clock: () => Date;
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private readonly statements;
  /**
   * The last version of each stream as far as this connection knows: from its own appends
   * (exact) and its reads (at least as new as every event they returned). They hold while no
   * other connection (another process, a CLI, another store on the file) has committed,
   * which SQLite's data_version says; then they are all forgotten. A load of a stream whose
   * state is cached asks for the events after its version: if none can exist, no query runs.
   */
  private readonly heads = new Map<string, number>();
  private dataVersion = -1;
  /** Set while data_version was read in the current run of JavaScript (until its microtasks are done). */
  private dataVersionChecked = false;
  private readonly readAllStatements = new Map<string, Database.Statement>();

  constructor(private readonly options: SqliteOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'full'}`);
    this.db.pragma('busy_timeout = 5000');
    this.clock = options.clock ?? (() => new Date());
    this.db.exec(SCHEMA);
    this.addChainColumns();
    this.chainLegacyEvents();
    this.pollMs = options.pollMs ?? 250;
    this.statements = {
      insert: this.db.prepare(
        `INSERT INTO events (event_id, stream, stream_version, type, schema_version, recorded_at, org_id, metadata, data, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      streamHead: this.db.prepare('SELECT stream_version, hash FROM events WHERE stream = ? ORDER BY stream_version DESC LIMIT 1'),
      byEventId: this.db.prepare('SELECT event_id, stream, stream_version, position FROM events WHERE event_id = ?'),
      readStream: this.db.prepare('SELECT * FROM events WHERE stream = ? AND stream_version >= ? ORDER BY stream_version'),
      head: this.db.prepare('SELECT coalesce(max(position), 0) FROM events').pluck(),
      dataVersion: this.db.prepare('PRAGMA data_version').pluck(),
    };
  }

  append(stream: string, events: NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    return this.appendMany([{ stream, events, expected }]).then((results) => results[0]);
  }

  appendMany(requests: AppendRequest[]): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ requests, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Writes every queued append in one transaction; each append is its own savepoint, so one conflict fails only its caller. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    const outcomes: Array<{ ok: AppendResult[] } | { error: unknown }> = [];
    // Heads written by the appends that stand (an append's savepoint rolled back leaves none), known once all is committed.
    const written: Array<[string, number]> = [];
    const appendOne = this.db.transaction((requests: AppendRequest[]) => {
      const heads: Array<[string, number]> = [];
      const results = requests.map((r) => this.write(r, heads));
      written.push(...heads);
      return results;
    });
    try {
      this.db.transaction(() => {
        for (const item of batch) {
          try {
            outcomes.push({ ok: appendOne(item.requests) });
          } catch (error) {
            outcomes.push({ error });
          }
        }
      })();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    for (const [stream, version] of written) this.heads.set(stream, version);
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if ('ok' in outcome) item.resolve(outcome.ok);
      else item.reject(outcome.error);
    });
    if (outcomes.some((o) => 'ok' in o)) this.signal.notify();
  }

  private write({ stream, events, expected }: AppendRequest, heads: Array<[string, number]>): AppendResult {
    if (events.length === 0) throw new Error('append needs at least one event');
    if (this.statements.byEventId.get(events[0].eventId)) {
      const stored = events
        .map((e) => this.statements.byEventId.get(e.eventId) as { event_id: string; stream: string; stream_version: number; position: number } | undefined)
        .filter((row) => row !== undefined)
        .map((row) => ({ eventId: row.event_id, stream: row.stream, streamVersion: row.stream_version, position: BigInt(row.position) }));
      return replayedResult(stream, events, stored);
    }
    // One writer at a time (this transaction): the head read here is the one the batch chains onto (R-AUD-3).
    // A stream expected new is not looked up: its first insert fails on UNIQUE (stream, stream_version) if it exists (see below).
    const head = expected === 'no_stream' ? undefined : (this.statements.streamHead.get(stream) as { stream_version: number; hash: string | null } | undefined);
    const current = head?.stream_version ?? -1;
    checkExpected(stream, expected, current);
    if (head && head.hash === null) throw new Error(`stream ${stream}: version ${current} has no hash (written outside Gatehouse?); run verify`);
    const recordedAt = this.clock().getTime();
    // Sealed over the data as given: `seal` reads it as JSON gives it back, so no parse of the text is needed here.
    const stored = events.map((event) => ({
      ...event,
      schemaVersion: event.schemaVersion ?? this.options.registry.currentVersion(event.type),
      json: jsonOf(event.data),
    }));
    const seals = seal(stream, { version: current, hash: head?.hash ?? GENESIS }, isoTime(recordedAt), stored);
    let position = 0n;
    stored.forEach((event, i) => {
      const { actor, realActor, orgId, correlationId, causationId } = event.metadata;
      const info = this.insertOrConflict(
        stream,
        expected,
        event.eventId,
        stream,
        seals[i].streamVersion,
        event.type,
        event.schemaVersion,
        recordedAt,
        orgId ?? null,
        JSON.stringify({ actor, realActor, correlationId, causationId }),
        event.json,
        seals[i].prevHash,
        seals[i].hash,
      );
      position = BigInt(info.lastInsertRowid);
    });
    heads.push([stream, current + events.length]);
    return { version: current + events.length, position };
  }

  /** An insert; a stream expected new that exists after all is the conflict `checkExpected` names (its savepoint is rolled back). */
  private insertOrConflict(stream: string, expected: ExpectedVersion, ...values: unknown[]): Database.RunResult {
    try {
      return this.statements.insert.run(...values);
    } catch (error) {
      if (expected !== 'no_stream' || (error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
      const head = this.statements.streamHead.get(stream) as { stream_version: number } | undefined;
      if (head) checkExpected(stream, expected, head.stream_version);
      throw error;
    }
  }

  /** A file from before the hash chain (R-AUD-3) gets its columns. */
  private addChainColumns(): void {
    const columns = new Set((this.db.prepare('PRAGMA table_info(events)').all() as Array<{ name: string }>).map((c) => c.name));
    this.db.transaction(() => {
      if (!columns.has('prev_hash')) this.db.exec('ALTER TABLE events ADD COLUMN prev_hash TEXT');
      if (!columns.has('hash')) this.db.exec('ALTER TABLE events ADD COLUMN hash TEXT');
    }).immediate();
  }

  /**
   * Events stored before the hash chain existed are chained once, in one
   * transaction, the first time this version opens the file; chain_origin records
   * when and how many, so `verify` can say their hashes date from then (R-AUD-3).
   */
  private chainLegacyEvents(): void {
    this.db.transaction(() => {
      const legacy = this.db.prepare('SELECT count(*) AS n, max(position) AS through FROM events WHERE hash IS NULL').get() as { n: number; through: number | null };
      if (legacy.n === 0) return;
      const page = this.db.prepare(
        `SELECT position, event_id, stream, stream_version, type, schema_version, recorded_at, org_id, metadata, data, prev_hash, hash
         FROM events WHERE (stream, stream_version) > (?, ?) ORDER BY stream, stream_version LIMIT ?`,
      );
      const update = this.db.prepare('UPDATE events SET prev_hash = ?, hash = ? WHERE position = ?');
      let after: [string, number] = ['', -1];
      let head = { stream: '', hash: GENESIS };
      for (;;) {
        const rows = page.all(after[0], after[1], BACKFILL_PAGE) as EventRow[];
        for (const row of rows) {
          const prevHash = row.stream === head.stream ? head.hash : GENESIS;
          let hash = row.hash;
          if (hash === null) {
            hash = hashOf({ ...this.toStored(row), prevHash });
            update.run(prevHash, hash, row.position);
          }
          head = { stream: row.stream, hash };
        }
        if (rows.length < BACKFILL_PAGE) break;
        const last = rows[rows.length - 1];
        after = [last.stream, last.stream_version];
      }
      this.db
        .prepare('INSERT OR IGNORE INTO chain_origin (id, chained_at, legacy_events, legacy_through) VALUES (1, ?, ?, ?)')
        .run(isoTime(this.clock()), legacy.n, legacy.through);
    }).immediate();
  }

  async readStream(stream: string, fromVersion = 0): Promise<Recorded[]> {
    this.forgetHeadsIfOthersWrote();
    const head = this.heads.get(stream);
    if (head !== undefined && head < fromVersion) return [];
    const rows = this.statements.readStream.all(stream, fromVersion) as EventRow[];
    if (this.heads.size >= HEADS_KEPT) this.heads.clear();
    // No rows: the stream ends before fromVersion, which is all a later read from there needs to know.
    this.heads.set(stream, rows.length > 0 ? rows[rows.length - 1].stream_version : fromVersion - 1);
    return rows.map((r) => this.toRecorded(r));
  }

  /**
   * data_version moves when another connection commits to the file (this one's own commits leave it): then no
   * remembered head is trusted. Reading it costs about what a stream read does, so the loads one step of JavaScript
   * starts together (an access check's Promise.all) share one reading: no I/O, hence no request and no answer, can
   * come between them, so they are as if read at that instant.
   */
  private forgetHeadsIfOthersWrote(): void {
    if (this.dataVersionChecked) return;
    this.dataVersionChecked = true;
    queueMicrotask(() => (this.dataVersionChecked = false));
    const version = this.statements.dataVersion.get() as number;
    if (version !== this.dataVersion) {
      this.heads.clear();
      this.dataVersion = version;
    }
  }

  async readAll(from: Position, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const { rows, next } = this.readRows(from, options.limit ?? 1000, options.filter);
    return { events: rows.map((r) => this.toRecorded(r)), next };
  }

  async readStored(from: Position, options: ReadStoredOptions = {}): Promise<ReadStoredResult> {
    const { rows, next } = this.readRows(from, options.limit ?? 1000, options.filter);
    return { events: rows.map((r) => this.toStored(r)), next };
  }

  async chainOrigin(): Promise<ChainOrigin> {
    const row = this.db.prepare('SELECT chained_at, legacy_events, legacy_through FROM chain_origin WHERE id = 1').get() as
      | { chained_at: string; legacy_events: number; legacy_through: number | null }
      | undefined;
    if (!row) return { legacyEvents: 0 };
    return { chainedAt: row.chained_at, legacyEvents: row.legacy_events, legacyThrough: row.legacy_through === null ? undefined : BigInt(row.legacy_through) };
  }

  private readRows(from: Position, limit: number, filter: StoredFilter = {}): { rows: EventRow[]; next: Position } {
    const where = ['position > ?'];
    const params: unknown[] = [Number(from)];
    if (filter.types) {
      where.push('type IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(filter.types));
    }
    if (filter.streamPrefix) {
      where.push('stream >= ? AND stream < ?');
      params.push(filter.streamPrefix, filter.streamPrefix + '\uffff');
    }
    if (filter.orgId !== undefined) {
      where.push('org_id = ?');
      params.push(filter.orgId);
    }
    if (filter.recordedFrom) {
      where.push('recorded_at >= ?');
      params.push(filter.recordedFrom.getTime());
    }
    if (filter.recordedBefore) {
      where.push('recorded_at < ?');
      params.push(filter.recordedBefore.getTime());
    }
    const sql = `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`;
    let statement = this.readAllStatements.get(sql);
    if (!statement) {
      // A handful of shapes (which filters are set): prepared once each.
      if (this.readAllStatements.size >= 64) this.readAllStatements.clear();
      statement = this.db.prepare(sql);
      this.readAllStatements.set(sql, statement);
    }
    const read = this.db.transaction(() => {
      const rows = statement.all(...params, limit) as EventRow[];
      const head = BigInt(this.statements.head.get() as number);
      return { rows, head };
    });
    const { rows, head } = read();
    const next = rows.length === limit ? BigInt(rows[rows.length - 1].position) : head > from ? head : from;
    return { rows, next };
  }

  async headPosition(): Promise<Position> {
    return BigInt(this.statements.head.get() as number);
  }

  subscribe(handler: SubscriptionHandler, options: SubscribeOptions) {
    return new CatchUpSubscription(this, handler, options);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.pending.length) await new Promise((resolve) => setImmediate(resolve));
    this.db.close();
  }

  /** The export line's field order (SPEC 5.1). */
  private toStored(row: EventRow): StoredEvent {
    const metadata = JSON.parse(row.metadata);
    return {
      eventId: row.event_id,
      type: row.type,
      schemaVersion: row.schema_version,
      stream: row.stream,
      streamVersion: row.stream_version,
      position: BigInt(row.position),
      recordedAt: isoTime(row.recorded_at),
      actor: metadata.actor,
      realActor: metadata.realActor ?? null,
      orgId: row.org_id,
      correlationId: metadata.correlationId,
      causationId: metadata.causationId ?? null,
      data: JSON.parse(row.data),
      prevHash: row.prev_hash,
      hash: row.hash,
    };
  }

  private toRecorded(row: EventRow): Recorded {
    const metadata = JSON.parse(row.metadata);
    const { version, data } = this.options.registry.upcast(row.type, row.schema_version, JSON.parse(row.data), { orgId: row.org_id ?? undefined });
    const envelope = {
      eventId: row.event_id,
      schemaVersion: version,
      stream: row.stream,
      streamVersion: row.stream_version,
      position: BigInt(row.position),
      recordedAt: new Date(row.recorded_at),
      orgId: row.org_id ?? undefined,
      actor: metadata.actor,
      realActor: metadata.realActor,
      correlationId: metadata.correlationId,
      causationId: metadata.causationId,
    };
    return recorded(envelope, row.type, data);
  }
}

/** The stored text of event data (as `storedData` makes it). */
function jsonOf(data: unknown): string {
  const json = JSON.stringify(data);
  if (json === undefined) throw new Error('event data must be JSON');
  return json;
}
