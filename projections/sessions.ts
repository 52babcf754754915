import { recordedAt, type Doc, type Reducers } from './projection';

/** A signed-in session, for "your sessions" lists; checks never read this (they read the session's stream). */
export interface SessionRow extends Doc {
  userId: string;
  method: string;
  startedAt: string;
  expiresAt: string;
  revoked: boolean;
  /** The session's stream (named by its token's hash), which a revocation appends to. */
  stream: string;
}

export const SESSIONS = 'sessions';

/** Sessions: started, revoked. */
export const sessions: Reducers = {
  SessionStarted: (e, docs) => {
    const d = e.data;
    docs.put<SessionRow>(SESSIONS, { id: d.sessionId, userId: d.userId, method: d.method, startedAt: d.startedAt ?? recordedAt(e), expiresAt: d.expiresAt, revoked: false, stream: e.stream });
  },
  SessionRevoked: async (e, docs) => {
    const row = await docs.get<SessionRow>(SESSIONS, e.data.sessionId);
    if (row) docs.put(SESSIONS, { ...row, revoked: true });
  },
};
