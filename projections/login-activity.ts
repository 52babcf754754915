import type { RecordedOf } from '../domain/events';
import { projection, type Doc, type Workspace } from './projection';

/** One sign-in attempt on an account (R-CRED-6): action, outcome, reason, address, user agent, method, time. */
export interface LoginAttempt extends Doc {
  userId: string;
  action: 'sign-in';
  success: boolean;
  failureReason?: string;
  ip: string;
  userAgent: string;
  method: string;
  at: string;
  seq: string;
}

export const LOGIN_ACTIVITY = 'login_activity';

const attempt = (event: RecordedOf<'SignedIn'> | RecordedOf<'SignInFailed'>, docs: Workspace) => {
  const d = event.data;
  docs.put<LoginAttempt>(LOGIN_ACTIVITY, {
    id: event.eventId,
    userId: d.userId,
    action: 'sign-in',
    success: event.type === 'SignedIn',
    ...('reason' in d && d.reason ? { failureReason: d.reason } : {}),
    ip: d.ip,
    userAgent: d.userAgent,
    method: d.method,
    at: event.recordedAt.toISOString(),
    seq: event.position.toString().padStart(20, '0'),
  });
};

/** R-CRED-6: every sign-in attempt on an account, newest first when read. */
export const loginActivity = projection('login-activity.v1', [LOGIN_ACTIVITY], {
  SignedIn: attempt,
  SignInFailed: attempt,
  // R-ACC-3: an erased person's addresses and user agents go with them.
  UserErased: async (event, docs) => {
    for (const id of await docs.idsWhere(LOGIN_ACTIVITY, 'userId', event.data.userId)) docs.delete(LOGIN_ACTIVITY, id);
  },
});
