import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { membership, membershipStream, requireCredentialsAuthority } from '../../domain/membership/membership';
import { session } from '../../domain/session/session';
import { normalizeEmail } from '../../domain/shared/email';
import { DomainError } from '../../domain/shared/errors';
import { checkPasswordStrength } from '../../domain/user/password-policy';
import { emailReservation, emailStream, user, userStream, type User } from '../../domain/user/user';
import { hashPassword, verifyPassword } from '../../infra/crypto/passwords';
import { emailKey, newTemporaryPassword } from '../../infra/crypto/secrets';
import type { Position } from '../../domain/shared/envelope';
import { OrgAccess } from '../access/org-access.service';
import { Streams, type Change, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';
import { Links } from './links.service';
import { limitEmailRequests, RequestLimit } from './throttle';

type Done = { position: Position };

/** A member's password, changed by an admin (R-CRED-5), or a temporary one shown once (R-CRED-4). */
export class SetMemberPassword extends Command<Done & { temporaryPassword?: string }> {
  constructor(readonly orgId: string, readonly userId: string, readonly password: { chosen: string; mustChange: boolean } | 'temporary', readonly meta: CommandMeta) {
    super();
  }
}

/** R-CRED-3: a reset link to the member, with a confirmation copy to the actor. */
export class SendPasswordReset extends Command<Done> {
  constructor(readonly orgId: string, readonly userId: string, readonly meta: CommandMeta) {
    super();
  }
}

/** The public "forgot my password" moved to link-requests.ts (R-SEC-3: the same work for known and unknown emails). */
export { RequestPasswordReset, RequestPasswordResetHandler } from './link-requests';

/** R-CRED-5: changing one's own password needs the current one. */
export class ChangeOwnPassword extends Command<Done> {
  constructor(readonly currentPassword: string, readonly newPassword: string, readonly meta: CommandMeta) {
    super();
  }
}

/** R-CRED-9: log out everywhere, or end one session. */
export class RevokeSessions extends Command<Done> {
  constructor(readonly sessionStream: string | 'all', readonly meta: CommandMeta) {
    super();
  }
}

const RESET_LINK_MS = 3_600_000; // R-CRED-2: password reset, 1 hour


const personal = (account: User) => [account.email.split('@')[0], account.firstName, account.lastName];

@CommandHandler(SetMemberPassword)
export class SetMemberPasswordHandler implements ICommandHandler<SetMemberPassword> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
  ) {}

  async execute({ orgId, userId, password, meta }: SetMemberPassword) {
    const { context } = await this.orgAccess.context(orgId, meta.actor, meta.realActor);
    const member = await this.streams.load(membershipStream(orgId, userId), membership);
    const account = await this.streams.load(userStream(userId), user);
    requireCredentialsAuthority(member.state, account.state, context);
    const temporaryPassword = password === 'temporary' ? newTemporaryPassword() : undefined;
    if (password !== 'temporary') checkPasswordStrength(password.chosen, personal(account.state));
    const passwordHash = await hashPassword(temporaryPassword ?? (password as { chosen: string }).chosen);
    const mustChange = password === 'temporary' || password.mustChange;
    const { position } = await this.streams.retrying(async () => {
      const from = await this.streams.load(userStream(userId), user);
      const set = user.decide(from.state, { type: 'SetPassword', passwordHash, mustChange, by: 'admin' }, context);
      // R-CRED-4: every session of the member ends with it.
      const revoked = user.decide(set.reduce(user.evolve, from.state), { type: 'RevokeSessions', reason: 'password set by an admin' }, context);
      return this.streams.commit([{ from, events: [...set, ...revoked] }], meta);
    }, userStream(userId));
    return { position, ...(temporaryPassword ? { temporaryPassword } : {}) };
  }
}

@CommandHandler(SendPasswordReset)
export class SendPasswordResetHandler implements ICommandHandler<SendPasswordReset> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
    private readonly links: Links,
  ) {}

  async execute({ orgId, userId, meta }: SendPasswordReset) {
    const { context } = await this.orgAccess.context(orgId, meta.actor, meta.realActor);
    const member = await this.streams.load(membershipStream(orgId, userId), membership);
    const { state: account } = await this.streams.load(userStream(userId), user);
    requireCredentialsAuthority(member.state, account, context);
    const { state: actor } = await this.streams.load(userStream(meta.actor.id), user);
    const expiresAt = new Date(context.now.getTime() + RESET_LINK_MS).toISOString();
    // R-SEC-4: the actor's copy confirms the sending and carries no link.
    const issued = await this.links.issue('password-reset', { userId, orgId }, expiresAt, context, { to: account.email, ...(actor.email ? { confirmTo: actor.email } : {}), variant: 'by-admin' });
    const { position } = await this.streams.commit([issued.change], meta);
    return { position };
  }
}

@CommandHandler(ChangeOwnPassword)
export class ChangeOwnPasswordHandler implements ICommandHandler<ChangeOwnPassword> {
  constructor(
    private readonly streams: Streams,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ currentPassword, newPassword, meta }: ChangeOwnPassword) {
    const userId = meta.actor.id;
    const account = await this.streams.load(userStream(userId), user);
    if (!account.state.passwordHash || !(await verifyPassword(account.state.passwordHash, currentPassword))) {
      throw new DomainError('invalid_credentials', 'the current password is wrong');
    }
    if (newPassword === currentPassword) throw new DomainError('weak_password', 'choose a password different from the current one', { rule: 'unchanged' });
    checkPasswordStrength(newPassword, personal(account.state));
    const passwordHash = await hashPassword(newPassword);
    return this.streams.retrying(async () => {
      const from = await this.streams.load(userStream(userId), user);
      const events = user.decide(from.state, { type: 'SetPassword', passwordHash, mustChange: false, by: 'self' }, { now: this.clock(), actor: meta.actor });
      return { position: (await this.streams.commit([{ from, events }], meta)).position };
    }, userStream(userId));
  }
}

@CommandHandler(RevokeSessions)
export class RevokeSessionsHandler implements ICommandHandler<RevokeSessions> {
  constructor(
    private readonly streams: Streams,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ sessionStream, meta }: RevokeSessions) {
    const context = { now: this.clock(), actor: meta.actor };
    let change: Change;
    if (sessionStream === 'all') {
      const from = await this.streams.load(userStream(meta.actor.id), user);
      change = { from, events: user.decide(from.state, { type: 'RevokeSessions', reason: 'logged out everywhere' }, context) };
    } else {
      const from = await this.streams.load(sessionStream, session);
      change = { from, events: session.decide(from.state, { type: 'RevokeSession', reason: 'logged out' }, context) };
    }
    return { position: (await this.streams.commit([change], meta)).position };
  }
}
