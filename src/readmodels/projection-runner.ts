import { DomainError } from '../../domain/shared/errors';
import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventStore, Subscription } from '../../infra/eventstore/port';
import type { Position } from '../../domain/shared/envelope';
import type { Recorded } from '../../domain/events';
import { checkpointName, physicalCollection, type Changes, type ReadStore, type RefusedDocument } from '../../infra/readstore/port';
import { errorName } from '../shared/logging';
import { DEAD_LETTER_SINK, DEAD_LETTERS, type DeadLetter, type DeadLetterSink } from '../shared/dead-letters';
import { directory } from '../../projections/directory';
import { READ_MODEL_INDEXES } from './indexes';
import { loginActivity } from '../../projections/login-activity';
import { permissionHistory } from '../../projections/permission-history';
import type { Doc, Projection, Workspace } from '../../projections/projection';
import type { GatehouseRequest } from '../shared/request-context';
import { CLOCK, EVENT_STORE, LEASING, READ_STORE, type Clock } from '../shared/tokens';
import { Supervisor, type Leasing, type Worker, type WorkerState } from '../shared/supervisor';

export const PROJECTIONS: Projection[] = [directory, permissionHistory, loginActivity];

/** An event a projection could not apply: skipped by it, kept with the dead letters (R-SEC-5). Holds no data of the event. */
export interface ProjectionFault extends DeadLetter {
  projection: string;
  generation: number;
}

/** What the runner says of one projection: the fold's faults (`degraded`) and the store's (`retrying`) show here. */
export interface ProjectionStatus {
  projection: string;
  status: 'ok' | 'degraded' | 'retrying';
  /** The supervised worker's state: `restarting` after a failure until it has caught up again. */
  state: WorkerState;
  restarts: number;
  generation: number;
  position: string;
  eventsApplied: number;
  behind: boolean;
  /** Since the oldest event it has not applied was recorded (0 when caught up; growing while it is stopped). */
  lagMs: number;
  /** Events it has not applied yet, counted up to 1000 (absent when the log cannot be read). */
  lagEvents?: number;
  /** Events of this generation the projection skipped because its fold failed on them: each one a dead letter. */
  skippedEvents: number;
  lastFault?: Pick<ProjectionFault, 'eventId' | 'eventType' | 'position' | 'reason' | 'failedAt'>;
  /** Tries since the read store (or the log) last failed, until the projection has caught up again. */
  failures: number;
  lastError?: string;
}

/** The supervised worker of a projection, as /health and /metrics name it. */
export const projectionWorker = (projection: string) => `projection:${projection}`;

interface Progress {
  generation: number;
  /** The service follows the active generation; a rebuild writes its own until it switches. */
  following: boolean;
  position: Position;
  lastEventAt?: Date;
  appliedAt?: Date;
  events: number;
  skipped: number;
  lastFault?: ProjectionStatus['lastFault'];
  /** A rebuild's switch was seen: this run writes nothing more, and one restart continues in the new generation. */
  retired?: boolean;
}

/** The read store failed under a fold: transient, so the batch is tried again, never skipped. */
class ReadStoreFailure extends Error {
  constructor(readonly failure: unknown) {
    super('read store failed');
  }
}

/**
 * Runs every projection from its stored checkpoint: catches up in batches, then
 * follows the log. Each batch's documents and the new checkpoint are written
 * together (in one transaction on SQLite and a MongoDB replica set; elsewhere
 * journaled, then documents, then the checkpoint), so a crash anywhere neither
 * loses nor double-applies an event. An event whose fold reads a document that
 * already holds it was stored by another writer (two replicas for a moment): its
 * effects are left as that writer stored them.
 *
 * Two kinds of failure, two answers (R-SEC-5). A fold that throws on an event, or
 * a document the store refuses, fails every time: that event (for that document)
 * is skipped by that projection (the documents stay as they were), kept as a dead
 * letter, counted, and shown in `/health`, and every other event, of every org,
 * goes on. A read store
 * or log that fails may answer next time: the projection's worker is restarted by
 * the supervisor from its checkpoint after a doubling, jittered wait, skipping
 * nothing, forever (until shutdown).
 */
