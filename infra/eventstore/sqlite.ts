import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventRegistry } from '../../domain/shared/event-registry';
import { AppendSignal, CatchUpSubscription } from './catch-up-subscription';
import { checkExpected, replayedResult } from './append-rules';
import { recorded, type AppendRequest, type AppendResult, type EventStore, type ExpectedVersion, type NewEvent, type ReadAllOptions, type ReadAllResult, type SubscribeOptions, type SubscriptionHandler } from './port';
import type { Position } from '../../domain/shared/envelope';
import type { Recorded } from '../../domain/events';

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
  UNIQUE (stream, stream_version)
);
CREATE INDEX IF NOT EXISTS events_org ON events (org_id, position) WHERE org_id IS NOT NULL;
`;

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

  constructor(private readonly options: SqliteOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous ?? 'full'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.pollMs = options.pollMs ?? 250;
    this.clock = options.clock ?? (() => new Date());
    this.statements = {
      insert: this.db.prepare(
        `INSERT INTO events (event_id, stream, stream_version, type, schema_version, recorded_at, org_id, metadata, data)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      streamVersion: this.db.prepare('SELECT max(stream_version) AS v FROM events WHERE stream = ?').pluck(),
      byEventId: this.db.prepare('SELECT event_id, stream, stream_version, position FROM events WHERE event_id = ?'),
      readStream: this.db.prepare('SELECT * FROM events WHERE stream = ? AND stream_version >= ? ORDER BY stream_version'),
      head: this.db.prepare('SELECT coalesce(max(position), 0) FROM events').pluck(),
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
    const appendOne = this.db.transaction((requests: AppendRequest[]) => requests.map((r) => this.write(r)));
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
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if ('ok' in outcome) item.resolve(outcome.ok);
      else item.reject(outcome.error);
    });
    if (outcomes.some((o) => 'ok' in o)) this.signal.notify();
  }

  private write({ stream, events, expected }: AppendRequest): AppendResult {
    if (events.length === 0) throw new Error('append needs at least one event');
    if (this.statements.byEventId.get(events[0].eventId)) {
      const stored = events
        .map((e) => this.statements.byEventId.get(e.eventId) as { event_id: string; stream: string; stream_version: number; position: number } | undefined)
        .filter((row) => row !== undefined)
        .map((row) => ({ eventId: row.event_id, stream: row.stream, streamVersion: row.stream_version, position: BigInt(row.position) }));
      return replayedResult(stream, events, stored);
    }
    const current = (this.statements.streamVersion.get(stream) as number | null) ?? -1;
    checkExpected(stream, expected, current);
    const recordedAt = this.clock().getTime();
    let position = 0n;
    events.forEach((event, i) => {
      const { actor, realActor, orgId, correlationId, causationId } = event.metadata;
      const info = this.statements.insert.run(
        event.eventId,
        stream,
        current + 1 + i,
        event.type,
        event.schemaVersion ?? this.options.registry.currentVersion(event.type),
        recordedAt,
        orgId ?? null,
        JSON.stringify({ actor, realActor, correlationId, causationId }),
        JSON.stringify(event.data),
      );
      position = BigInt(info.lastInsertRowid);
    });
    return { version: current + events.length, position };
  }

  async readStream(stream: string, fromVersion = 0): Promise<Recorded[]> {
    return (this.statements.readStream.all(stream, fromVersion) as EventRow[]).map((r) => this.toRecorded(r));
  }

  async readAll(from: Position, options: ReadAllOptions = {}): Promise<ReadAllResult> {
    const limit = options.limit ?? 1000;
    const where = ['position > ?'];
    const params: unknown[] = [Number(from)];
    if (options.filter?.types) {
      where.push('type IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(options.filter.types));
    }
    if (options.filter?.streamPrefix) {
      where.push('stream >= ? AND stream < ?');
      params.push(options.filter.streamPrefix, options.filter.streamPrefix + '\uffff');
    }
    const read = this.db.transaction(() => {
      const rows = this.db
        .prepare(`SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`)
        .all(...params, limit) as EventRow[];
      const head = BigInt(this.statements.head.get() as number);
      return { rows, head };
    });
    const { rows, head } = read();
    const events = rows.map((r) => this.toRecorded(r));
    const next = events.length === limit ? events[events.length - 1].position : head > from ? head : from;
    return { events, next };
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
