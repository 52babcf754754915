import { Inject, Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { serviceKey, serviceKeyStream } from '../../domain/servicekey/servicekey';
import { isLive, session, sessionStream, type Impersonation, type SessionCommand, type SignInMethod } from '../../domain/session/session';
import { user, userStream } from '../../domain/user/user';
import { hashToken, newId, newToken } from '../../infra/crypto/secrets';
import type { Actor } from '../../domain/shared/envelope';
import { Settings } from '../config/config';
import { Streams, type Change, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';

export interface IssuedSession {
  token: string;
  sessionId: string;
  expiresAt: string;
}

const HOUR_MS = 3_600_000;

/** Who a bearer token stands for. */
export interface Principal {
  actor: Actor;
  /** R-IMP-1: the person really acting while impersonating `actor`. */
  realActor?: Actor;
  /** An impersonation session is good for one org only. */
  orgScope?: string;
  /** Set by an admin or a temporary password: until changed, only changing it is allowed. */
  mustChangePassword?: boolean;
  sessionStream?: string;
}

@Injectable()
export class Sessions {
  constructor(
    private readonly streams: Streams,
    private readonly settings: Settings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Prepares a session for `userId`: the token goes to the caller once; only its
   * hash names the stream. Returned as a change so it commits with the command that signs the user in.
   */
  async prepare(userId: string, method: SignInMethod, impersonation?: Impersonation): Promise<{ issued: IssuedSession; change: Change }> {
    const token = newToken();
    const from = await this.streams.load(sessionStream(hashToken(token)), session);
    const command: SessionCommand = { type: 'StartSession', sessionId: newId(), userId, method, ttlMs: this.settings.SESSION_TTL_HOURS * HOUR_MS, ...(impersonation ? { impersonation } : {}) };
    const events = session.decide(from.state, command, { now: this.clock(), actor: { kind: 'user', id: userId } });
    const { expiresAt } = events.reduce(session.evolve, from.state);
    return { issued: { token, sessionId: command.sessionId, expiresAt }, change: { from, events } };
  }

  async start(userId: string, method: SignInMethod, meta: CommandMeta): Promise<IssuedSession> {
    const { issued, change } = await this.prepare(userId, method);
    await this.streams.commit([change], meta);
    return issued;
  }

  /**
   * The actor behind a bearer token (a session, or a service key `ghk.<keyId>.<secret>`), or undefined.
   * Reads the token's stream each time, so an end or a revocation is seen at once (R-CRED-9).
   */
  async authenticate(token: string): Promise<Principal | undefined> {
    if (token.length < 20 || token.length > 200) return undefined;
    const key = parseServiceKey(token);
    if (key) {
      const { state } = await this.streams.load(serviceKeyStream(key.keyId), serviceKey);
      return state.exists && !state.revoked && sameHash(state.secretHash, hashToken(key.secret)) ? { actor: { kind: 'service', id: state.keyId } } : undefined;
    }
    const stream = sessionStream(hashToken(token));
    const { state } = await this.streams.load(stream, session);
    if (!state.exists) return undefined;
    const { state: account } = await this.streams.load(userStream(state.userId), user);
    if (!isLive(state, this.clock(), account.sessionsRevoked)) return undefined;
    const principal: Principal = { actor: { kind: 'user', id: state.userId }, sessionStream: stream, mustChangePassword: account.mustChangePassword };
    if (state.impersonation) {
      principal.realActor = { kind: 'user', id: state.impersonation.impersonatorId };
      principal.orgScope = state.impersonation.orgId;
    }
    return principal;
  }
}

const SERVICE_KEY = /^ghk\.([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

export function serviceKeyToken(keyId: string, secret: string): string {
  return `ghk.${keyId}.${secret}`;
}

function parseServiceKey(token: string): { keyId: string; secret: string } | undefined {
  const match = SERVICE_KEY.exec(token);
  return match ? { keyId: match[1], secret: match[2] } : undefined;
}

/** R-SEC-2: compared in constant time. */
function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
