import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../../domain/shared/errors';
import { CLOCK, type Clock } from '../shared/tokens';

interface Counter {
  failures: number;
  lastFailureAt: number;
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
 * address, each slowed with growing delays. Kept in this process's memory: a
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

  /** How long this attempt must still wait (0: go ahead). */
  waitMs(account: string, ip: string): number {
    const now = this.clock().getTime();
    let wait = 0;
    for (const [key, rule] of this.keys(account, ip)) {
      const counter = this.counters.get(key);
      if (!counter) continue;
      if (now - counter.lastFailureAt > FORGET_MS) {
        this.counters.delete(key);
        continue;
      }
      const excess = counter.failures - rule.free;
      if (excess <= 0) continue;
      const delay = Math.min(rule.capMs, rule.baseMs * 2 ** (excess - 1));
      wait = Math.max(wait, counter.lastFailureAt + delay - now);
    }
    return wait;
  }

  failed(account: string, ip: string): void {
    const now = this.clock().getTime();
    for (const [key] of this.keys(account, ip)) {
      const counter = this.counters.get(key);
      this.counters.set(key, { failures: (counter && now - counter.lastFailureAt <= FORGET_MS ? counter.failures : 0) + 1, lastFailureAt: now });
    }
    if (this.counters.size > 100_000) this.forgetOld(now);
  }

  /** A success clears what this person's own mistakes cost them, not what an address or the account collected. */
  succeeded(account: string, ip: string): void {
    this.counters.delete(`a+i:${account}:${ip}`);
  }

  private forgetOld(now: number): void {
    for (const [key, counter] of this.counters) if (now - counter.lastFailureAt > FORGET_MS) this.counters.delete(key);
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
