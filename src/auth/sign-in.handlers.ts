import { Inject, Injectable } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { normalizeEmail } from '../../domain/shared/email';
import { DomainError } from '../../domain/shared/errors';
import { checkPasswordStrength } from '../../domain/user/password-policy';
import { emailReservation, emailStream, user, userStream, type User, type UserEvent } from '../../domain/user/user';
import type { SignInMethod } from '../../domain/session/session';
import { hashPassword, verifyPassword } from '../../infra/crypto/passwords';
import { emailKey } from '../../infra/crypto/secrets';
import type { Position } from '../../infra/eventstore/port';
import { Streams, type Change, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';
import { Links } from './links.service';
import { Sessions, type IssuedSession } from './sessions.service';
import { limitEmailRequests, RequestLimit, SignInThrottle } from './throttle';

export type SignedIn = IssuedSession & { userId: string; mustChangePassword: boolean; position: Position };
/** With MFA on, the password step answers with a challenge for the second step (POST /v1/sessions/mfa). */
export type MfaRequired = { mfaRequired: true; challenge: string; expiresAt: string };

const MFA_CHALLENGE_MS = 5 * 60_000;

/** Where a sign-in comes from: recorded with the attempt (R-CRED-6), and what throttling counts by (R-CRED-7). */
export interface Origin {
  ip: string;
  userAgent: string;
}

export class SignIn extends Command<SignedIn | MfaRequired> {
  constructor(readonly email: string, readonly password: string, readonly origin: Origin, readonly meta: CommandMeta) {
    super();
  }
}

export class RedeemPasswordLink extends Command<SignedIn> {
  constructor(readonly token: string, readonly newPassword: string, readonly meta: CommandMeta) {
    super();
  }
}

/** Verifying against this when the email is unknown keeps the answer's timing the same (R-SEC-3). */
let decoyHash: Promise<string> | undefined;

/**
 * The end of every successful first factor: with MFA on, a challenge for the
 * second step; otherwise a session, recorded as login activity, committed with
 * whatever the first factor changed (a spent link).
 */
@Injectable()
export class SignInCompletion {
  constructor(
    private readonly streams: Streams,
    private readonly sessions: Sessions,
    private readonly links: Links,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async complete(account: User, method: SignInMethod, origin: Origin, meta: CommandMeta, changes: Change[]): Promise<SignedIn | MfaRequired> {
    const context = { now: this.clock(), actor: { kind: 'user' as const, id: account.userId } };
    if (account.mfa.secret) {
      const expiresAt = new Date(context.now.getTime() + MFA_CHALLENGE_MS).toISOString();
      const challenge = await this.links.issue('mfa-challenge', { userId: account.userId }, expiresAt, context);
      await this.streams.commit([...changes, challenge.change], { ...meta, actor: context.actor });
      return { mfaRequired: true, challenge: challenge.token, expiresAt };
    }
    const { issued, change } = await this.sessions.prepare(account.userId, method);
    // The sign-in is recorded on the user's stream: after what the first factor changed there, in the same change.
    const stream = userStream(account.userId);
    const record = { type: 'RecordSignIn' as const, method, ip: origin.ip, userAgent: origin.userAgent, sessionId: issued.sessionId };
    const earlier = changes.find((c) => c.from.stream === stream);
    if (earlier) {
      const before = earlier.events.reduce((state, e) => user.evolve(state, e as UserEvent), earlier.from.state as User);
      earlier.events = [...earlier.events, ...user.decide(before, record, context)];
      const { position } = await this.streams.commit([...changes, change], { ...meta, actor: context.actor });
      return { ...issued, userId: account.userId, mustChangePassword: account.mustChangePassword, position };
    }
    // Two sign-ins of one account at once both append to its stream: the later one reads again and retries.
    const { position } = await this.streams.retrying(async () => {
      const from = await this.streams.load(stream, user);
      return this.streams.commit([...changes, { from, events: user.decide(from.state, record, context) }, change], { ...meta, actor: context.actor });
    }, stream);
    return { ...issued, userId: account.userId, mustChangePassword: account.mustChangePassword, position };
  }
}

/**
 * Password sign-in: one answer for a wrong password and an unknown email; every
 * attempt on an account is recorded as login activity (R-CRED-6); failures are
 * throttled with growing delays (R-CRED-7).
 */
@CommandHandler(SignIn)
export class SignInHandler implements ICommandHandler<SignIn> {
  constructor(
    private readonly streams: Streams,
    private readonly throttle: SignInThrottle,
    private readonly completion: SignInCompletion,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ email, password, origin, meta }: SignIn): Promise<SignedIn | MfaRequired> {
    const key = emailKey(normalizeEmail(email));
    const wait = this.throttle.waitMs(key, origin.ip);
    if (wait > 0) throw new DomainError('too_many_attempts', 'too many failed sign-ins: wait before trying again', { retryAfterSeconds: Math.ceil(wait / 1000) });
    const reservation = await this.streams.load(emailStream(key), emailReservation);
    const account = reservation.state.userId ? (await this.streams.load(userStream(reservation.state.userId), user)).state : undefined;
    decoyHash ??= hashPassword('decoy password never used');
    const ok = await verifyPassword(account?.passwordHash ?? (await decoyHash), password);
    const context = { now: this.clock(), actor: { kind: 'user' as const, id: account?.userId ?? 'anonymous' } };
    const attempt = { method: 'password' as const, ip: origin.ip, userAgent: origin.userAgent };
    if (!account || !account.passwordHash || !ok) {
      this.throttle.failed(key, origin.ip);
      if (account) {
        // Retried like a success: a conflict must not answer differently from an unknown email (R-SEC-3).
        await this.streams.retrying(async () => {
          const from = await this.streams.load(userStream(account.userId), user);
          await this.streams.commit([{ from, events: user.decide(from.state, { type: 'RecordSignIn', ...attempt, failureReason: account.passwordHash ? 'wrong_password' : 'no_password' }, context) }], { ...meta, actor: context.actor });
        }, userStream(account.userId));
      }
      throw new DomainError('invalid_credentials', 'email or password is wrong');
    }
    this.throttle.succeeded(key, origin.ip);
    return this.completion.complete(account, 'password', origin, meta, []);
  }
}

/** Completes a setup link (R-CRT-1 a) or a password reset: the new password, then a session. */
@CommandHandler(RedeemPasswordLink)
export class RedeemPasswordLinkHandler implements ICommandHandler<RedeemPasswordLink> {
  constructor(
    private readonly streams: Streams,
    private readonly links: Links,
    private readonly sessions: Sessions,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ token, newPassword, meta }: RedeemPasswordLink): Promise<SignedIn> {
    const context = { now: this.clock(), actor: meta.actor };
    const { link } = await this.links.use(token, ['setup', 'password-reset'], context);
    const userId = link.userId!;
    const account = await this.streams.load(userStream(userId), user);
    checkPasswordStrength(newPassword, [account.state.email.split('@')[0], account.state.firstName, account.state.lastName]);
    const passwordHash = await hashPassword(newPassword);
    const actor = { kind: 'user' as const, id: userId };
    return this.streams.retrying(async () => {
      const spent = await this.links.use(token, ['setup', 'password-reset'], context);
      const from = await this.streams.load(userStream(userId), user);
      const { issued, change } = await this.sessions.prepare(userId, 'password');
      const events = user.decide(from.state, { type: 'SetPassword', passwordHash, mustChange: false, by: link.purpose === 'setup' ? 'setup' : 'self' }, { ...context, actor });
      // A reset ends every session there was (whoever held the old password is out), but the one it starts.
      if (link.purpose === 'password-reset') events.push(...user.decide(events.reduce(user.evolve, from.state), { type: 'RevokeSessions', reason: 'password reset', keepSessionId: issued.sessionId }, { ...context, actor }));
      const { position } = await this.streams.commit([spent.change, { from, events }, change], { ...meta, actor, ...(link.orgId ? { orgId: link.orgId } : {}) });
      return { ...issued, userId, mustChangePassword: false, position };
    });
  }
}

