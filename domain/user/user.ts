import type { AccountManager } from '../access/access';
import type { Context, Decider, DomainEvent } from '../shared/decider';
import { DomainError } from '../shared/errors';

export const userStream = (userId: string) => `user-${userId}`;
/** Reservations that make an email or a username belong to one account (keyed by a hash: no personal data in stream names). */
export const emailStream = (emailKey: string) => `email-${emailKey}`;
export const usernameStream = (usernameKey: string) => `username-${usernameKey}`;
/**
 * Sign-in activity (R-CRED-6) has its own stream: no decision folds it, and an
 * account's stream would otherwise grow by an event per sign-in, to be read on
 * every cold load of an active account. Events recorded before it stay where they are.
 */
export const signInStream = (userId: string) => `sign-ins-${userId}`;
export const isSignInActivity = (event: UserEvent) => event.type === 'SignedIn' || event.type === 'SignInFailed';

export interface Profile {
  firstName: string;
  lastName: string;
  phone?: string;
  bio?: string;
  username?: string;
}

export type UserEvent =
  /** `managedBy`: the org or partner that made the account manages it with the person (R-SEC-4); absent: only the person and system admins. */
  | DomainEvent<'UserRegistered', { userId: string; email: string; managedBy?: AccountManager } & Profile>
  | DomainEvent<'UserProfileUpdated', { userId: string; changes: Partial<Profile> }>
  /** SPEC 5.7: an admin changed the account's email; the new one is reserved and the old one released in the same commit. */
  | DomainEvent<'EmailChanged', { userId: string; email: string; previousEmail: string }>
  | DomainEvent<'PasswordSet', { userId: string; passwordHash: string; mustChange: boolean; by: 'self' | 'admin' | 'setup' }>
  /** R-CRED-6: every sign-in attempt on the account, with its outcome. */
  | DomainEvent<'SignedIn', { userId: string; method: string; ip: string; userAgent: string; sessionId: string }>
  | DomainEvent<'SignInFailed', { userId: string; method: string; ip: string; userAgent: string; reason: string }>
  /** R-CRED-10: an external identity (Google, Microsoft) linked to the account; the provider's subject only as a hash. */
  | DomainEvent<'IdentityLinked', { userId: string; provider: string; subjectHash: string }>
  /** R-CRED-8: TOTP. The secret is sealed at the edge; backup codes are stored only as hashes. */
  | DomainEvent<'MfaEnrollmentStarted', { userId: string; sealedSecret: string }>
  | DomainEvent<'MfaEnabled', { userId: string; backupCodeHashes: string[]; step: number }>
  | DomainEvent<'MfaCodeUsed', { userId: string; step: number }>
  | DomainEvent<'BackupCodeUsed', { userId: string; codeHash: string }>
  | DomainEvent<'MfaReset', { userId: string; by: string }>
  /** Every session that started up to `at` ends (R-CRED-4, R-CRED-8, R-CRED-9). */
  | DomainEvent<'SessionsRevoked', { userId: string; at: string; reason: string; keepSessionId?: string }>
  /** R-ACC-3, SPEC 5.3: the person is erased; their key is destroyed with it, so what the log holds of them reads as erased. */
  /** `keys`: the names of the person's data keys to destroy, kept so that a retry after a crash destroys them all. */
  | DomainEvent<'UserErased', { userId: string; by: string; keys?: string[] }>;

/** A password for a new account: chosen by the person, or set by the admin who makes it (R-CRT-1). */
export interface FirstPassword {
  hash: string;
  mustChange: boolean;
  by: 'self' | 'admin';
}

/**
 * Who sets a password, and how, decides what else ends with it (R-CRED-4):
 * `by`: the person (with the current one, R-CRED-5) or an admin;
 * `link`: following an emailed reset or setup link, which signs the person in afresh with `keepSessionId`.
 */
export type PasswordSource = { by: 'self' | 'admin'; mustChange: boolean } | { link: 'password-reset' | 'setup'; keepSessionId: string };

