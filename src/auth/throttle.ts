import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../../domain/shared/errors';
import type { ReadStore } from '../../infra/readstore/port';
import { CLOCK, READ_STORE, type Clock } from '../shared/tokens';
import { ThrottleCounters, type Counter } from './counters';

/** One sign-in counter: failures, and attempts let through and not yet decided, which count as failures until they are (R-SEC-3). */
interface SignInCounter extends Counter {
  failures: number;
  lastFailureAt: number;
  pending: number;
  lastPendingAt: number;
}
type SignInCount = Omit<SignInCounter, 'id' | 'rev'>;

/** Free failures, then each one doubles the wait, up to a cap. */
interface Rule {
  free: number;
  baseMs: number;
  capMs: number;
}

const RULES: Record<'accountFromIp' | 'ip' | 'account', Rule> = {
  // A person mistyping from their own address: a few free tries, then growing waits.
  accountFromIp: { free: 5, baseMs: 1_000, capMs: 5 * 60_000 },
  // One address trying many accounts.
  ip: { free: 30, baseMs: 1_000, capMs: 15 * 60_000 },
  // Many addresses against one account: a short cap, so strangers can slow an account down but never lock it out.
  account: { free: 50, baseMs: 250, capMs: 30_000 },
};

/** How long an attempt held back only by others in flight waits for them before it is refused. */
const MAX_QUEUED_MS = 10_000;

/** Failures are forgotten after this long without a new one. */
const FORGET_MS = 15 * 60_000;

/** What of a counter still counts at `now`. */
function live(counter: SignInCount | undefined, now: number): SignInCount {
  if (!counter) return { failures: 0, lastFailureAt: 0, pending: 0, lastPendingAt: 0, forgetAfter: 0 };
  const failures = now - counter.lastFailureAt > FORGET_MS ? 0 : counter.failures;
  const pending = now - counter.lastPendingAt > FORGET_MS ? 0 : counter.pending;
  return { ...counter, failures, pending };
}

/** A counter as stored: forgotten FORGET_MS after its last failure or attempt, at once when it holds nothing. */
function stored(counter: Omit<SignInCount, 'forgetAfter'>, now: number): SignInCount {
  const empty = counter.failures === 0 && counter.pending === 0;
  return { ...counter, forgetAfter: empty ? now : Math.max(counter.lastFailureAt, counter.lastPendingAt) + FORGET_MS };
}

/** R-CRED-7: how long an attempt must still wait by one counter (0: go ahead). */
function signInWait(counter: SignInCount | undefined, rule: Rule, now: number): number {
  const { failures, pending, lastFailureAt, lastPendingAt } = live(counter, now);
  const excess = failures + pending - rule.free;
  if (excess <= 0) return 0;
  const delay = Math.min(rule.capMs, rule.baseMs * 2 ** (excess - 1));
  const since = Math.max(failures > 0 ? lastFailureAt : 0, pending > 0 ? lastPendingAt : 0);
  return Math.max(0, since + delay - now);
}

/** An attempt let through: counted as a failure until it is settled. */
const reserved = (counter: SignInCount | undefined, now: number) => {
  const c = live(counter, now);
  return stored({ ...c, pending: c.pending + 1, lastPendingAt: now }, now);
};
/** A reservation taken back (another counter refused the attempt): nothing else changes. */
const unreserved = (counter: SignInCount, now: number) => stored({ ...counter, pending: Math.max(0, counter.pending - 1) }, now);
/** The reserved attempt failed: it stays counted, as a failure now. */
const failedOnce = (counter: SignInCount | undefined, now: number) => {
  const c = live(counter, now);
  return stored({ ...c, failures: c.failures + 1, lastFailureAt: now, pending: Math.max(0, c.pending - 1) }, now);
};
/** The reserved attempt succeeded: given back, and with `clearsFailures` (the person from their own address) their mistakes with it. */
const succeededOnce = (counter: SignInCount | undefined, clearsFailures: boolean, now: number) => {
  const c = live(counter, now);
  return stored({ ...c, pending: Math.max(0, c.pending - 1), ...(clearsFailures ? { failures: 0 } : {}) }, now);
};

/**
 * R-CRED-7: sign-in failures per account, per address, and per account from one
 * address, each slowed with growing delays. R-SEC-3: an attempt is checked and
 * counted in one step per counter (`reserve`) before the password or code is
 * verified, so parallel guesses get no more tries than sequential ones; `failed`
 * or `succeeded` then settles it. The counters are in the read store: every
 * replica counts the same attempts, and a restart forgets none.
 */
@Injectable()
export class SignInThrottle {
  private readonly counters: ThrottleCounters;

  constructor(@Inject(READ_STORE) store: ReadStore, @Inject(CLOCK) private readonly clock: Clock) {
    this.counters = new ThrottleCounters(store, clock);
  }

