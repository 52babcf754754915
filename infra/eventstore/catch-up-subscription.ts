import type { EventFilter, ReadAllOptions, ReadAllResult, Subscription, SubscriptionHandler } from './port';
import type { Position } from '../../domain/shared/envelope';

/**
 * Wakes waiting readers when something was appended. A sequence number closes the gap between a
 * read and a wait. Readers wake on the next turn of the event loop, not within the append's own
 * chain of promises: the command's answer goes out first, and the work an event sets going in
 * this process (projections, consumers) is never inside one request's time — where it would
 * tell, for one, a known email's link request from an unknown one's (R-SEC-3).
 */
export class AppendSignal {
  private seq = 0;
  private waiters: Array<() => void> = [];
  private waking = false;

  get sequence(): number {
    return this.seq;
  }

  notify(): void {
    this.seq++;
    if (this.waking) return;
    this.waking = true;
    setImmediate(() => {
      this.waking = false;
      // A copy: each waiter removes itself from the list it was added to.
      const waiters = [...this.waiters];
      this.waiters = [];
      for (const wake of waiters) wake();
    });
  }

  /** Resolves on the next notify after `seenSequence`, or after `timeoutMs`. */
  wait(seenSequence: number, timeoutMs: number): Promise<void> {
    if (this.seq !== seenSequence) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref?.();
      const waiters = this.waiters;
      function done() {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      this.waiters.push(done);
    });
  }
}

export interface CatchUpSource {
  readAll(from: Position, options: ReadAllOptions): Promise<ReadAllResult>;
  readonly signal: AppendSignal;
  /** How long to wait between polls when no local append signalled (other processes may write). */
  readonly pollMs: number;
}

/**
 * Reads the log from a checkpoint in batches until it has caught up, then waits
 * for appends and reads again. The handler sees each event once, in order; the
 * checkpoint it gets is where the subscription would resume.
 */
export class CatchUpSubscription implements Subscription {
  private running = true;
  private position: Position;
  private readonly loop: Promise<void>;
  private resolveCaughtUp!: () => void;
  private rejectCaughtUp!: (e: unknown) => void;
  readonly caughtUp: Promise<void>;

  constructor(
    private readonly source: CatchUpSource,
    private readonly handler: SubscriptionHandler,
    private readonly options: { from: Position; filter?: EventFilter; batchSize?: number; onError?: (e: unknown) => void },
  ) {
    this.position = options.from;
    this.caughtUp = new Promise<void>((resolve, reject) => {
      this.resolveCaughtUp = resolve;
      this.rejectCaughtUp = reject;
    });
    this.caughtUp.catch(() => undefined);
    this.loop = this.run();
  }

  get checkpoint(): Position {
    return this.position;
  }

  private async run(): Promise<void> {
    const limit = this.options.batchSize ?? 1000;
    try {
      while (this.running) {
        const seen = this.source.signal.sequence;
        const { events, next } = await this.source.readAll(this.position, { limit, filter: this.options.filter });
        if (!this.running) break;
        if (events.length > 0) await this.handler(events, next);
        this.position = next;
        if (events.length < limit) {
          this.resolveCaughtUp();
          await this.source.signal.wait(seen, this.source.pollMs);
        }
      }
    } catch (error) {
      this.running = false;
      this.rejectCaughtUp(error);
      if (this.options.onError) this.options.onError(error);
      else throw error;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.source.signal.notify();
    await this.loop.catch(() => undefined);
  }
}
