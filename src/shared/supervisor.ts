import type { EventFilter, EventStore } from '../../infra/eventstore/port';
import type { Leases } from '../../infra/leases/port';
import type { Position } from '../../domain/shared/envelope';

/**
 * running: started (and, after a failure, caught up again); restarting: failed, waiting out its
 * backoff or catching up after it; starting: its first start has not finished (a broker that is
 * down at start); standby: another replica holds its lease (it takes over when that one's term
 * ends); stopped: shut down.
 */
export type WorkerState = 'starting' | 'running' | 'restarting' | 'standby' | 'stopped';

/** How this replica takes part in leases: the store, its name as a holder, and a term's length. */
export interface Leasing {
  leases: Leases;
  holder: string;
  ttlMs: number;
}

/** One run of a worker: how to stop it, and (for a log follower) when it has read everything there was. */
export interface WorkerRun {
  stop(): Promise<void>;
  caughtUp?: Promise<void>;
}

export interface WorkerSpec {
  name: string;
  /** Starts one run; `fail` ends it with an error (the worker is then restarted after a backoff). */
  start(fail: (error: unknown) => void): Promise<WorkerRun>;
  /** The log position it has handled up to, for its lag. */
  position(): Position;
  /** The events it waits for (its lag counts only these). */
  filter?: EventFilter;
  /** Work that must have one runner across replicas: it runs only while this replica holds the lease of that name. */
  lease?: string;
  /**
   * Its own measure of what it has not handled, for work whose progress the log's positions do not
   * tell (a consumer group sharing partitions among replicas): events behind, and for how long.
   */
  backlog?: () => Promise<{ events: number; behindSince?: Date }>;
}

export interface WorkerStatus {
  worker: string;
  state: WorkerState;
  /** Has read everything there was since it (re)started. */
  caughtUp: boolean;
  position: string;
  /** Restarts after a failure since the process started. */
  restarts: number;
  /** Failures since it last caught up (0 when healthy). */
  failures: number;
  lastError?: { name: string; message: string };
  lastRestartAt?: string;
  /** Its lease, when it has one: the holder's token while this replica holds it. */
  lease?: { name: string; held: boolean; token?: number };
}

export interface WorkerLag {
  /** Events it has not handled yet (counted up to LAG_COUNT_CAP); undefined when the log cannot be read. */
  events?: number;
  /** Since the oldest event it has not handled was recorded; 0 when it has handled everything. */
  seconds: number;
}

/** Lag counts stop here: enough to tell "a few" from "many" without reading the whole log on every scrape. */
export const LAG_COUNT_CAP = 1000;

interface Log {
  warn(message: Record<string, unknown>): void;
  log(message: Record<string, unknown>): void;
}