  private keys(account: string, ip: string): Array<[id: string, rule: Rule]> {
    // The pair first: the counter a burst of guesses fills first refuses before the others are touched.
    return [
      [`sign-in:a+i:${account}:${ip}`, RULES.accountFromIp],
      [`sign-in:i:${ip}`, RULES.ip],
      [`sign-in:a:${account}`, RULES.account],
    ];
  }

  /**
   * How long this attempt must still wait; 0: go ahead, and the attempt is counted
   * as a failure until `failed` or `succeeded` settles it (each reservation exactly once).
   */
  async reserve(account: string, ip: string): Promise<number> {
    const queuedSince = Date.now();
    for (;;) {
      const now = this.clock().getTime();
      // Whether every refusal is for attempts still in flight, not for failures: those settle in milliseconds.
      let inFlightOnly = true;
      const wait = await this.counters.takeAll<SignInCounter>(
        this.keys(account, ip).map(([id, rule]) => ({
          id,
          wait: (counter) => {
            const wait = signInWait(counter, rule, now);
            if (wait > 0 && signInWait(counter && { ...counter, pending: 0 }, rule, now) > 0) inFlightOnly = false;
            return wait;
          },
          take: (counter) => reserved(counter, now),
          giveBack: (counter) => unreserved(counter, now),
        })),
      );
      // Many people behind one address (a NAT, a proxy) signing in at once are queued, not refused: each
      // attempt waits for those in flight to settle, so parallel guesses still get no more tries than
      // sequential ones, and only failures ever answer 429.
      if (wait === 0 || !inFlightOnly || Date.now() - queuedSince > MAX_QUEUED_MS) return wait;
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
    }
  }

  /** The reserved attempt failed: it stays counted, as a failure now. */
  async failed(account: string, ip: string): Promise<void> {
    const now = this.clock().getTime();
    for (const [id] of this.keys(account, ip)) await this.counters.update<SignInCounter, void>(id, (counter) => ({ next: failedOnce(counter, now), answer: undefined }));
  }

  /**
   * The reserved attempt succeeded: it is given back, and the person's own earlier
   * mistakes from this address are cleared; what the address or the account collected stays.
   */
  async succeeded(account: string, ip: string): Promise<void> {
    const now = this.clock().getTime();
    for (const [id] of this.keys(account, ip)) await this.counters.update<SignInCounter, void>(id, (counter) => ({ next: succeededOnce(counter, id.startsWith('sign-in:a+i:'), now), answer: undefined }));
  }
}

/** Requests in a sliding window, by the time each was taken. */
interface RequestCounter extends Counter {
  hits: number[];
}
interface Limit {
  key: string;
  max: number;
  windowMs: number;
}

const recentHits = (counter: RequestCounter | undefined, { windowMs }: Limit, now: number) => (counter?.hits ?? []).filter((at) => now - at < windowMs);

/** How long a request must wait by one limit (0: allowed): until the oldest request of a full window leaves it. */
function requestWait(counter: RequestCounter | undefined, limit: Limit, now: number): number {
  const recent = recentHits(counter, limit, now);
  return recent.length >= limit.max ? Math.min(...recent) + limit.windowMs - now : 0;
}

/**
 * R-SEC-3: public endpoints that send email (password reset, magic link) are
 * limited per address and per email, the same way whether or not the email has
 * an account, so the limit tells a stranger nothing. Counted in the read store,
 * like the sign-in throttle: once across replicas, and through restarts.
 */
@Injectable()
export class RequestLimit {
  private readonly counters: ThrottleCounters;

  constructor(@Inject(READ_STORE) store: ReadStore, @Inject(CLOCK) private readonly clock: Clock) {
    this.counters = new ThrottleCounters(store, clock);
  }

  /** Records a request against every limit, or against none; returns how long to wait (0: allowed). */
  take(limits: Limit[]): Promise<number> {
    const now = this.clock().getTime();
    return this.counters.takeAll<RequestCounter>(
      limits.map((limit) => ({
        id: `request:${limit.key}`,
        wait: (counter) => requestWait(counter, limit, now),
        take: (counter) => ({ hits: [...recentHits(counter, limit, now), now], forgetAfter: now + limit.windowMs }),
        giveBack: (counter) => {
          const taken = counter.hits.lastIndexOf(now);
          return { hits: counter.hits.filter((_, i) => i !== taken), forgetAfter: counter.forgetAfter };
        },
      })),
    );
  }
}

/** R-SEC-3: at most 5 emails an hour to one address, and 30 requests an hour from one IP. */
export async function limitEmailRequests(limit: RequestLimit, kind: string, emailKey: string, ip: string): Promise<void> {
  const wait = await limit.take([
    { key: `${kind}:email:${emailKey}`, max: 5, windowMs: 3_600_000 },
    { key: `${kind}:ip:${ip}`, max: 30, windowMs: 3_600_000 },
  ]);
  if (wait > 0) throw new DomainError('too_many_requests', 'too many requests: try again later', { retryAfterSeconds: Math.ceil(wait / 1000) });
}
