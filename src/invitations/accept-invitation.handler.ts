import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { invitation, invitationStream } from '../../domain/invitation/invitation';
import { organization, orgStream } from '../../domain/organization/organization';
import { DomainError, NotFound } from '../../domain/shared/errors';
import { emailReservation, emailStream, user, userStream } from '../../domain/user/user';
import { verifyPassword } from '../../infra/crypto/passwords';
import { newId } from '../../infra/crypto/secrets';
import type { Position } from '../../domain/shared/envelope';
import { chosenPasswordHash } from '../auth/chosen-password';
import { Links } from '../auth/links.service';
import { Sessions, type IssuedSession } from '../auth/sessions.service';
import { Joining } from '../membership/joining';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';

export interface AcceptInvitationInput {
  token: string;
  password?: string;
  firstName?: string;
  lastName?: string;
}

export class AcceptInvitation extends Command<IssuedSession & { userId: string; orgId: string; position: Position }> {
  constructor(readonly input: AcceptInvitationInput, readonly meta: CommandMeta) {
    super();
  }
}

/**
 * R-INV-4: a new user sets a password, or none (SPEC 5.7: they sign in by magic
 * link, and may set a first password later), and becomes an active member; an
 * existing user accepts with their current password, if they have one. The link, the invitation, the account,
 * the membership and a session change in one append; a dead link changes nothing (R-INV-5).
 */
@CommandHandler(AcceptInvitation)
export class AcceptInvitationHandler implements ICommandHandler<AcceptInvitation> {
  constructor(
    private readonly streams: Streams,
    private readonly links: Links,
    private readonly joining: Joining,
    private readonly sessions: Sessions,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input, meta }: AcceptInvitation) {
    const context = { now: this.clock(), actor: meta.actor };
    const spent = await this.links.use(input.token, ['invitation'], context);
    const { orgId, invitationId } = spent.link as { orgId: string; invitationId: string };
    const invited = await this.streams.load(invitationStream(orgId, invitationId), invitation);
    const reservation = await this.streams.load(emailStream(invitationId), emailReservation);
    const existingId = reservation.state.userId;
    const userId = existingId ?? newId();

    let passwordHash: string | undefined;
    if (existingId) {
      const account = await this.streams.load(userStream(existingId), user);
      // The link proves the address; an account with a password proves the person with it too.
      if (account.state.passwordHash && !(input.password && (await verifyPassword(account.state.passwordHash, input.password)))) {
        throw new DomainError('invalid_credentials', 'this email already has an account: accept with its current password');
      }
    } else if (input.password) {
      const { email, firstName, lastName } = invited.state;
      passwordHash = await chosenPasswordHash(input.password, { email, firstName: input.firstName ?? firstName, lastName: input.lastName ?? lastName });
    }
    const actor = { kind: 'user' as const, id: userId };

    return this.streams.retrying(async () => {
      const link = await this.links.use(input.token, ['invitation'], context);
      const org = await this.streams.load(orgStream(orgId), organization);
      // SPEC 5.7: a suspended org takes no one in; a deleted one is not there.
      if (!org.state.exists || org.state.status === 'deleted') throw new NotFound('invitation');
      if (org.state.status === 'suspended') throw new DomainError('org_suspended', 'this organization is suspended');
      const from = await this.streams.load(invitationStream(orgId, invitationId), invitation);
      const orgContext = { now: this.clock(), actor, org: org.state, access: undefined };
      const accepted = invitation.decide(from.state, { type: 'AcceptInvitation', tokenHash: link.tokenHash, userId }, orgContext);
      const firstName = input.firstName ?? from.state.firstName ?? '';
      const lastName = input.lastName ?? from.state.lastName ?? '';
      const account = existingId
        ? []
        : await this.joining.newAccount({ userId, email: from.state.email, profile: { firstName, lastName }, managedBy: { orgId }, ...(passwordHash ? { password: { hash: passwordHash, mustChange: false, by: 'self' as const } } : {}) }, orgContext);
      const joined = await this.joining.addMember(userId, { roleId: from.state.roleId, via: 'invitation' }, orgContext);
      const { issued, change: session } = await this.sessions.prepare(userId, 'invitation');
      // The account comes first: its reservation is the lock on stores without multi-stream transactions, and the read side meets the person before the acceptance.
      const { position } = await this.streams.commit([...account, link.change, { from, events: accepted }, ...joined, session], { ...meta, actor, orgId });
      return { ...issued, userId, orgId, position };
    });
  }
}
