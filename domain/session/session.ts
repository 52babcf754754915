import type { Decider, DomainEvent } from '../shared/decider';
import { DomainError } from '../shared/errors';

/** A session's stream is named by the hash of its token, so a check is one stream read (R-SEC-2: only hashes stored). */
export const sessionStream = (tokenHash: string) => `session-${tokenHash}`;

export type SessionEvent = DomainEvent<
  'SessionStarted',
  { sessionId: string; userId: string; method: 'password' | 'signup' | 'invitation' | 'magic-link' | 'google' | 'microsoft'; expiresAt: string }
>;

export interface StartSession {
  type: 'StartSession';
  sessionId: string;
  userId: string;
  method: SessionEvent['data']['method'];
  expiresAt: string;
}

export interface Session {
  exists: boolean;
  sessionId: string;
  userId: string;
  expiresAt: string;
}

export const session: Decider<Session, StartSession, SessionEvent> = {
  initialState: () => ({ exists: false, sessionId: '', userId: '', expiresAt: '' }),
  decide(state, command) {
    if (state.exists) throw new DomainError('session_exists');
    const { sessionId, userId, method, expiresAt } = command;
    return [{ type: 'SessionStarted', data: { sessionId, userId, method, expiresAt } }];
  },
  evolve: (state, event) =>
    event.type === 'SessionStarted'
      ? { exists: true, sessionId: event.data.sessionId, userId: event.data.userId, expiresAt: event.data.expiresAt }
      : state,
};

/** A session is live until it expires (revocation arrives with the credentials issue). */
export function isLive(state: Session, now: Date): boolean {
  return state.exists && state.expiresAt > now.toISOString();
}
