import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { EventStore, Position, RecordedEvent, Subscription } from '../../infra/eventstore/port';
import { checkpointName, physicalCollection, type Changes, type ReadStore } from '../../infra/readstore/port';
import { directory } from '../../projections/directory';
import { READ_MODEL_INDEXES } from '../../projections/indexes';
import { loginActivity } from '../../projections/login-activity';
import { permissionHistory } from '../../projections/permission-history';
import type { Doc, Projection, Workspace } from '../../projections/projection';
import { CLOCK, EVENT_STORE, READ_STORE, type Clock } from '../shared/tokens';

export const PROJECTIONS: Projection[] = [directory, permissionHistory, loginActivity];

interface Progress {
  generation: number;
  /** The service follows the active generation; a rebuild writes its own until it switches. */
  following: boolean;
  position: Position;
  lastEventAt?: Date;
  appliedAt?: Date;
  events: number;
}

/**
 * Runs every projection from its stored checkpoint: catches up in batches, then
 * follows the log. Each batch's documents and the new checkpoint are written
 * together (atomically on SQLite; on MongoDB documents first, and a document
 * already holding an event is not changed by it again), so a crash anywhere
 * neither loses nor double-applies an event.
 */
@Injectable()
export class ProjectionRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('projections');
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly progress = new Map<string, Progress>();
  private waiters: Array<() => void> = [];
  /** Events per batch while catching up (one read, one write of documents and checkpoint). */
  batchSize = 1000;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  private generationCheck?: NodeJS.Timeout;

  async onApplicationBootstrap(): Promise<void> {
    for (const projection of PROJECTIONS) await this.start(projection, await this.readStore.generation(projection.name));
    // A quiet log brings no batch to notice a rebuild's switch with: look once a second too.
    this.generationCheck = setInterval(() => void this.followSwitches().catch(() => undefined), 1000);
    this.generationCheck.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.generationCheck);
    await Promise.all([...this.subscriptions.values()].map((s) => s.stop()));
  }

  private async followSwitches(): Promise<void> {
    for (const projection of PROJECTIONS) {
      const progress = this.progress.get(projection.name);
      const active = await this.readStore.generation(projection.name);
      if (progress?.following && active !== progress.generation) {
        progress.generation = active;
        await this.restart(projection, active);
      }
    }
  }

  /** The collection queries read now: that of the generation the projection runs at. */
  collection(collection: string): string {
    const projection = PROJECTIONS.find((p) => p.collections.includes(collection));
    return physicalCollection(collection, (projection && this.progress.get(projection.name)?.generation) ?? 1);
  }

  private async start(projection: Projection, generation: number, following = true): Promise<Subscription> {
    await this.readStore.ensureIndexes(READ_MODEL_INDEXES.filter((i) => projection.collections.includes(i.collection)).map((i) => ({ ...i, collection: physicalCollection(i.collection, generation) })));
    const from = await this.readStore.checkpoint(checkpointName(projection.name, generation));
    this.progress.set(projection.name, { generation, following, position: from, events: 0 });
    const subscription = this.store.subscribe((events, checkpoint) => this.applyBatch(projection, events, checkpoint), {
      from,
      filter: { types: projection.handles },
      batchSize: this.batchSize,
      onError: (error) => this.logger.error({ message: 'projection stopped', projection: projection.name, error: String(error) }),
    });
    this.subscriptions.set(projection.name, subscription);
    return subscription;
  }

  /** Folds a batch into documents and writes them with the checkpoint, in the generation it runs at. */
  async applyBatch(projection: Projection, events: RecordedEvent[], checkpoint: Position): Promise<void> {
    const progress = this.progress.get(projection.name)!;
    const { generation } = progress;
    // A rebuild (the CLI) has switched the projection to a new generation: continue there, from its checkpoint.
    const active = progress.following ? await this.readStore.generation(projection.name) : generation;
    if (active !== generation) {
      progress.generation = active;
      setImmediate(() => void this.restart(projection, active));
      return;
    }
    const workspace = new BatchWorkspace(this.readStore, (c) => physicalCollection(c, generation));
    for (const event of events) {
      workspace.event = event;
      await projection.apply(event, workspace);
    }
    await this.readStore.write(workspace.changes(), { projection: checkpointName(projection.name, generation), position: checkpoint });
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

  private async restart(projection: Projection, generation: number): Promise<void> {
    await this.subscriptions.get(projection.name)?.stop();
    this.logger.log({ message: 'projection switched generation', projection: projection.name, generation });
    await this.start(projection, generation);
  }

  /**
   * Builds a projection from scratch into its next generation, beside the one in
   * use, and switches the service to it once it has caught up with the log: no
   * downtime. A running service notices the switch at its next batch.
   */
  async rebuild(name: string, onProgress: (p: { position: Position; head: Position; events: number }) => void): Promise<{ generation: number; events: number }> {
    const projection = PROJECTIONS.find((p) => p.name === name);
    if (!projection) throw new Error(`no projection ${name}; known: ${PROJECTIONS.map((p) => p.name).join(', ')}`);
    const generation = (await this.readStore.generation(name)) + 1;
    await this.readStore.reset(checkpointName(name, generation), projection.collections.map((c) => physicalCollection(c, generation)));
    const subscription = await this.start(projection, generation, false);
    const head = await this.store.headPosition();
    const timer = setInterval(() => onProgress({ position: this.progress.get(name)!.position, head, events: this.progress.get(name)!.events }), 1000);
    try {
      await subscription.caughtUp;
    } finally {
      clearInterval(timer);
      await subscription.stop();
    }
    await this.readStore.switchGeneration(name, generation);
    return { generation, events: this.progress.get(name)!.events };
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
    for (const [name, { position }] of this.progress) {
      const followed = this.subscriptions.get(name)?.checkpoint ?? position;
      const reached = followed > position ? followed : position;
      if (min === undefined || reached < min) min = reached;
    }
    return min ?? 0n;
  }

  /** R-LIST-5: resolves true once every projection has reached `position`, false after `timeoutMs`. */
  async waitFor(position: Position, timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.position() < position) {
      const left = until - Date.now();
      if (left <= 0) return false;
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

  /** Per projection: checkpoint, events applied since start, and how far behind the log it is. */
  async status(): Promise<Array<{ projection: string; position: string; eventsApplied: number; behind: boolean; lagMs: number }>> {
    const head = await this.store.headPosition();
    return [...this.progress].map(([projection, p]) => {
      const followed = this.subscriptions.get(projection)?.checkpoint ?? p.position;
      const behind = (followed > p.position ? followed : p.position) < head;
      return {
        projection,
        position: p.position.toString(),
        eventsApplied: p.events,
        behind,
        lagMs: behind && p.lastEventAt ? Math.max(0, this.clock().getTime() - p.lastEventAt.getTime()) : 0,
      };
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** The documents one batch touches: loaded once, changed in memory, written together. */
class BatchWorkspace implements Workspace {
  event!: RecordedEvent;
  private readonly loaded = new Map<string, Doc | undefined>();
  private readonly current = new Map<string, Doc | null>();
  private readonly collectionOf = new Map<string, string>();

  constructor(
    private readonly readStore: ReadStore,
    private readonly physical: (collection: string) => string,
  ) {}

  async get<D extends Doc>(collection: string, id: string): Promise<D | undefined> {
    const key = `${collection}\u0000${id}`;
    if (this.current.has(key)) return (this.current.get(key) ?? undefined) as D | undefined;
    if (!this.loaded.has(key)) this.loaded.set(key, (await this.readStore.getMany<D>(this.physical(collection), [id])).get(id));
    return this.loaded.get(key) as D | undefined;
  }

  put<D extends Doc>(collection: string, doc: D): void {
    const key = `${collection}\u0000${doc.id}`;
    // A document that already holds this event (a batch replayed after a crash) is not changed by it again.
    const stored = this.loaded.get(key);
    if (stored?._pos && BigInt(stored._pos) >= this.event.position && !this.current.has(key)) return;
    this.collectionOf.set(key, collection);
    this.current.set(key, { ...doc, _pos: this.event.position.toString() });
  }

  delete(collection: string, id: string): void {
    const key = `${collection}\u0000${id}`;
    this.collectionOf.set(key, collection);
    this.current.set(key, null);
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
