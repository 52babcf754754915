import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { invitation, invitationStream, type Invitation, type InvitationEvent } from '../../domain/invitation/invitation';
import { membership, membershipStream } from '../../domain/membership/membership';
import type { OrgContext } from '../../domain/organization/organization';
import { normalizeEmail } from '../../domain/shared/email';
import { emailReservation, emailStream } from '../../domain/user/user';
import { emailKey } from '../../infra/crypto/secrets';
import { MAILER, type Mailer } from '../../infra/email/port';
import type { Position } from '../../infra/eventstore/port';
import { OrgAccess } from '../access/org-access.service';
import { Links } from '../auth/links.service';
import { Settings } from '../config/config';
import { Streams, type CommandMeta } from '../shared/streams';

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
abstract class InvitationHandler {
  constructor(
    protected readonly streams: Streams,
    protected readonly orgAccess: OrgAccess,
    protected readonly links: Links,
    protected readonly settings: Settings,
    @Inject(MAILER) protected readonly mailer: Mailer,
  ) {}

  /** Decides `command` on the invitation; when it sends a link, the link is issued in the same append and emailed after. */
  protected async run(orgId: string, invitationId: string, meta: CommandMeta, command: (state: Invitation, context: OrgContext, tokenHash: string) => InvitationEvent[] | Promise<InvitationEvent[]>, withLink: boolean) {
    const stream = invitationStream(orgId, invitationId);
    const { result, token, state } = await this.streams.retrying(async () => {
      const { context } = await this.orgAccess.context(orgId, meta.actor);
      const from = await this.streams.load(stream, invitation);
      const expiresAt = new Date(context.now.getTime() + context.org.policy.invitationExpiryHours * 3_600_000).toISOString();
      const issued = withLink ? await this.links.issue('invitation', { orgId, invitationId }, expiresAt, context) : undefined;
      const events = await command(from.state, context, issued?.tokenHash ?? '');
      const result = await this.streams.commit([{ from, events }, ...(issued ? [issued.change] : [])], meta);
      return { result, token: issued?.token, state: events.reduce(invitation.evolve, from.state) };
    }, stream);
    if (token) await this.sendInvitation(state, token);
    return { result, state };
  }

  private async sendInvitation(state: Invitation, token: string): Promise<void> {
    const link = `${this.settings.publicUrl}/invitations/accept?token=${token}`;
    await this.mailer.send({
      to: state.email,
      template: 'invitation',
      subject: 'You are invited to join an organization on Gatehouse',
      text: `You have been invited. Accept the invitation: ${link}\nThe link works once and expires at ${state.expiresAt}.`,
      link,
    });
  }
}

/** R-INV-1 and R-INV-3: invite by email and role; a pending invitation for the same email is resent, not duplicated. */
@CommandHandler(InviteUser)
export class InviteUserHandler extends InvitationHandler implements ICommandHandler<InviteUser> {
  async execute({ orgId, input, meta }: InviteUser): Promise<InvitationSent> {
    const email = normalizeEmail(input.email);
    const invitationId = emailKey(email);
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
      true,
    );
    return { invitationId, expiresAt: state.expiresAt, resent, position: result.position };
  }
}

/** R-INV-2: a new link; the old one stops working. */
@CommandHandler(ResendInvitation)
export class ResendInvitationHandler extends InvitationHandler implements ICommandHandler<ResendInvitation> {
  async execute({ orgId, invitationId, meta }: ResendInvitation): Promise<InvitationSent> {
    const { result, state } = await this.run(orgId, invitationId, meta, (current, context, tokenHash) => invitation.decide(current, { type: 'ResendInvitation', tokenHash }, context), true);
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
