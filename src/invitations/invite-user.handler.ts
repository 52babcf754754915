import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { invitation, invitationStream, type InvitationEvent } from '../../domain/invitation/invitation';
import { membership, membershipStream } from '../../domain/membership/membership';
import { normalizeEmail } from '../../domain/shared/email';
import { emailReservation, emailStream } from '../../domain/user/user';
import { emailKey, hashToken, newId, newToken } from '../../infra/crypto/secrets';
import { MAILER, type Mailer } from '../../infra/email/port';
import type { Position } from '../../infra/eventstore/port';
import { OrgAccess } from '../access/org-access.service';
import { Settings } from '../config/config';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';

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

/** R-INV-1 and R-INV-3: invite by email and role; a pending invitation for the same email is resent, not duplicated. */
@CommandHandler(InviteUser)
export class InviteUserHandler implements ICommandHandler<InviteUser> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
    private readonly settings: Settings,
    @Inject(MAILER) private readonly mailer: Mailer,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ orgId, input, meta }: InviteUser): Promise<InvitationSent> {
    const email = normalizeEmail(input.email);
    const key = emailKey(email);
    const token = newToken();

    const { event, position } = await this.streams.retrying(async () => {
      const { org, access } = await this.orgAccess.load(orgId, meta.actor);
      const reservation = await this.streams.load(emailStream(key), emailReservation);
      const existingUser = reservation.state.userId;
      const inviteeIsMember = existingUser
        ? (await this.streams.load(membershipStream(orgId, existingUser), membership)).state.exists
        : false;
      const from = await this.streams.load(invitationStream(orgId, key), invitation);
      const events = invitation.decide(
        from.state,
        {
          type: 'InviteUser',
          orgId,
          invitationId: newId(),
          email,
          roleId: input.role,
          firstName: input.firstName,
          lastName: input.lastName,
          tokenHash: hashToken(token),
          facts: { org: org.state, actor: access, inviteeIsMember },
        },
        { now: this.clock(), actor: meta.actor },
      );
      const result = await this.streams.commit([{ from, events }], meta);
      return { event: events[0] as InvitationEvent, position: result.position };
    }, invitationStream(orgId, key));

    const link = `${this.settings.publicUrl}/invitations/accept?token=${token}`;
    await this.mailer.send({
      to: email,
      template: 'invitation',
      subject: 'You are invited to join an organization on Gatehouse',
      text: `You have been invited. Accept the invitation: ${link}\nThe link works once and expires at ${event.data.expiresAt}.`,
      link,
    });
    return { invitationId: event.data.invitationId, expiresAt: event.data.expiresAt, resent: event.type === 'InvitationResent', position };
  }
}