export type UserCommand =
  | ({ type: 'RegisterUser'; userId: string; email: string; managedBy?: AccountManager; password?: FirstPassword } & Profile)
  | { type: 'UpdateProfile'; changes: Partial<Profile> }
  /** `email` normalized at the edge. */
  | { type: 'ChangeEmail'; email: string }
  /** The hash is made at the edge (argon2id); the password itself never reaches the decider. */
  | ({ type: 'SetPassword'; passwordHash: string } & PasswordSource)
  /** `keepSessionId`: the session the same command starts (a password reset signs the user in afresh). */
  | { type: 'RevokeSessions'; reason: string; keepSessionId?: string }
  | { type: 'RecordSignIn'; method: string; ip: string; userAgent: string; sessionId?: string; failureReason?: string }
  | { type: 'StartMfaEnrollment'; sealedSecret: string }
  /** `step`: the TOTP time step the edge verified the code for, none when the code was wrong (codes are checked where the secret can be opened). */
  | { type: 'ConfirmMfa'; step: number | undefined; backupCodeHashes: string[] }
  /**
   * R-CRED-8: the second step of a sign-in. `proof`: the TOTP time step the code matched (none
   * when it matched no step), or the hash of a backup code. The code is spent and the sign-in recorded together.
   */
  | { type: 'SignInWithSecondFactor'; proof?: { step: number } | { codeHash: string }; method: string; ip: string; userAgent: string; sessionId: string }
  | { type: 'ResetMfa' }
  /** Who may erase (a system admin, or the person with their password) is checked at the edge. */
  | { type: 'EraseUser'; keys: string[] }
  | { type: 'LinkIdentity'; provider: string; subjectHash: string };

export interface User extends Profile {
  exists: boolean;
  userId: string;
  email: string;
  managedBy?: AccountManager;
  passwordHash?: string;
  mustChangePassword: boolean;
  sessionsRevoked?: SessionsCutOff;
  mfa: { pendingSecret?: string; secret?: string; backupCodeHashes: string[]; lastStep: number };
  identities: string[];
  /** Erased (R-ACC-3): the account is gone; nothing about it can be decided any more. */
  erased?: boolean;
  /** The data keys its erasure destroys (again, on a retry). */
  erasedKeys?: string[];
}

/** Sessions started at or before `at` have ended, but for `keepSessionId`. */
export interface SessionsCutOff {
  at: string;
  keepSessionId?: string;
}

