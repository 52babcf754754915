import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { type EventStore, type Subscription } from '../../infra/eventstore/port';
import { START, type Position } from '../../domain/shared/envelope';
import type { Recorded } from '../../domain/events';
import { CLOCK, EVENT_STORE, LEASING, type Clock } from '../shared/tokens';
import { MembershipAction } from './membership-action.handler';
import { session } from '../../domain/session/session';
import { Streams } from '../shared/streams';
import { errorName } from '../shared/logging';
import { Supervisor, type Leasing, type Worker } from '../shared/supervisor';

const SWEEP_MS = 30_000;
const FOLLOWED = ['PermissionGranted', 'PermissionRevoked', 'PermissionExpired', 'MemberRemoved', 'ImpersonationStarted', 'ImpersonationEnded'] as const;
/** Its supervised worker, as /health and /metrics name it. */
export const GRANT_EXPIRY_WORKER = 'grant-expiry';

/**
 * What expires by time alone, recorded afterwards. R-ROLE-6: an expired grant
 * already stops working (checks compare with the clock); this records
 * `PermissionExpired` for it. R-IMP-1 (seed 003): an impersonation session that
 * simply runs out is recorded as ended (`ImpersonationEnded`, reason `expired`). It follows the log
 * for grants with an expiry and, on each sweep, asks each due membership to record
 * its expiries. The decision is idempotent, so a sweep repeated by another process is harmless.
 * Following the log is a supervised worker: after any error it is restarted (from
 * where it was) with a jittered, doubling wait; a failed sweep is simply tried at the next.
 */
@Injectable()
export class GrantExpiry implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('grant-expiry');
  /** `${orgId} ${userId}` → grantId → expiresAt, for grants not yet recorded as expired. */
  private readonly due = new Map<string, Map<string, string>>();
  /** Impersonation sessions not yet ended: session id → its stream, org and expiry. */
  private readonly impersonations = new Map<string, { stream: string; orgId: string; expiresAt: string }>();
  private subscription?: Subscription;
  /** How far the grants it knows go. */
  private position: Position = START;
  private timer?: NodeJS.Timeout;
  private readonly supervisor: Supervisor;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly commands: CommandBus,
    private readonly streams: Streams,
    @Inject(CLOCK) private readonly clock: Clock,
    @Optional() @Inject(LEASING) leasing?: Leasing,
  ) {
    this.supervisor = new Supervisor(this.logger, clock);
    this.supervisor.leasing = leasing;
  }

  /** The supervised worker that follows the log. */
  workers(): Worker[] {
    return this.supervisor.all();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.supervisor.supervise({
      name: GRANT_EXPIRY_WORKER,
      start: async (fail) => {
        this.subscription = this.store.subscribe(
          (events, checkpoint) => {
            events.forEach((e) => this.follow(e));
            this.position = checkpoint;
          },
          { from: this.position, filter: { types: FOLLOWED }, onError: fail },
        );
        return this.subscription;
      },
      position: () => (this.subscription && this.subscription.checkpoint > this.position ? this.subscription.checkpoint : this.position),
      filter: { types: FOLLOWED },
      lease: GRANT_EXPIRY_WORKER,
    });
    this.timer = setInterval(() => void this.sweep().catch((error) => this.logger.warn({ message: 'sweep failed; trying again at the next', error: errorName(error) })), SWEEP_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.supervisor.stop();
    await this.subscription?.stop();
  }

  /** Resolves once every grant in the log so far is known. */
  get ready(): Promise<void> {
    return this.subscription?.caughtUp ?? Promise.resolve();
  }

  private follow(event: Recorded): void {
    if (event.type === 'ImpersonationStarted') {
      this.impersonations.set(event.data.sessionId, { stream: event.stream, orgId: event.data.orgId, expiresAt: event.data.expiresAt });
      return;
    }
    if (event.type === 'ImpersonationEnded') {
      this.impersonations.delete(event.data.sessionId);
      return;
    }
    const keyOf = (data: { orgId: string; userId: string }) => `${data.orgId} ${data.userId}`;
    switch (event.type) {
      case 'PermissionGranted': {
        if (!event.data.expiresAt) return;
        const key = keyOf(event.data);
        const grants = this.due.get(key) ?? new Map<string, string>();
        grants.set(event.data.grantId, event.data.expiresAt);
        this.due.set(key, grants);
        return;
      }
      case 'MemberRemoved':
        this.due.delete(keyOf(event.data));
        return;
      case 'PermissionRevoked':
      case 'PermissionExpired': {
        const key = keyOf(event.data);
        this.due.get(key)?.delete(event.data.grantId);
        if (this.due.get(key)?.size === 0) this.due.delete(key);
        return;
      }
    }
  }

  /** Records PermissionExpired for every grant past its expiry; returns how many memberships it asked. */
  async sweep(): Promise<number> {
    const now = this.clock().toISOString();
    const members = [...this.due].filter(([, grants]) => [...grants.values()].some((at) => at <= now)).map(([key]) => key.split(' '));
    const meta = { actor: { kind: 'system' as const, id: 'grant-expiry' }, correlationId: randomUUID(), causationId: randomUUID() };
    for (const [orgId, userId] of members) {
      await this.commands.execute(new MembershipAction(orgId, userId, { type: 'ExpirePermissions' }, { ...meta, orgId }));
      // Done: not asked again before the log's PermissionExpired reaches `follow` (which does the same).
      const key = `${orgId} ${userId}`;
      for (const [grantId, at] of this.due.get(key) ?? []) if (at <= now) this.due.get(key)!.delete(grantId);
      if (this.due.get(key)?.size === 0) this.due.delete(key);
    }
    const ended = [...this.impersonations].filter(([, i]) => i.expiresAt <= now);
    const actor = { kind: 'system' as const, id: 'impersonation-expiry' };
    for (const [sessionId, { stream, orgId }] of ended) {
      await this.streams.handle(stream, session, { type: 'ExpireImpersonation' }, { now: this.clock(), actor }, { ...meta, actor, orgId });
      this.impersonations.delete(sessionId);
    }
    return members.length + ended.length;
  }
}
