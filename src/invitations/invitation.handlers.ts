import { Injectable } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { invitation, invitationStream, type Invitation, type InvitationEvent } from '../../domain/invitation/invitation';
import { membership, membershipStream } from '../../domain/membership/membership';
import type { OrgContext } from '../../domain/organization/organization';
import { normalizeEmail } from '../../domain/shared/email';
import { emailReservation, emailStream } from '../../domain/user/user';
import type { Position } from '../../domain/shared/envelope';
import { OrgAccess } from '../access/org-access.service';
import { Links } from '../auth/links.service';
import { Streams, type CommandMeta } from '../shared/streams';
import { NameKeys } from '../../infra/crypto/name-keys';

export interface InviteUserInput {
  email: string;
  role?: string;
  firstName?: string;
  lastName?: string;
}

export interface InvitationSent {
  invitationId: string;
  expiresAt: string;
  resent: boolean;
  position: Position;
}

export class InviteUser extends Command<InvitationSent> {
  constructor(readonly orgId: string, readonly input: InviteUserInput, readonly meta: CommandMeta) {
    super();
  }
}

export class ResendInvitation extends Command<InvitationSent> {
  constructor(readonly orgId: string, readonly invitationId: string, readonly meta: CommandMeta) {
    super();
  }
}

export class RevokeInvitation extends Command<{ position: Position }> {
  constructor(readonly orgId: string, readonly invitationId: string, readonly meta: CommandMeta) {
    super();
  }
}

/** Invitation commands share their shape: load the org context and the invitation, decide, append a new link with it, email it. */
@Injectable()
abstract class InvitationHandler {
  constructor(
    protected readonly streams: Streams,
    protected readonly orgAccess: OrgAccess,
    protected readonly links: Links,
    protected readonly names: NameKeys,
  ) {}

  /**
   * Decides `command` on the invitation. When it sends a link (to `emailTo`, or the
   * invitation's email), the link and the request to email it are in the same append.
   */
  protected async run(orgId: string, invitationId: string, meta: CommandMeta, command: (state: Invitation, context: OrgContext, tokenHash: string) => InvitationEvent[] | Promise<InvitationEvent[]>, link: false | { emailTo?: string }) {
    const stream = invitationStream(orgId, invitationId);
    return this.streams.retrying(async () => {
      const { context } = await this.orgAccess.context(orgId, meta.actor);
      const from = await this.streams.load(stream, invitation);
      const to = link ? (link.emailTo ?? from.state.email) : '';
      const issued = link && to ? await this.links.issue({ purpose: 'invitation', orgId, invitationId, asInvitation: context.org.policy, email: { to } }, context) : undefined;
      const events = await command(from.state, context, issued?.tokenHash ?? '');
      const result = await this.streams.commit([{ from, events }, ...(issued ? [issued.change] : [])], meta);
      return { result, state: events.reduce(invitation.evolve, from.state) };
    }, stream);
  }
}

/** R-INV-1 and R-INV-3: invite by email and role; a pending invitation for the same email is resent, not duplicated. */
@CommandHandler(InviteUser)
export class InviteUserHandler extends InvitationHandler implements ICommandHandler<InviteUser> {
  async execute({ orgId, input, meta }: InviteUser): Promise<InvitationSent> {
    const email = normalizeEmail(input.email);
    const invitationId = this.names.email(email);
    let resent = false;
    const { result, state } = await this.run(
      orgId,
      invitationId,
      meta,
      async (current, context, tokenHash) => {
        const reservation = await this.streams.load(emailStream(invitationId), emailReservation);
        const existing = reservation.state.userId;
        const inviteeIsMember = existing ? (await this.streams.load(membershipStream(orgId, existing), membership)).state.exists : false;
        const events = invitation.decide(current, { type: 'InviteUser', orgId, invitationId, email, roleId: input.role, firstName: input.firstName, lastName: input.lastName, tokenHash, inviteeIsMember }, context);
        resent = events[0]?.type === 'InvitationResent';
        return events;
      },
      { emailTo: email },
    );
    return { invitationId, expiresAt: state.expiresAt, resent, position: result.position };
  }
}

/** R-INV-2: a new link; the old one stops working. */
@CommandHandler(ResendInvitation)
export class ResendInvitationHandler extends InvitationHandler implements ICommandHandler<ResendInvitation> {
  async execute({ orgId, invitationId, meta }: ResendInvitation): Promise<InvitationSent> {
    const { result, state } = await this.run(orgId, invitationId, meta, (current, context, tokenHash) => invitation.decide(current, { type: 'ResendInvitation', tokenHash }, context), {});
    return { invitationId, expiresAt: state.expiresAt, resent: true, position: result.position };
  }
}

/** R-INV-2: the link stops working at once. */
@CommandHandler(RevokeInvitation)
export class RevokeInvitationHandler extends InvitationHandler implements ICommandHandler<RevokeInvitation> {
  async execute({ orgId, invitationId, meta }: RevokeInvitation) {
    const { result } = await this.run(orgId, invitationId, meta, (current, context) => invitation.decide(current, { type: 'RevokeInvitation' }, context), false);
    return { position: result.position };
  }
}