/** For logs and /health: the kind of failure and a short message with no address in it. */
function describeError(error: unknown): { name: string; message: string } {
  const e = error as { name?: string; message?: string; code?: string | number };
  const name = [e?.name ?? 'Error', e?.code].filter((x) => x !== undefined && x !== '').join(' ');
  const message = String(e?.message ?? error)
    .replace(/[^\s@<>"']+@[^\s@<>"']+/g, '<address>')
    .slice(0, 200);
  return { name, message };
}

/**
 * A worker under supervision: started, and after any error stopped and started again
 * with capped, jittered exponential backoff, until the supervisor stops. A restarted
 * worker counts as `restarting` until it has caught up again.
 */
export class Worker {
  state: WorkerState = 'starting';
  caughtUp = false;
  restarts = 0;
  failures = 0;
  lastError?: { name: string; message: string };
  lastRestartAt?: Date;
  /** When it was last seen with nothing left to handle (for its lag when the log cannot be read). */
  caughtUpAt?: Date;
  readonly startedAt: Date;
  private run?: WorkerRun;
  private runId = 0;
  private timer?: NodeJS.Timeout;
  /** Leased work: whether this replica holds the lease, and its token. */
  private holding = false;
  private token?: number;
  private renewing = false;
  /** Fires when the term surely ends without a renewal: the work stops before another replica may take over. */
  private expiry?: NodeJS.Timeout;
  private leaseTimer?: NodeJS.Timeout;

  constructor(
    readonly spec: WorkerSpec,
    private readonly supervisor: Supervisor,
  ) {
    this.startedAt = supervisor.now();
  }

  get name(): string {
    return this.spec.name;
  }

  /** Starts it: at once, or for leased work, once this replica holds the lease. */
  async begin(): Promise<void> {
    const leasing = this.supervisor.leasing;
    if (!this.spec.lease || !leasing) return this.launch();
    await this.keepLease(leasing);
    const every = Math.max(50, Math.floor(leasing.ttlMs / 3));
    this.leaseTimer = setInterval(() => void this.keepLease(leasing), every);
    this.leaseTimer.unref?.();
  }

  /**
   * Takes or renews the lease, and starts or stops the work to match: it runs only while
   * the lease is surely held (renewed within a term, with a margin), so a replica that
   * cannot reach the store stops before another may take over.
   */
  private async keepLease({ leases, holder, ttlMs }: Leasing): Promise<void> {
    if (this.isStopped() || this.renewing) return;
    this.renewing = true;
    const asked = Date.now();
    let grant: Awaited<ReturnType<Leases['acquire']>> | 'unknown';
    try {
      grant = await leases.acquire(this.spec.lease!, holder, ttlMs);
    } catch {
      grant = 'unknown'; // held, if it was, until its expiry timer says otherwise
    } finally {
      this.renewing = false;
    }
    if (this.isStopped()) {
      if (grant && grant !== 'unknown') await leases.release(this.spec.lease!, holder).catch(() => undefined);
      return;
    }
    if (grant === 'unknown') return;
    if (!grant) {
      if (this.holding || this.state !== 'standby') await this.yieldLease('another replica holds the lease', 'standby');
      return;
    }
    // The term began no earlier than this request was sent; a fifth of it is kept as a margin for the store's clock.
    clearTimeout(this.expiry);
    this.expiry = setTimeout(() => void this.yieldLease('lease not renewed in time', 'restarting'), Math.max(0, asked + Math.floor((ttlMs * 4) / 5) - Date.now()));
    this.expiry.unref?.();
    if (this.holding) return;
    this.holding = true;
    this.token = grant.token;
    this.supervisor.logger.log({ message: 'lease taken; starting', worker: this.name, lease: this.spec.lease, token: grant.token });
    this.state = 'starting';
    await this.launch();
  }

  /**
   * Stops the work. `standby`: another replica holds the lease (it reports the work's lag);
   * `restarting`: the lease store did not answer in time, so nobody may be doing it (the lag grows here).
   */
  private async yieldLease(reason: string, state: 'standby' | 'restarting'): Promise<void> {
    clearTimeout(this.expiry);
    if (this.isStopped()) return;
    if (this.holding) this.supervisor.logger.warn({ message: 'lease lost; stopping', worker: this.name, lease: this.spec.lease, token: this.token, reason });
    this.holding = false;
    this.token = undefined;
    const run = this.run;
    this.run = undefined;
    this.runId++;
    this.caughtUp = false;
    clearTimeout(this.timer);
    this.state = state;
    if (state === 'restarting') this.lastError = { name: 'LeaseNotRenewed', message: reason };
    await run?.stop().catch(() => undefined);
  }

  /** Leased work runs only while the lease is held. */
  private mayRun(): boolean {
    return !this.spec.lease || !this.supervisor.leasing || this.holding;
  }

  /** Starts a run; resolves once it has started or failed (a failure schedules the next). */
  async launch(): Promise<void> {
    if (this.state === 'stopped' || !this.mayRun()) return;
    const id = ++this.runId;
    try {
      const run = await this.spec.start((error) => {
        if (id === this.runId) this.failed(error);
      });
      if (id !== this.runId || this.isStopped()) {
        await run.stop().catch(() => undefined);
        return;
      }
      this.run = run;
      if (this.state === 'starting') this.state = 'running';
      (run.caughtUp ?? Promise.resolve()).then(
        () => {
          if (id !== this.runId || this.state === 'stopped') return;
          this.caughtUp = true;
          this.caughtUpAt = this.supervisor.now();
          this.failures = 0;
          this.state = 'running';
        },
        () => undefined, // its failure comes through `fail`
      );
    } catch (error) {
      if (id === this.runId) this.failed(error);
    }
  }

  private isStopped(): boolean {
    return this.state === 'stopped';
  }

  /** Stops the current run and starts another at once (not a failure: e.g. a projection switched generation). */
  async restart(): Promise<void> {
    if (this.state === 'stopped') return;
    const run = this.run;
    this.run = undefined;
    this.runId++;
    this.caughtUp = false;
    await run?.stop().catch(() => undefined);
    await this.launch();
  }

  private failed(error: unknown): void {
    if (this.state === 'stopped') return;
    const run = this.run;
    this.run = undefined;
    this.runId++;
    this.failures++;
    this.caughtUp = false;
    this.state = 'restarting';
    this.lastError = describeError(error);
    const retryInMs = this.supervisor.delay(this.failures);
    this.supervisor.logger.warn({ message: 'worker failed; restarting', worker: this.name, attempt: this.failures, retryInMs, error: this.lastError.name });
    void run?.stop().catch(() => undefined);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.state === 'stopped') return;
      this.restarts++;
      this.lastRestartAt = this.supervisor.now();
      this.supervisor.onRestart?.(this.name);
      void this.launch();
    }, retryInMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.runId++;
    clearTimeout(this.timer);
    clearInterval(this.leaseTimer);
    clearTimeout(this.expiry);
    const run = this.run;
    this.run = undefined;
    await run?.stop().catch(() => undefined);
    // Handed over at once, not after the term: another replica takes it at its next renewal.
    const leasing = this.supervisor.leasing;
    if (this.holding && leasing) await leasing.leases.release(this.spec.lease!, leasing.holder).catch(() => undefined);
    this.holding = false;
  }

  status(): WorkerStatus {
    return {
      worker: this.name,
      state: this.state,
      caughtUp: this.caughtUp,
      position: this.spec.position().toString(),
      restarts: this.restarts,
      failures: this.failures,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.lastRestartAt ? { lastRestartAt: this.lastRestartAt.toISOString() } : {}),
      ...(this.spec.lease && this.supervisor.leasing ? { lease: { name: this.spec.lease, held: this.holding, ...(this.token !== undefined ? { token: this.token } : {}) } } : {}),
    };
  }

  /**
   * How far behind the log it is: the events after its position it waits for (up to
   * LAG_COUNT_CAP), and the time since the oldest of them was recorded. When the log cannot
   * be read, the time since it was last seen caught up: a stopped worker's lag grows.
   */
  async lag(store: Pick<EventStore, 'readAll'>): Promise<WorkerLag> {
    // The replica holding the lease reports how far the work is behind.
    if (this.state === 'standby') return { seconds: 0 };
    const now = this.supervisor.now();
    try {
      if (this.spec.backlog) {
        const { events, behindSince } = await Promise.race([
          this.spec.backlog(),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no backlog in time')), 2_000).unref()),
        ]);
        if (events === 0 && this.state === 'running') this.caughtUpAt = now;
        return { events, seconds: events === 0 ? 0 : Math.max(0, (now.getTime() - (behindSince ?? now).getTime()) / 1000) };
      }
      const { events } = await store.readAll(this.spec.position(), { limit: LAG_COUNT_CAP, filter: this.spec.filter });
      if (events.length === 0) {
        if (this.state === 'running') this.caughtUpAt = now;
        return { events: 0, seconds: 0 };
      }
      return { events: events.length, seconds: Math.max(0, (now.getTime() - events[0].recordedAt.getTime()) / 1000) };
    } catch {
      const since = this.caughtUpAt ?? this.startedAt;
      return { seconds: Math.max(0, (now.getTime() - since.getTime()) / 1000) };
    }
  }
}

