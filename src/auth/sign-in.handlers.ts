import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { normalizeEmail } from '../../domain/shared/email';
import { DomainError } from '../../domain/shared/errors';
import { checkPasswordStrength } from '../../domain/user/password-policy';
import { emailReservation, emailStream, user, userStream } from '../../domain/user/user';
import { hashPassword, verifyPassword } from '../../infra/crypto/passwords';
import { emailKey } from '../../infra/crypto/secrets';
import type { Position } from '../../infra/eventstore/port';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';
import { Links } from './links.service';
import { Sessions, type IssuedSession } from './sessions.service';

export type SignedIn = IssuedSession & { userId: string; mustChangePassword: boolean; position: Position };

export class SignIn extends Command<SignedIn> {
  constructor(readonly email: string, readonly password: string, readonly meta: CommandMeta) {
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

/** Password sign-in: one answer for a wrong password and an unknown email. */
@CommandHandler(SignIn)
export class SignInHandler implements ICommandHandler<SignIn> {
  constructor(
    private readonly streams: Streams,
    private readonly sessions: Sessions,
  ) {}

  async execute({ email, password, meta }: SignIn): Promise<SignedIn> {
    const reservation = await this.streams.load(emailStream(emailKey(normalizeEmail(email))), emailReservation);
    const account = reservation.state.userId ? (await this.streams.load(userStream(reservation.state.userId), user)).state : undefined;
    decoyHash ??= hashPassword('decoy password never used');
    const ok = await verifyPassword(account?.passwordHash ?? (await decoyHash), password);
    if (!account || !account.passwordHash || !ok) throw new DomainError('invalid_credentials', 'email or password is wrong');
    const actor = { kind: 'user' as const, id: account.userId };
    const { issued, change } = await this.sessions.prepare(account.userId, 'password');
    const { position } = await this.streams.commit([change], { ...meta, actor });
    return { ...issued, userId: account.userId, mustChangePassword: account.mustChangePassword, position };
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
      const events = user.decide(from.state, { type: 'SetPassword', passwordHash, mustChange: false, by: link.purpose === 'setup' ? 'setup' : 'self' }, { ...context, actor });
      // A reset ends every session there was (whoever held the old password is out); the new one starts after.
      if (link.purpose === 'password-reset') events.push(...user.decide(events.reduce(user.evolve, from.state), { type: 'RevokeSessions', reason: 'password reset' }, { ...context, actor }));
      const { issued, change } = await this.sessions.prepare(userId, 'password');
      const { position } = await this.streams.commit([spent.change, { from, events }, change], { ...meta, actor, ...(link.orgId ? { orgId: link.orgId } : {}) });
      return { ...issued, userId, mustChangePassword: false, position };
    });
  }
}
