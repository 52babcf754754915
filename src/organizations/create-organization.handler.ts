import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { OWNER_ROLE_ID, type Preset } from '../../domain/access/roles';
import { membership, membershipStream } from '../../domain/membership/membership';
import { organization, orgStream } from '../../domain/organization/organization';
import { normalizeEmail } from '../../domain/shared/email';
import { emailReservation, emailStream, user, userStream } from '../../domain/user/user';
import { hashPassword } from '../../infra/crypto/passwords';
import { emailKey, newId } from '../../infra/crypto/secrets';
import type { Position } from '../../infra/eventstore/port';
import { Sessions, type IssuedSession } from '../auth/sessions.service';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';

export interface CreateOrganizationInput {
  name: string;
  preset: Preset;
  owner: { email: string; firstName: string; lastName: string; password: string };
}

export class CreateOrganization extends Command<IssuedSession & { orgId: string; ownerId: string; position: Position }> {
  constructor(readonly input: CreateOrganizationInput, readonly meta: CommandMeta) {
    super();
  }
}

/**
 * An org is born with its Owner: the org, the owner's account, the reservation of
 * the owner's email, the Owner membership and a first session, in one append.
 */
@CommandHandler(CreateOrganization)
export class CreateOrganizationHandler implements ICommandHandler<CreateOrganization> {
  constructor(
    private readonly streams: Streams,
    private readonly sessions: Sessions,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input, meta }: CreateOrganization) {
    const orgId = newId();
    const ownerId = newId();
    const email = normalizeEmail(input.owner.email);
    const passwordHash = await hashPassword(input.owner.password);
    const context = { now: this.clock(), actor: meta.actor };
    const eventMeta = { ...meta, orgId };

    return this.streams.retrying(async () => {
      const reservation = await this.streams.load(emailStream(emailKey(email)), emailReservation);
      const org = await this.streams.load(orgStream(orgId), organization);
      const account = await this.streams.load(userStream(ownerId), user);
      const owner = await this.streams.load(membershipStream(orgId, ownerId), membership);
      const { issued, change: session } = await this.sessions.prepare(ownerId, 'signup');
      const { position } = await this.streams.commit(
        [
          // The reservation goes first: on a store without multi-stream transactions it is the lock.
          { from: reservation, events: emailReservation.decide(reservation.state, { type: 'ReserveEmail', userId: ownerId }, context) },
          { from: org, events: organization.decide(org.state, { type: 'CreateOrganization', orgId, name: input.name, preset: input.preset, ownerId }, context) },
          { from: account, events: user.decide(account.state, { type: 'RegisterUser', userId: ownerId, email, firstName: input.owner.firstName, lastName: input.owner.lastName, passwordHash }, context) },
          { from: owner, events: membership.decide(owner.state, { type: 'AddMember', orgId, userId: ownerId, roleId: OWNER_ROLE_ID, via: 'owner' }, context) },
          session,
        ],
        eventMeta,
      );
      return { orgId, ownerId, ...issued, position };
    });
  }
}
