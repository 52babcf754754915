import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../../domain/shared/errors';
import { CLOCK, type Clock } from '../shared/tokens';

interface Counter {
  failures: number;
  lastFailureAt: number;
  /** Attempts let through and not yet decided: they count as failures until they are (R-SEC-3). */
  pending: number;
  lastPendingAt: number;
}

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

/** Failures are forgotten after this long without a new one. */
const FORGET_MS = 15 * 60_000;

/**
 * R-CRED-7: sign-in failures per account, per address, and per account from one
 * address, each slowed with growing delays. R-SEC-3: an attempt is checked and
 * counted in one step (`reserve`, with no await in between), before the password
 * or code is verified, so parallel guesses get no more tries than sequential
 * ones; `failed` or `succeeded` then settles it. Kept in this process's memory: a
 * restart forgets them, and several processes each count their own.
 */
@Injectable()
export class SignInThrottle {
  private readonly counters = new Map<string, Counter>();

  constructor(@Inject(CLOCK) private readonly clock: Clock) {}

  private keys(account: string, ip: string): Array<[string, Rule]> {
    return [
      [`a+i:${account}:${ip}`, RULES.accountFromIp],
      [`i:${ip}`, RULES.ip],
      [`a:${account}`, RULES.account],
    ];
  }

  /**
   * How long this attempt must still wait; 0: go ahead, and the attempt is counted
   * as a failure until `failed` or `succeeded` settles it (each reservation exactly once).
   */
  reserve(account: string, ip: string): number {
    const now = this.clock().getTime();
    const wait = this.waitMs(account, ip, now);
    if (wait > 0) return wait;
    for (const [key] of this.keys(account, ip)) {
      const counter = this.counter(key);
      this.counters.set(key, { ...counter, pending: counter.pending + 1, lastPendingAt: now });
    }
    if (this.counters.size > 100_000) this.forgetOld(now);
    return 0;
  }

  /** The reserved attempt failed: it stays counted, as a failure now. */
  failed(account: string, ip: string): void {
    const now = this.clock().getTime();
    for (const [key] of this.keys(account, ip)) {
      const counter = this.counter(key);
      const failures = now - counter.lastFailureAt <= FORGET_MS ? counter.failures : 0;
      this.counters.set(key, { ...counter, failures: failures + 1, lastFailureAt: now, pending: Math.max(0, counter.pending - 1) });
    }
  }

  /**
   * The reserved attempt succeeded: it is given back, and the person's own earlier
   * mistakes from this address are cleared; what the address or the account collected stays.
   */
  succeeded(account: string, ip: string): void {
    for (const [key] of this.keys(account, ip)) {
      const counter = this.counter(key);
      const next = { ...counter, pending: Math.max(0, counter.pending - 1), ...(key.startsWith('a+i:') ? { failures: 0 } : {}) };
      if (next.failures === 0 && next.pending === 0) this.counters.delete(key);
      else this.counters.set(key, next);
    }
  }

  private counter(key: string): Counter {
    return this.counters.get(key) ?? { failures: 0, lastFailureAt: 0, pending: 0, lastPendingAt: 0 };
  }

  private waitMs(account: string, ip: string, now: number): number {
    let wait = 0;
    for (const [key, rule] of this.keys(account, ip)) {
      const counter = this.counters.get(key);
      if (!counter) continue;
      const failures = now - counter.lastFailureAt > FORGET_MS ? 0 : counter.failures;
      const pending = now - counter.lastPendingAt > FORGET_MS ? 0 : counter.pending;
      if (failures === 0 && pending === 0) {
        this.counters.delete(key);
        continue;
      }
      const excess = failures + pending - rule.free;
      if (excess <= 0) continue;
      const delay = Math.min(rule.capMs, rule.baseMs * 2 ** (excess - 1));
      const since = Math.max(failures > 0 ? counter.lastFailureAt : 0, pending > 0 ? counter.lastPendingAt : 0);
      wait = Math.max(wait, since + delay - now);
    }
    return wait;
  }

  private forgetOld(now: number): void {
    for (const [key, c] of this.counters) if (now - c.lastFailureAt > FORGET_MS && now - c.lastPendingAt > FORGET_MS) this.counters.delete(key);
  }
}

/**
 * R-SEC-3: public endpoints that send email (password reset, magic link) are
 * limited per address and per email, the same way whether or not the email has
 * an account, so the limit tells a stranger nothing.
 */
@Injectable()
export class RequestLimit {
  private readonly hits = new Map<string, number[]>();

  constructor(@Inject(CLOCK) private readonly clock: Clock) {}

  /** Records a request; returns how long to wait (0: allowed). */
  take(limits: Array<{ key: string; max: number; windowMs: number }>): number {
    const now = this.clock().getTime();
    let wait = 0;
    for (const { key, max, windowMs } of limits) {
      const recent = (this.hits.get(key) ?? []).filter((at) => now - at < windowMs);
      if (recent.length >= max) wait = Math.max(wait, recent[0] + windowMs - now);
      this.hits.set(key, recent);
    }
    if (wait === 0) for (const { key } of limits) this.hits.get(key)!.push(now);
    if (this.hits.size > 100_000) for (const [key, times] of this.hits) if (times.every((at) => now - at > 3_600_000)) this.hits.delete(key);
    return wait;
  }
}

/** R-SEC-3: at most 5 emails an hour to one address, and 30 requests an hour from one IP. */
export function limitEmailRequests(limit: RequestLimit, kind: string, emailKey: string, ip: string): void {
  const wait = limit.take([
    { key: `${kind}:email:${emailKey}`, max: 5, windowMs: 3_600_000 },
    { key: `${kind}:ip:${ip}`, max: 30, windowMs: 3_600_000 },
  ]);
  if (wait > 0) throw new DomainError('too_many_requests', 'too many requests: try again later', { retryAfterSeconds: Math.ceil(wait / 1000) });
}
