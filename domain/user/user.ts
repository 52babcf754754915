import type { Context, Decider, DomainEvent } from '../shared/decider';
import { DomainError } from '../shared/errors';

export const userStream = (userId: string) => `user-${userId}`;
/** The reservation that makes an email belong to one account (keyed by a hash: no personal data in stream names). */
export const emailStream = (emailKey: string) => `email-${emailKey}`;

export type UserEvent =
  | DomainEvent<'UserRegistered', { userId: string; email: string; firstName: string; lastName: string }>
  | DomainEvent<'PasswordSet', { userId: string; passwordHash: string; mustChange: boolean }>;

export type EmailEvent = DomainEvent<'EmailReserved', { userId: string }>;

export interface RegisterUser {
  type: 'RegisterUser';
  userId: string;
  email: string;
  firstName: string;
  lastName: string;
  /** An argon2id hash made at the edge; the password itself never reaches the domain. */
  passwordHash?: string;
}

export interface User {
  exists: boolean;
  userId: string;
  email: string;
  passwordHash?: string;
}

export const user: Decider<User, RegisterUser, UserEvent> = {
  initialState: () => ({ exists: false, userId: '', email: '' }),
  decide(state, command, _context: Context) {
    if (state.exists) throw new DomainError('user_exists');
    const { userId, email, firstName, lastName, passwordHash } = command;
    const events: UserEvent[] = [{ type: 'UserRegistered', data: { userId, email, firstName, lastName } }];
    if (passwordHash) events.push({ type: 'PasswordSet', data: { userId, passwordHash, mustChange: false } });
    return events;
  },
  evolve(state, event) {
    switch (event.type) {
      case 'UserRegistered':
        return { ...state, exists: true, userId: event.data.userId, email: event.data.email };
      case 'PasswordSet':
        return { ...state, passwordHash: event.data.passwordHash };
      default:
        return state;
    }
  },
};

export interface EmailReservation {
  userId?: string;
}

export const emailReservation: Decider<EmailReservation, { type: 'ReserveEmail'; userId: string }, EmailEvent> = {
  initialState: () => ({}),
  decide(state, command) {
    if (state.userId) throw new DomainError('email_taken', 'an account with this email already exists');
    return [{ type: 'EmailReserved', data: { userId: command.userId } }];
  },
  evolve: (state, event) => (event.type === 'EmailReserved' ? { userId: event.data.userId } : state),
};
