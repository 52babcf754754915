import type { Context, Decider, DomainEvent } from '../shared/decider';
import { DomainError } from '../shared/errors';

export const userStream = (userId: string) => `user-${userId}`;
/** Reservations that make an email or a username belong to one account (keyed by a hash: no personal data in stream names). */
export const emailStream = (emailKey: string) => `email-${emailKey}`;
export const usernameStream = (usernameKey: string) => `username-${usernameKey}`;

export interface Profile {
  firstName: string;
  lastName: string;
  phone?: string;
  bio?: string;
  username?: string;
}

export type UserEvent =
  | DomainEvent<'UserRegistered', { userId: string; email: string } & Profile>
  | DomainEvent<'UserProfileUpdated', { userId: string; changes: Partial<Profile> }>
  | DomainEvent<'PasswordSet', { userId: string; passwordHash: string; mustChange: boolean; by: 'self' | 'admin' | 'setup' }>
  /** R-CRED-6: every sign-in attempt on the account, with its outcome. */
  | DomainEvent<'SignedIn', { userId: string; method: string; ip: string; userAgent: string; sessionId: string }>
  | DomainEvent<'SignInFailed', { userId: string; method: string; ip: string; userAgent: string; reason: string }>
  /** Every session that started up to `at` ends (R-CRED-4, R-CRED-8, R-CRED-9). */
  | DomainEvent<'SessionsRevoked', { userId: string; at: string; reason: string }>;

export type UserCommand =
  | ({ type: 'RegisterUser'; userId: string; email: string } & Profile)
  | { type: 'UpdateProfile'; changes: Partial<Profile> }
  /** The hash is made at the edge (argon2id); the password itself never reaches the domain. */
  | { type: 'SetPassword'; passwordHash: string; mustChange: boolean; by: 'self' | 'admin' | 'setup' }
  | { type: 'RevokeSessions'; reason: string }
  | { type: 'RecordSignIn'; method: string; ip: string; userAgent: string; sessionId?: string; failureReason?: string };

export interface User extends Profile {
  exists: boolean;
  userId: string;
  email: string;
  passwordHash?: string;
  mustChangePassword: boolean;
  sessionsRevokedAt?: string;
}

export const user: Decider<User, UserCommand, UserEvent> = {
  initialState: () => ({ exists: false, userId: '', email: '', firstName: '', lastName: '', mustChangePassword: false }),
  decide(state, command, context: Context) {
    switch (command.type) {
      case 'RegisterUser': {
        if (state.exists) throw new DomainError('user_exists');
        const { type: _t, ...data } = command;
        return [{ type: 'UserRegistered', data }];
      }
      case 'UpdateProfile': {
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        const changes = Object.fromEntries(
          Object.entries(command.changes).filter(([k, v]) => v !== undefined && state[k as keyof Profile] !== v),
        ) as Partial<Profile>;
        return Object.keys(changes).length ? [{ type: 'UserProfileUpdated', data: { userId: state.userId, changes } }] : [];
      }
      case 'SetPassword':
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        return [{ type: 'PasswordSet', data: { userId: state.userId, passwordHash: command.passwordHash, mustChange: command.mustChange, by: command.by } }];
      case 'RecordSignIn': {
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        const { method, ip, userAgent, sessionId, failureReason } = command;
        return failureReason
          ? [{ type: 'SignInFailed', data: { userId: state.userId, method, ip, userAgent, reason: failureReason } }]
          : [{ type: 'SignedIn', data: { userId: state.userId, method, ip, userAgent, sessionId: sessionId! } }];
      }
      case 'RevokeSessions':
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        return [{ type: 'SessionsRevoked', data: { userId: state.userId, at: context.now.toISOString(), reason: command.reason } }];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'UserRegistered': {
        const { userId, email, ...profile } = event.data;
        return { ...state, ...profile, exists: true, userId, email };
      }
      case 'UserProfileUpdated':
        return { ...state, ...event.data.changes };
      case 'PasswordSet':
        return { ...state, passwordHash: event.data.passwordHash, mustChangePassword: event.data.mustChange };
      case 'SessionsRevoked':
        return { ...state, sessionsRevokedAt: event.data.at };
      default:
        return state;
    }
  },
};

export interface Reservation {
  userId?: string;
}

type ReservationEvent = DomainEvent<'EmailReserved' | 'UsernameReserved', { userId: string }> | DomainEvent<'UsernameReleased', { userId: string }>;

function reservation(reserved: 'EmailReserved' | 'UsernameReserved', taken: string): Decider<Reservation, { type: 'Reserve'; userId: string } | { type: 'Release' }, ReservationEvent> {
  return {
    initialState: () => ({}),
    decide(state, command) {
      if (command.type === 'Release') return state.userId ? [{ type: 'UsernameReleased', data: { userId: state.userId } }] : [];
      if (state.userId === command.userId) return [];
      if (state.userId) throw new DomainError(taken, `this ${taken.split('_')[0]} belongs to another account`);
      return [{ type: reserved, data: { userId: command.userId } }];
    },
    evolve: (state, event) => (event.type === 'UsernameReleased' ? {} : { userId: event.data.userId }),
  };
}

/** One account per email, case-insensitive. */
export const emailReservation = reservation('EmailReserved', 'email_taken');
/** One account per username, case-insensitive. */
export const usernameReservation = reservation('UsernameReserved', 'username_taken');