@Injectable()
export class ProjectionRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('projections');
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly progress = new Map<string, Progress>();
  private waiters: Array<() => void> = [];
  private stopping = false;
  /** Restarts each projection after any failure of its store or the log. */
  readonly supervisor: Supervisor;
  /** Events per batch while catching up (one read, one write of documents and checkpoint). */
  batchSize = 1000;
  /** Tries of a rebuild whose store keeps failing before it gives up. */
  rebuildTries = 6;
  /** The projections it runs (tests run others; set before bootstrap). */
  projections: Projection[] = PROJECTIONS;

  private readonly faultsTotal = new Counter({ name: 'gatehouse_projection_faults_total', help: 'Events a projection could not apply and skipped (each one a dead letter), since the process started', labelNames: ['projection'], registers: [] });
  private readonly skippedEvents: Gauge<'projection'>;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() @Inject(DEAD_LETTER_SINK) private readonly sink?: DeadLetterSink,
    @Optional() @Inject(LEASING) leasing?: Leasing,
  ) {
    this.supervisor = new Supervisor(this.logger, clock);
    this.supervisor.leasing = leasing;
    for (const projection of PROJECTIONS) this.faultsTotal.inc({ projection: projection.name }, 0);
    const progress = this.progress;
    this.skippedEvents = new Gauge({
      name: 'gatehouse_projection_skipped_events',
      help: 'Events the generation in use of a projection skipped because its fold failed on them (kept as dead letters; 0 once rebuilt without a fault)',
      labelNames: ['projection'],
      registers: [],
      collect() {
        for (const [projection, p] of progress) this.set({ projection }, p.skipped);
      },
    });
  }

  /** Adds the projections' fault metrics to the service's Prometheus registry. */
  registerMetrics(registry: Registry): void {
    for (const [name, metric] of [['gatehouse_projection_faults_total', this.faultsTotal], ['gatehouse_projection_skipped_events', this.skippedEvents]] as const) {
      if (!registry.getSingleMetric(name)) registry.registerMetric(metric);
    }
  }

  /** First wait before a projection whose store failed starts again; it doubles up to `maxRetryMs` (jittered). */
  get retryMs(): number {
    return this.supervisor.baseDelayMs;
  }
  set retryMs(ms: number) {
    this.supervisor.baseDelayMs = ms;
  }
  get maxRetryMs(): number {
    return this.supervisor.maxDelayMs;
  }
  set maxRetryMs(ms: number) {
    this.supervisor.maxDelayMs = ms;
  }

  /** The supervised workers, one per projection. */
  workers(): Worker[] {
    return this.supervisor.all();
  }

  private generationCheck?: NodeJS.Timeout;

  async onApplicationBootstrap(): Promise<void> {
    for (const projection of this.projections) {
      await this.supervisor.supervise({
        name: projectionWorker(projection.name),
        // Each run reads the generation in use, so a restart after a rebuild's switch continues there.
        start: async (fail) => this.start(projection, await this.readStore.generation(projection.name), true, fail),
        position: () => this.reached(projection.name),
        filter: { types: projection.handles },
        lease: projectionWorker(projection.name),
      });
    }
    // A quiet log brings no batch to notice a rebuild's switch with: look once a second too.
    this.generationCheck = setInterval(() => void this.followSwitches().catch(() => undefined), 1000);
    this.generationCheck.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.generationCheck);
    await this.supervisor.stop();
    await Promise.all([...this.subscriptions.values()].map((s) => s.stop()));
  }

  /**
   * Projections another replica runs (this one stands by for their leases): where they
   * stand and which generation they write, read from the read store, so this replica's
   * reads and R-LIST-5 waits follow them.
   */
  private async watchStandby(): Promise<void> {
    this.watching ??= (async () => {
      for (const projection of this.projections) {
        if (this.supervisor.get(projectionWorker(projection.name))?.state !== 'standby') continue;
        const generation = await this.readStore.generation(projection.name);
        const position = await this.readStore.checkpoint(checkpointName(projection.name, generation));
        const progress = this.progress.get(projection.name);
        if (progress?.following && progress.generation === generation && progress.position >= position) continue;
        this.progress.set(projection.name, { generation, following: false, position, events: progress?.events ?? 0, skipped: progress?.skipped ?? 0 });
        this.subscriptions.delete(projection.name);
      }
    })().finally(() => (this.watching = undefined));
    return this.watching;
  }

  private watching?: Promise<void>;

  private async followSwitches(): Promise<void> {
    await this.watchStandby();
    for (const projection of this.projections) {
      const progress = this.progress.get(projection.name);
      if (!progress?.following) continue;
      const active = await this.readStore.generation(projection.name);
      if (active !== progress.generation) await this.switchTo(projection, progress, active);
    }
  }

  /** The collection queries read now: that of the generation the projection runs at. */
  collection(collection: string): string {
    const projection = this.projections.find((p) => p.collections.includes(collection));
    return physicalCollection(collection, (projection && this.progress.get(projection.name)?.generation) ?? 1);
  }

  /** Runs started per projection: only the latest start of a projection takes its place in `progress` and `subscriptions`. */
  private readonly starts = new Map<string, number>();

  private async start(projection: Projection, generation: number, following: boolean, fail?: (error: unknown) => void): Promise<Subscription> {
    const run = (this.starts.get(projection.name) ?? 0) + 1;
    this.starts.set(projection.name, run);
    // Here, not once at boot: a store that is down at start is waited for like any other failure.
    await this.readStore.ensureIndexes([
      { collection: DEAD_LETTERS, fields: ['projection', 'generation', 'status', 'id'] },
      ...READ_MODEL_INDEXES.filter((i) => projection.collections.includes(i.collection)).map((i) => ({ ...i, collection: physicalCollection(i.collection, generation) })),
    ]);
    const from = await this.readStore.checkpoint(checkpointName(projection.name, generation));
    const faults = await this.faultsOf(projection.name, generation);
    const previous = this.progress.get(projection.name);
    const sameGeneration = previous?.generation === generation;
    const progress: Progress = { generation, following, position: from, events: sameGeneration ? previous.events : 0, ...faults };
    // Each run writes only through its own progress: a batch of a run that was replaced meanwhile (two restarts
    // crossing, a switch seen by a batch in flight) goes to its own generation and checkpoint, never the new one's.
    const subscription = this.store.subscribe((events, checkpoint) => this.applyBatch(projection, events, checkpoint, progress), {
      from,
      filter: { types: projection.handles },
      batchSize: this.batchSize,
      // Following: the supervisor restarts it from its checkpoint. A rebuild tries again on its own (see rebuild).
      onError: (error) => (fail ? fail(error) : this.logger.warn({ message: 'rebuild batch failed', projection: projection.name, error: errorName(error) })),
    });
    if (this.starts.get(projection.name) === run) {
      this.progress.set(projection.name, progress);
      this.subscriptions.set(projection.name, subscription);
    } else {
      progress.retired = true; // a later start has taken its place (the supervisor stops this one)
    }
    return subscription;
  }

  /** The dead letters of a projection's generation: how many, and the last. */
  private async faultsOf(projection: string, generation: number): Promise<Pick<Progress, 'skipped' | 'lastFault'>> {
    const where = { projection, generation, status: 'dead' };
    const skipped = await this.readStore.count(DEAD_LETTERS, where);
    if (skipped === 0) return { skipped };
    const [last] = await this.readStore.find<ProjectionFault>({ collection: DEAD_LETTERS, where, orderBy: [['failedAt', 'desc'], ['id', 'desc']], limit: 1 });
    return { skipped, lastFault: last && { eventId: last.eventId, eventType: last.eventType, position: last.position, reason: last.reason, failedAt: last.failedAt } };
  }

  /** Folds a batch into documents and writes them with the checkpoint, in the generation its run writes. */
  async applyBatch(projection: Projection, events: Recorded[], checkpoint: Position, progress = this.progress.get(projection.name)!): Promise<void> {
    if (progress.retired) return;
    const { generation } = progress;
    // A rebuild (the CLI) has switched the projection to a new generation: continue there, from its checkpoint.
    const active = progress.following ? await this.readStore.generation(projection.name) : generation;
    if (active !== generation) {
      await this.switchTo(projection, progress, active);
      return;
    }
    if (progress.retired) return;
    const workspace = new BatchWorkspace(this.readStore, (c) => physicalCollection(c, generation));
    const faults: ProjectionFault[] = [];
    for (const event of events) {
      workspace.begin(event);
      try {
        await projection.apply(event, workspace);
        // Another writer (a rolling deploy, a lease holder cut off mid-batch) has stored this event already: what
        // this fold made of documents that hold it, or later ones, is not what it made of them then. Its effects stand.
        if (workspace.readApplied) workspace.rollback();
      } catch (error) {
        if (error instanceof ReadStoreFailure) throw error.failure;
        // The fold fails on this event whenever it meets it: leave the event out, not the log.
        workspace.rollback();
        faults.push(projectionFault(projection.name, generation, event, error, this.clock()));
      }
    }
    const changes = workspace.changes();
    const at = { projection: checkpointName(projection.name, generation), position: checkpoint };
    for (let refused = await this.write(changes, faults, at); refused.length > 0; refused = await this.write(changes, faults, at)) {
      // Documents the store will never take (R-SEC-5, as a fold's fault): left as they were, each a dead letter of the event that made it last.
      const unstorable = new Set(refused.map((r) => `${r.collection}\u0000${r.id}`));
      if (refused.some((r) => r.collection === DEAD_LETTERS)) throw new Error(`the read store refused a dead letter: ${refused[0].reason}`);
      for (const r of refused) {
        const doc = changes.puts.find((p) => p.collection === r.collection && p.doc.id === r.id)?.doc;
        faults.push(refusedFault(projection.name, generation, events, r, doc?._pos, this.clock()));
      }
      changes.puts = changes.puts.filter(({ collection, doc }) => !unstorable.has(`${collection}\u0000${doc.id}`));
    }
    if (faults.length > 0) await this.reportFaults(projection, progress, faults);
    progress.position = checkpoint;
    progress.events += events.length;
    progress.lastEventAt = events[events.length - 1]?.recordedAt ?? progress.lastEventAt;
    progress.appliedAt = this.clock();
    this.wake();
    // With a synchronous store every await above resolves at once, so a long catch-up would be
    // one chain of microtasks that starves timers and requests (the app would not even finish
    // booting): let them in between batches.
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** R-SEC-5: loud, not silent: a log line, the metrics, `/health`, and the dead letters (and their Kafka topic). */
  private async reportFaults(projection: Projection, progress: Progress, faults: ProjectionFault[]): Promise<void> {
    for (const fault of faults) {
      this.faultsTotal.inc({ projection: projection.name });
      this.logger.error({ message: 'projection skipped an event it cannot apply', projection: projection.name, generation: fault.generation, eventId: fault.eventId, eventType: fault.eventType, position: fault.position, error: fault.reason.split(':')[0] });
      void this.sink?.publish(fault).catch((error) => this.logger.error({ message: 'dead letter not published', eventId: fault.eventId, error: errorName(error) }));
    }
    // Counted in the store: a batch replayed after a crash rewrites the same letters.
    progress.skipped = await this.readStore.count(DEAD_LETTERS, { projection: projection.name, generation: progress.generation, status: 'dead' });
    const last = faults[faults.length - 1];
    progress.lastFault = { eventId: last.eventId, eventType: last.eventType, position: last.position, reason: last.reason, failedAt: last.failedAt };
  }

  /** Writes a batch's documents, its dead letters and its checkpoint; answers the documents the store refused (nothing was then checkpointed). */
  private async write(changes: Changes, faults: ProjectionFault[], checkpoint: { projection: string; position: Position }) {
    const { refused } = await this.readStore.write({ puts: [...changes.puts, ...faults.map((doc) => ({ collection: DEAD_LETTERS, doc }))], deletes: changes.deletes }, checkpoint);
    return refused;
  }

  /**
   * A rebuild has switched the projection to `generation`: this run stops writing, and the worker restarts
   * once, however many batches in flight and checks of the interval see the switch.
   */
  private async switchTo(projection: Projection, progress: Progress, generation: number): Promise<void> {
    if (progress.retired || this.stopping) return;
    progress.retired = true;
    this.logger.log({ message: 'projection switched generation', projection: projection.name, generation });
    // Not awaited by a batch: the restart stops the subscription, which waits for the batch in flight.
    setImmediate(() => void this.supervisor.get(projectionWorker(projection.name))?.restart());
  }

  /**
   * Builds a projection from scratch into its next generation, beside the one in
   * use, and switches the service to it once it has caught up with the log: no
   * downtime. A running service notices the switch at its next batch.
   */
  async rebuild(name: string, onProgress: (p: { position: Position; head: Position; events: number }) => void): Promise<{ generation: number; events: number; skipped: number }> {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection) throw new Error(`no projection ${name}; known: ${this.projections.map((p) => p.name).join(', ')}`);
    const generation = (await this.readStore.generation(name)) + 1;
    await this.readStore.reset(checkpointName(name, generation), projection.collections.map((c) => physicalCollection(c, generation)));
    await this.readStore.ensureIndexes([{ collection: DEAD_LETTERS, fields: ['projection', 'generation', 'status', 'id'] }]);
    const head = await this.store.headPosition();
    const timer = setInterval(() => onProgress({ position: this.progress.get(name)!.position, head, events: this.progress.get(name)!.events }), 1000);
    try {
      // Faults of the fold are skipped and reported as in the service; a failing store is tried again from the checkpoint.
      for (let tries = 1; ; tries++) {
        const subscription = await this.start(projection, generation, false);
        try {
          await subscription.caughtUp;
          break;
        } catch (error) {
          if (tries >= this.rebuildTries) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.min(this.retryMs * 2 ** (tries - 1), this.maxRetryMs)));
        } finally {
          await subscription.stop();
        }
      }
    } finally {
      clearInterval(timer);
    }
    await this.readStore.switchGeneration(name, generation);
    // The generation just replaced stays while replicas and queries in flight move on; any older one nobody reads.
    for (let old = generation - 2; old >= 1; old--) {
      await this.readStore.drop(checkpointName(name, old), projection.collections.map((c) => physicalCollection(c, old)));
    }
    const { events, skipped } = this.progress.get(name)!;
    return { generation, events, skipped };
  }

  /** Every projection has caught up with the log as it was when each started. */
  async caughtUp(): Promise<void> {
    await Promise.all([...this.subscriptions.values()].map((s) => s.caughtUp));
  }

  /**
   * The position every projection has reached (the smallest of them). The
   * subscription's checkpoint also moves past events a projection does not handle.
   */
  position(): Position {
    let min: Position | undefined;
    for (const name of this.progress.keys()) {
      const reached = this.reached(name);
      if (min === undefined || reached < min) min = reached;
    }
    return min ?? 0n;
  }

  /** Where one projection stands: its checkpoint, or past it the events its subscription skipped as not its own. */
  private reached(name: string): Position {
    const progress = this.progress.get(name);
    const position = progress?.position ?? 0n;
    // A run that saw a rebuild's switch reads on without writing until its restart: only what it wrote counts.
    if (progress?.retired) return position;
    const followed = this.subscriptions.get(name)?.checkpoint ?? position;
    return followed > position ? followed : position;
  }

  /** R-LIST-5: resolves true once every projection has reached `position`, false after `timeoutMs`. */
  async waitFor(position: Position, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    const standby = () => this.supervisor.all().some((w) => w.state === 'standby');
    if (standby()) await this.watchStandby();
    while (this.position() < position) {
      const left = until - Date.now();
      if (left <= 0) return false;
      if (standby()) await this.watchStandby();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  /** Per projection: checkpoint, events applied since start, how far behind the log it is, and its faults. */
  async status(): Promise<ProjectionStatus[]> {
    return Promise.all(
      [...this.progress].map(async ([projection, p]) => {
        const worker = this.supervisor.get(projectionWorker(projection));
        // A rebuild (the CLI) runs no worker: its lag is read the same way.
        const lag = worker ? await worker.lag(this.store) : { events: 0, seconds: 0 };
        const failures = worker?.failures ?? 0;
        return {
          projection,
          status: failures > 0 ? 'retrying' : p.skipped > 0 ? 'degraded' : 'ok',
          state: worker?.state ?? (this.stopping ? 'stopped' : 'running'),
          restarts: worker?.restarts ?? 0,
          generation: p.generation,
          position: p.position.toString(),
          eventsApplied: p.events,
          behind: lag.events === undefined ? !worker?.caughtUp : lag.events > 0,
          lagMs: Math.round(lag.seconds * 1000),
          ...(lag.events !== undefined ? { lagEvents: lag.events } : {}),
          skippedEvents: p.skipped,
          ...(p.lastFault ? { lastFault: p.lastFault } : {}),
          failures,
          ...(failures > 0 && worker?.lastError ? { lastError: worker.lastError.name } : {}),
        };
      }),
    );
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** The dead letter of an event a projection's fold failed on: where and why, never the event's data (personal data). */
function projectionFault(projection: string, generation: number, event: Recorded, error: unknown, now: Date): ProjectionFault {
  const e = error as { name?: string; message?: string };
  return {
    id: `${checkpointName(projection, generation)}:${event.eventId}`,
    consumer: projection,
    projection,
    generation,
    eventId: event.eventId,
    eventType: event.type,
    stream: event.stream,
    position: event.position.toString(),
    ...(event.orgId ? { orgId: event.orgId } : {}),
    reason: `${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`.slice(0, 500),
    tries: 1,
    failedAt: now.toISOString(),
    status: 'dead',
  };
}

/** The dead letter of a document the read store refused: of the batch's last event that changed it (its `_pos`). */
function refusedFault(projection: string, generation: number, events: Recorded[], refused: RefusedDocument, pos: string | undefined, now: Date): ProjectionFault {
  const event = [...events].reverse().find((e) => e.position.toString() === pos) ?? events[events.length - 1];
  // The store's words may quote what the document holds: the quotes are left out.
  const reason = refused.reason.replace(/'[^']*'|"[^"]*"|`[^`]*`/g, '…');
  const fault = projectionFault(projection, generation, event, { name: 'DocumentRefused', message: `${refused.collection} ${refused.id}: ${reason}` }, now);
  return { ...fault, id: `${fault.id}:${refused.collection}:${refused.id}` };
}

/** The most documents one event may end at once (a person's sign-in history, say). */
const MAX_IDS_WHERE = 100_000;

/**
 * The documents one batch touches: loaded once, changed in memory, written
 * together. Each event's changes can be taken back, so an event the fold fails on
 * leaves no half of itself behind.
 */
class BatchWorkspace implements Workspace {
  private event!: Recorded;
  private readonly loaded = new Map<string, Doc | undefined>();
  private readonly current = new Map<string, Doc | null>();
  private readonly collectionOf = new Map<string, string>();
  /** What the current event changed, as it was before: absent from `current`, or this document (null: deleted) in this collection. */
  private readonly undo = new Map<string, { doc: Doc | null; collection: string } | undefined>();

  constructor(
    private readonly readStore: ReadStore,
    private readonly physical: (collection: string) => string,
  ) {}

  /** The current event's fold read a stored document that already holds this event or a later one. */
  readApplied = false;

  begin(event: Recorded): void {
    this.event = event;
    this.undo.clear();
    this.readApplied = false;
  }

  /** Takes back what the current event changed. */
  rollback(): void {
    for (const [key, before] of this.undo) {
      if (before) {
        this.current.set(key, before.doc);
        this.collectionOf.set(key, before.collection);
      } else {
        this.current.delete(key);
        this.collectionOf.delete(key);
      }
    }
    this.undo.clear();
  }

  async get<D extends Doc>(collection: string, id: string): Promise<D | undefined> {
    const key = `${collection}\u0000${id}`;
    if (this.current.has(key)) return (this.current.get(key) ?? undefined) as D | undefined;
    if (!this.loaded.has(key)) {
      let stored: D | undefined;
      try {
        stored = (await this.readStore.getMany<D>(this.physical(collection), [id])).get(id);
      } catch (error) {
        throw new ReadStoreFailure(error);
      }
      this.loaded.set(key, stored);
    }
    const stored = this.loaded.get(key) as D | undefined;
    if (stored?._pos && BigInt(stored._pos) >= this.event.position) this.readApplied = true;
    return stored;
  }

  put<D extends Doc>(collection: string, doc: D): void {
    const key = `${collection}\u0000${doc.id}`;
    // A document that already holds this event (a batch replayed after a crash) is not changed by it again.
    const stored = this.loaded.get(key);
    if (stored?._pos && BigInt(stored._pos) >= this.event.position && !this.current.has(key)) return;
    this.remember(key);
    this.collectionOf.set(key, collection);
    this.current.set(key, { ...doc, _pos: this.event.position.toString() });
  }

  delete(collection: string, id: string): void {
    const key = `${collection}\u0000${id}`;
    this.remember(key);
    this.collectionOf.set(key, collection);
    this.current.set(key, null);
  }

  async idsWhere(collection: string, field: string, value: string): Promise<string[]> {
    let stored: Doc[];
    try {
      stored = await this.readStore.find<Doc>({ collection: this.physical(collection), where: { [field]: value }, orderBy: [['id', 'asc']], limit: MAX_IDS_WHERE });
    } catch (error) {
      throw new ReadStoreFailure(error);
    }
    const ids = new Set(stored.map((doc) => doc.id));
    // What this batch has changed but not yet written decides over what is stored.
    for (const [key, doc] of this.current) {
      if (this.collectionOf.get(key) !== collection) continue;
      const id = key.slice(collection.length + 1);
      if (doc && (doc as unknown as Record<string, unknown>)[field] === value) ids.add(id);
      else ids.delete(id);
    }
    return [...ids];
  }

  private remember(key: string): void {
    if (this.undo.has(key)) return;
    this.undo.set(key, this.current.has(key) ? { doc: this.current.get(key)!, collection: this.collectionOf.get(key)! } : undefined);
  }

  changes(): Changes {
    const changes: Changes = { puts: [], deletes: [] };
    for (const [key, doc] of this.current) {
      const collection = this.collectionOf.get(key)!;
      if (doc) changes.puts.push({ collection: this.physical(collection), doc });
      else changes.deletes.push({ collection: this.physical(collection), id: key.slice(collection.length + 1) });
    }
    return changes;
  }
}

const WAIT_MS = 5000;

/**
 * R-LIST-5: a read given `Gatehouse-Min-Position` (or `?minPosition=`) waits, up
 * to 5 s, until the read models have reached it; if they have not, it says so
 * (503, `read_model_behind`) rather than answer with data older than the client's own write.
 */
export async function readAfter(request: GatehouseRequest, runner: ProjectionRunner): Promise<void> {
  const header = request.headers['gatehouse-min-position'];
  const query = (request.query as Record<string, unknown>).minPosition;
  const raw = typeof header === 'string' ? header : typeof query === 'string' ? query : undefined;
  if (raw === undefined) return;
  if (!/^\d{1,30}$/.test(raw)) throw new DomainError('validation_failed', 'minPosition must be a position returned by a command', { fields: [{ field: 'minPosition', problems: ['not a position'] }] });
  if (!(await runner.waitFor(BigInt(raw), WAIT_MS))) {
    throw new DomainError('read_model_behind', 'the read models have not reached that position yet; try again shortly', { position: runner.position().toString() });
  }
}