export const user: Decider<User, UserCommand, UserEvent> = {
  initialState: () => ({ exists: false, userId: '', email: '', firstName: '', lastName: '', mustChangePassword: false, mfa: { backupCodeHashes: [], lastStep: 0 }, identities: [] }),
  decide(state, command, context: Context) {
    switch (command.type) {
      case 'RegisterUser': {
        if (state.exists) throw new DomainError('user_exists');
        const { type: _t, password, ...data } = command;
        const registered: UserEvent = { type: 'UserRegistered', data };
        // A new account has no session yet: its first password ends none.
        return password ? [registered, { type: 'PasswordSet', data: { userId: data.userId, passwordHash: password.hash, mustChange: password.mustChange, by: password.by } }] : [registered];
      }
      case 'UpdateProfile': {
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        const changes = Object.fromEntries(
          Object.entries(command.changes).filter(([k, v]) => v !== undefined && state[k as keyof Profile] !== v),
        ) as Partial<Profile>;
        return Object.keys(changes).length ? [{ type: 'UserProfileUpdated', data: { userId: state.userId, changes } }] : [];
      }
      case 'ChangeEmail':
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        return command.email === state.email ? [] : [{ type: 'EmailChanged', data: { userId: state.userId, email: command.email, previousEmail: state.email } }];
      case 'SetPassword':
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        return setPassword(state, command, context);
      case 'RecordSignIn': {
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        const { method, ip, userAgent, sessionId, failureReason } = command;
        return failureReason
          ? [{ type: 'SignInFailed', data: { userId: state.userId, method, ip, userAgent, reason: failureReason } }]
          : [{ type: 'SignedIn', data: { userId: state.userId, method, ip, userAgent, sessionId: sessionId! } }];
      }
      case 'StartMfaEnrollment':
        if (state.mfa.secret) throw new DomainError('mfa_already_enabled', 'MFA is already on; reset it first');
        return [{ type: 'MfaEnrollmentStarted', data: { userId: state.userId, sealedSecret: command.sealedSecret } }];
      case 'ConfirmMfa':
        if (!state.mfa.pendingSecret) throw new DomainError('mfa_not_started', 'start TOTP enrollment first');
        if (command.step === undefined) throw new DomainError('invalid_mfa_code', 'the code is wrong');
        return [{ type: 'MfaEnabled', data: { userId: state.userId, backupCodeHashes: command.backupCodeHashes, step: command.step } }];
      case 'SignInWithSecondFactor': {
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        const { proof, method, ip, userAgent, sessionId } = command;
        const signedIn = { type: 'SignedIn' as const, data: { userId: state.userId, method, ip, userAgent, sessionId } };
        if (proof && 'step' in proof) {
          // A code works once: a replay within its window is refused.
          if (proof.step <= state.mfa.lastStep) throw new DomainError('mfa_code_used', 'this code was already used; wait for the next one');
          return [{ type: 'MfaCodeUsed', data: { userId: state.userId, step: proof.step } }, signedIn];
        }
        if (!proof || !state.mfa.backupCodeHashes.includes(proof.codeHash)) throw new DomainError('invalid_mfa_code', 'the code is wrong');
        return [{ type: 'BackupCodeUsed', data: { userId: state.userId, codeHash: proof.codeHash } }, signedIn];
      }
      case 'EraseUser':
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        return [
          { type: 'SessionsRevoked', data: { userId: state.userId, at: context.now.toISOString(), reason: 'erased' } },
          { type: 'UserErased', data: { userId: state.userId, by: context.actor.id, keys: command.keys } },
        ];
      case 'ResetMfa':
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        return [
          { type: 'MfaReset', data: { userId: state.userId, by: context.actor.id } },
          { type: 'SessionsRevoked', data: { userId: state.userId, at: context.now.toISOString(), reason: 'MFA reset' } },
        ];
      case 'LinkIdentity': {
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        const key = `${command.provider}:${command.subjectHash}`;
        return state.identities.includes(key) ? [] : [{ type: 'IdentityLinked', data: { userId: state.userId, provider: command.provider, subjectHash: command.subjectHash } }];
      }
      case 'RevokeSessions':
        if (!state.exists) throw new DomainError('not_found', 'user not found');
        return [{ type: 'SessionsRevoked', data: { userId: state.userId, at: context.now.toISOString(), reason: command.reason, ...(command.keepSessionId ? { keepSessionId: command.keepSessionId } : {}) } }];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'UserRegistered': {
        const { userId, email, ...profile } = event.data;
        return { ...state, ...profile, exists: true, userId, email };
      }
      case 'EmailChanged':
        return { ...state, email: event.data.email };
      case 'UserProfileUpdated':
        return { ...state, ...event.data.changes };
      case 'PasswordSet':
        return { ...state, passwordHash: event.data.passwordHash, mustChangePassword: event.data.mustChange };
      case 'SessionsRevoked':
        return { ...state, sessionsRevoked: { at: event.data.at, keepSessionId: event.data.keepSessionId } };
      case 'UserErased':
        return { ...user.initialState(), userId: state.userId, sessionsRevoked: state.sessionsRevoked, erased: true, erasedKeys: event.data.keys ?? [`user-${state.userId}`] };
      case 'IdentityLinked':
        return { ...state, identities: [...state.identities, `${event.data.provider}:${event.data.subjectHash}`] };
      case 'MfaEnrollmentStarted':
        return { ...state, mfa: { ...state.mfa, pendingSecret: event.data.sealedSecret } };
      case 'MfaEnabled':
        return { ...state, mfa: { secret: state.mfa.pendingSecret, backupCodeHashes: event.data.backupCodeHashes, lastStep: event.data.step } };
      case 'MfaCodeUsed':
        return { ...state, mfa: { ...state.mfa, lastStep: event.data.step } };
      case 'BackupCodeUsed':
        return { ...state, mfa: { ...state.mfa, backupCodeHashes: state.mfa.backupCodeHashes.filter((h) => h !== event.data.codeHash) } };
      case 'MfaReset':
        return { ...state, mfa: { backupCodeHashes: [], lastStep: 0 } };
      default:
        return state;
    }
  },
};

