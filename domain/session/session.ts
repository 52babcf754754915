import type { Context, Decider, DomainEvent } from '../shared/decider';
import { DomainError, NotFound } from '../shared/errors';

/** A session's stream is named by the hash of its token, so a check is one stream read (R-SEC-2: only hashes stored). */
export const sessionStream = (tokenHash: string) => `session-${tokenHash}`;

export type SignInMethod = 'password' | 'signup' | 'invitation' | 'magic-link' | 'google' | 'microsoft' | 'impersonation';

/** R-IMP-1: who really acts in an impersonation session, and the one org it is good for. */
export interface Impersonation {
  impersonatorId: string;
  orgId: string;
}

export type SessionEvent =
  | DomainEvent<'SessionStarted', { sessionId: string; userId: string; method: SignInMethod; startedAt: string; expiresAt: string; impersonation?: Impersonation }>
  | DomainEvent<'SessionRevoked', { sessionId: string; userId: string; reason: string }>
  | DomainEvent<'ImpersonationStarted', { sessionId: string; userId: string; impersonatorId: string; orgId: string; expiresAt: string }>
  /** `reason`: `expired` when its time ran out (seed 003); absent when someone ended it. */
  | DomainEvent<'ImpersonationEnded', { sessionId: string; userId: string; impersonatorId: string; orgId: string; reason?: 'expired' }>;

/** R-IMP-1: an impersonation session is short-lived, whatever the sessions' lifetime setting. */
export const IMPERSONATION_SESSION_MS = 30 * 60_000;

export type SessionCommand =
  /** `ttlMs`: the lifetime of a session, a setting (SESSION_TTL_HOURS); an impersonation's is the rule's. */
  | { type: 'StartSession'; sessionId: string; userId: string; method: SignInMethod; ttlMs: number; impersonation?: Impersonation }
  | { type: 'RevokeSession'; reason: string }
  /** An impersonation whose time has run out is recorded as ended (once; nothing before its expiry). */
  | { type: 'ExpireImpersonation' };

export interface Session {
  exists: boolean;
  sessionId: string;
  userId: string;
  startedAt: string;
  expiresAt: string;
  revoked: boolean;
  impersonation?: Impersonation;
}

export const session: Decider<Session, SessionCommand, SessionEvent> = {
  initialState: () => ({ exists: false, sessionId: '', userId: '', startedAt: '', expiresAt: '', revoked: false }),
  decide(state, command, ctx: Context) {
    switch (command.type) {
      case 'StartSession': {
        if (state.exists) throw new DomainError('session_exists');
        const { sessionId, userId, method, impersonation } = command;
        const expiresAt = new Date(ctx.now.getTime() + (impersonation ? IMPERSONATION_SESSION_MS : command.ttlMs)).toISOString();
        const started: SessionEvent = { type: 'SessionStarted', data: { sessionId, userId, method, startedAt: ctx.now.toISOString(), expiresAt, ...(impersonation ? { impersonation } : {}) } };
        return impersonation ? [started, { type: 'ImpersonationStarted', data: { sessionId, userId, ...impersonation, expiresAt } }] : [started];
      }
      case 'RevokeSession': {
        // Only its own user ends a session this way (R-CRED-9); anyone else finds nothing.
        if (!state.exists || ctx.actor.id !== state.userId) throw new NotFound('session');
        if (state.revoked) return [];
        const revoked: SessionEvent = { type: 'SessionRevoked', data: { sessionId: state.sessionId, userId: state.userId, reason: command.reason } };
        return state.impersonation ? [{ type: 'ImpersonationEnded', data: { sessionId: state.sessionId, userId: state.userId, ...state.impersonation } }, revoked] : [revoked];
      }
      case 'ExpireImpersonation': {
        if (!state.exists || !state.impersonation || state.revoked || ctx.now.toISOString() < state.expiresAt) return [];
        return [
          { type: 'ImpersonationEnded', data: { sessionId: state.sessionId, userId: state.userId, ...state.impersonation, reason: 'expired' } },
          { type: 'SessionRevoked', data: { sessionId: state.sessionId, userId: state.userId, reason: 'impersonation expired' } },
        ];
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'SessionStarted': {
        const { sessionId, userId, startedAt, expiresAt, impersonation } = event.data;
        return { ...state, exists: true, sessionId, userId, startedAt, expiresAt, ...(impersonation ? { impersonation } : {}) };
      }
      case 'SessionRevoked':
        return { ...state, revoked: true };
      default:
        return state;
    }
  },
};

/**
 * A session is live until it expires, is revoked, or all of its user's sessions
 * are revoked after it started ("log out everywhere", a password or MFA reset).
 */
export function isLive(state: Session, now: Date, cutOff: { at: string; keepSessionId?: string } | undefined): boolean {
  return state.exists && !state.revoked && state.expiresAt > now.toISOString() && !endedBy(cutOff, state);
}

/** Whether a "revoke all sessions" ended this session: it had started by then and is not the one kept. */
export function endedBy(cutOff: { at: string; keepSessionId?: string } | undefined, session: { sessionId: string; startedAt: string }): boolean {
  return !!cutOff && session.startedAt <= cutOff.at && session.sessionId !== cutOff.keepSessionId;
}
