import { Logger } from '@nestjs/common';
import type { ReadStore } from '../../infra/readstore/port';
import { errorName } from '../shared/logging';
import type { Clock } from '../shared/tokens';

/** The read-store collection of throttle counters: sign-in failures, email requests, link emails per recipient. */
export const THROTTLE = 'throttle';

/** A counter every replica reads and swaps. `forgetAfter`: from then on nothing in it counts, and a sweep removes it. */
export interface Counter {
  id: string;
  rev: number;
  forgetAfter: number;
}

/** What to store instead (nothing: leave the counter as it is) and what to answer. */
export interface Decision<C extends Counter, A> {
  next?: Omit<C, 'id' | 'rev'>;
  answer: A;
}

/** One counter an attempt takes a slot in: how long it must wait by it (0: go), its slot taken, and given back. */
export interface Slot<C extends Counter> {
  id: string;
  wait(stored: C | undefined): number;
  take(stored: C | undefined): Omit<C, 'id' | 'rev'>;
  giveBack(stored: C): Omit<C, 'id' | 'rev'>;
}

/** Races lost on one counter before the attempt is answered as throttled: never let through uncounted. */
const TRIES = 16;
/** The wait given for a counter too contended to count on. */
export const CONTENDED_WAIT_MS = 1_000;
/** How often each replica removes forgotten counters (the delete is idempotent, so replicas need not agree who does). */
const SWEEP_EVERY_MS = 10 * 60_000;

/**
 * Throttle counters kept in the read store, so that every replica counts the same
 * attempts once and a restart forgets nothing: each change is read, decided by a
 * pure function of the stored counter, and swapped in only if no one changed the
 * counter meanwhile (else read again). Counters past their `forgetAfter` are
 * removed by an indexed delete, at most every ten minutes per replica.
 */
export class ThrottleCounters {
  private readonly logger = new Logger('throttle');
  private lastSweep = 0;
  private indexed?: Promise<void>;

  constructor(
    private readonly store: ReadStore,
    private readonly clock: Clock,
  ) {}

  read<C extends Counter>(ids: string[]): Promise<Map<string, C>> {
    return this.store.getMany<C>(THROTTLE, ids);
  }

  /**
   * Read–decide–swap on one counter until the swap lands (or nothing is to be
   * stored): the answer of the decision that held. `first`: counters read just
   * before, for the first try. Undefined when every try lost a race.
   */
  async update<C extends Counter, A>(id: string, decide: (stored: C | undefined) => Decision<C, A> | Promise<Decision<C, A>>, first?: Map<string, C>): Promise<{ answer: A } | undefined> {
    await this.sweep();
    for (let tried = 0; tried < TRIES; tried++) {
      const stored = tried === 0 && first ? first.get(id) : (await this.read<C>([id])).get(id);
      const { next, answer } = await decide(stored);
      if (!next || (await this.store.swap<C>(THROTTLE, { ...next, id } as Omit<C, 'rev'>, stored?.rev ?? 0))) return { answer };
      // Another replica or request came first: a short, growing, jittered pause, so the racers spread out.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** Math.min(tried, 5)));
    }
    return undefined;
  }

  /**
   * R-SEC-3: one attempt takes a slot in each counter, all or none, each checked
   * and counted in one step, so parallel attempts get no more than sequential
   * ones. How long the attempt must wait (0: every slot is taken). A counter
   * that refuses after others took their slot gives those back.
   */
  async takeAll<C extends Counter>(slots: Array<Slot<C>>): Promise<number> {
    const stored = await this.read<C>(slots.map((s) => s.id));
    // Refused by what is stored already: nothing to write.
    const refused = Math.max(0, ...slots.map((s) => s.wait(stored.get(s.id))));
    if (refused > 0) return refused;
    const taken: Array<Slot<C>> = [];
    for (const slot of slots) {
      const outcome = await this.update<C, number>(
        slot.id,
        (counter) => {
          const wait = slot.wait(counter);
          return wait > 0 ? { answer: wait } : { next: slot.take(counter), answer: 0 };
        },
        stored,
      );
      const wait = outcome?.answer ?? CONTENDED_WAIT_MS;
      if (wait > 0) {
        // What a lost race leaves taken stays counted until forgotten: too many, never too few.
        for (const back of taken) await this.update<C, void>(back.id, (counter) => ({ next: counter && back.giveBack(counter), answer: undefined }));
        return wait;
      }
      taken.push(slot);
    }
    return 0;
  }

  /** Removes counters nothing counts in any more; a store that fails it is logged, and the next sweep tries again. */
  private async sweep(): Promise<void> {
    const now = this.clock().getTime();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    try {
      await (this.indexed ??= this.store.ensureIndexes([{ collection: THROTTLE, fields: ['forgetAfter'] }]));
      await this.store.deleteWhere(THROTTLE, { forgetAfter: { lt: now } });
    } catch (error) {
      this.indexed = undefined;
      this.logger.error({ message: 'forgotten throttle counters not removed', error: errorName(error) });
    }
  }
}