/**
 * R-CRED-4, R-CRED-5: a password set by an admin ends every session of the person;
 * one set through a reset link ends every session but the one the link starts (whoever
 * held the old password is out), and so does a setup link followed once the account
 * has a password, since it then resets it (R-CRT-4). One's own change keeps them.
 */
function setPassword(state: User, command: Extract<UserCommand, { type: 'SetPassword' }>, context: Context): UserEvent[] {
  const { userId } = state;
  const at = context.now.toISOString();
  if ('link' in command) {
    const set: UserEvent = { type: 'PasswordSet', data: { userId, passwordHash: command.passwordHash, mustChange: false, by: command.link === 'setup' ? 'setup' : 'self' } };
    const reset = command.link === 'password-reset' || state.passwordHash !== undefined;
    return reset ? [set, { type: 'SessionsRevoked', data: { userId, at, reason: 'password reset', keepSessionId: command.keepSessionId } }] : [set];
  }
  const set: UserEvent = { type: 'PasswordSet', data: { userId, passwordHash: command.passwordHash, mustChange: command.mustChange, by: command.by } };
  return command.by === 'admin' ? [set, { type: 'SessionsRevoked', data: { userId, at, reason: 'password set by an admin' } }] : [set];
}

export interface Reservation {
  userId?: string;
}

type Holder = { userId: string };
/** Each kind of unique value has its own pair of events (an email's release is no username's). */
export type ReservationEvent =
  | DomainEvent<'EmailReserved', Holder>
  | DomainEvent<'EmailReleased', Holder>
  | DomainEvent<'UsernameReserved', Holder>
  | DomainEvent<'UsernameReleased', Holder>
  | DomainEvent<'IdentityReserved', Holder>
  | DomainEvent<'IdentityReleased', Holder>;

type ReservationKind = 'Email' | 'Username' | 'Identity';
type ReservationCommand = { type: 'Reserve'; userId: string } | { type: 'Release' };

function reservation<K extends ReservationKind>(kind: K, taken: 'email_taken' | 'username_taken' | 'identity_taken'): Decider<Reservation, ReservationCommand, Extract<ReservationEvent, { type: `${K}Reserved` | `${K}Released` }>> {
  type E = Extract<ReservationEvent, { type: `${K}Reserved` | `${K}Released` }>;
  const reserved = `${kind}Reserved` as const;
  const released = `${kind}Released` as const;
  const event = (type: `${K}Reserved` | `${K}Released`, userId: string) => ({ type, data: { userId } }) as E;
  return {
    initialState: () => ({}),
    decide(state, command) {
      if (command.type === 'Release') return state.userId ? [event(released, state.userId)] : [];
      if (state.userId === command.userId) return [];
      if (state.userId) throw new DomainError(taken, `this ${taken.split('_')[0]} belongs to another account`);
      return [event(reserved, command.userId)];
    },
    evolve: (state, e) => (e.type === released ? {} : { userId: e.data.userId }),
  };
}

/** One account per email, case-insensitive. */
export const emailReservation = reservation('Email', 'email_taken');
/** One account per username, case-insensitive. */
export const usernameReservation = reservation('Username', 'username_taken');

/** One account per external identity. */
export const identityStream = (provider: string, subjectHash: string) => `identity-${provider}-${subjectHash}`;
export const identityReservation = reservation('Identity', 'identity_taken');
