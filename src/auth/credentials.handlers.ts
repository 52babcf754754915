import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { membership, membershipStream, requireCredentialsAuthority } from '../../domain/membership/membership';
import { session } from '../../domain/session/session';
import { DomainError } from '../../domain/shared/errors';
import { user, userStream } from '../../domain/user/user';
import { hashPassword, verifyPassword } from '../../infra/crypto/passwords';
import { newTemporaryPassword } from '../../infra/crypto/secrets';
import type { Position } from '../../domain/shared/envelope';
import { OrgAccess } from '../access/org-access.service';
import { Streams, type Change, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';
import { chosenPasswordHash } from './chosen-password';
import { Links } from './links.service';

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
  constructor(readonly currentPassword: string | undefined, readonly newPassword: string, readonly meta: CommandMeta) {
    super();
  }
}

/** R-CRED-9: log out everywhere, or end one session. */
export class RevokeSessions extends Command<Done> {
  constructor(readonly sessionStream: string | 'all', readonly meta: CommandMeta) {
    super();
  }
}

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
    const passwordHash = password === 'temporary' ? await hashPassword(temporaryPassword!) : await chosenPasswordHash(password.chosen, account.state);
    const mustChange = password === 'temporary' || password.mustChange;
    const { position } = await this.streams.handle(userStream(userId), user, { type: 'SetPassword', passwordHash, by: 'admin', mustChange }, context, meta);
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
    // R-SEC-4: the actor's copy confirms the sending and carries no link.
    const issued = await this.links.issue({ purpose: 'password-reset', userId, orgId, email: { to: account.email, ...(actor.email ? { confirmTo: actor.email } : {}), variant: 'by-admin' } }, context);
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
    const { state: account } = await this.streams.load(userStream(meta.actor.id), user);
    // SPEC 5.7: an account made without a password (an invitation accepted by magic link) sets its first without one.
    if (account.passwordHash && !(currentPassword && (await verifyPassword(account.passwordHash, currentPassword)))) {
      throw new DomainError('invalid_credentials', 'the current password is wrong');
    }
    const passwordHash = await chosenPasswordHash(newPassword, account, currentPassword);
    const { position } = await this.streams.handle(userStream(meta.actor.id), user, { type: 'SetPassword', passwordHash, by: 'self', mustChange: false }, { now: this.clock(), actor: meta.actor }, meta);
    return { position };
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
