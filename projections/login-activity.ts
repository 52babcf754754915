import type { RecordedEvent } from '../infra/eventstore/port';
import type { Doc, Projection, Workspace } from './projection';

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

export const loginActivity: Projection = {
  name: 'login-activity.v1',
  collections: [LOGIN_ACTIVITY],
  handles: ['SignedIn', 'SignInFailed'],
  async apply(event: RecordedEvent, docs: Workspace): Promise<void> {
    const d = event.data as { userId: string; method: string; ip: string; userAgent: string; reason?: string };
    docs.put<LoginAttempt>(LOGIN_ACTIVITY, {
      id: event.eventId,
      userId: d.userId,
      action: 'sign-in',
      success: event.type === 'SignedIn',
      ...(d.reason ? { failureReason: d.reason } : {}),
      ip: d.ip,
      userAgent: d.userAgent,
      method: d.method,
      at: event.recordedAt.toISOString(),
      seq: event.position.toString().padStart(20, '0'),
    });
  },
};