export class RequestMagicLink extends Command<void> {
  constructor(readonly email: string, readonly ip: string, readonly meta: CommandMeta) {
    super();
  }
}

export class RedeemMagicLink extends Command<SignedIn | MfaRequired> {
  constructor(readonly token: string, readonly origin: Origin, readonly meta: CommandMeta) {
    super();
  }
}

const MAGIC_LINK_MS = 30 * 60_000; // R-CRED-2

/** R-CRED-6: sign-in by a link emailed to the account; the same answer for unknown emails (R-SEC-3). */
@CommandHandler(RequestMagicLink)
export class RequestMagicLinkHandler implements ICommandHandler<RequestMagicLink> {
  constructor(
    private readonly limit: RequestLimit,
    private readonly streams: Streams,
    private readonly links: Links,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ email, ip, meta }: RequestMagicLink): Promise<void> {
    const normalized = normalizeEmail(email);
    limitEmailRequests(this.limit, 'magic', emailKey(normalized), ip);
    const { state } = await this.streams.load(emailStream(emailKey(normalized)), emailReservation);
    if (!state.userId) return;
    const now = this.clock();
    const issued = await this.links.issue('magic-link', { userId: state.userId }, new Date(now.getTime() + MAGIC_LINK_MS).toISOString(), { now, actor: meta.actor }, { to: normalized });
    await this.streams.commit([issued.change], meta);
  }
}

@CommandHandler(RedeemMagicLink)
export class RedeemMagicLinkHandler implements ICommandHandler<RedeemMagicLink> {
  constructor(
    private readonly streams: Streams,
    private readonly links: Links,
    private readonly completion: SignInCompletion,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ token, origin, meta }: RedeemMagicLink) {
    const spent = await this.links.use(token, ['magic-link'], { now: this.clock(), actor: meta.actor });
    const { state: account } = await this.streams.load(userStream(spent.link.userId!), user);
    return this.completion.complete(account, 'magic-link', origin, meta, [spent.change]);
  }
}