/**
 * Runs followers of the log (projections, consumers, the publisher, sweepers) so that
 * an error never stops one for good: each is restarted with capped, jittered
 * exponential backoff, forever, until shutdown, and every restart is logged (worker
 * name, attempt, delay, error name: never personal data) and counted.
 */
export class Supervisor {
  /**
   * First wait before a restart; it doubles per failure up to `maxDelayMs`; each wait is jittered
   * down by up to half. The cap bounds how long a worker stays behind after its store came back.
   */
  baseDelayMs = 500;
  maxDelayMs = 10_000;
  onRestart?: (worker: string) => void;
  /** Set where replicas share leases: leased workers then run in one replica at a time. */
  leasing?: Leasing;
  private readonly workers = new Map<string, Worker>();

  constructor(
    readonly logger: Log,
    readonly now: () => Date = () => new Date(),
    private readonly random: () => number = Math.random,
  ) {}

  /** The wait before the restart after `failures` failures in a row. */
  delay(failures: number): number {
    const capped = Math.min(this.baseDelayMs * 2 ** Math.min(failures - 1, 30), this.maxDelayMs);
    return Math.round(capped / 2 + (this.random() * capped) / 2);
  }

  /** Supervises a worker (replacing a stopped one of the same name) and starts it; resolves once its first start has finished or failed. */
  async supervise(spec: WorkerSpec, options: { background?: boolean } = {}): Promise<Worker> {
    await this.workers.get(spec.name)?.stop();
    const worker = new Worker(spec, this);
    this.workers.set(spec.name, worker);
    const launched = worker.begin();
    if (!options.background) await launched;
    return worker;
  }

  get(name: string): Worker | undefined {
    return this.workers.get(name);
  }

  all(): Worker[] {
    return [...this.workers.values()];
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((w) => w.stop()));
  }
}
