import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { OWNER_ROLE_ID, type Preset } from '../../domain/access/roles';
import { organization, orgStream } from '../../domain/organization/organization';
import { normalizeEmail } from '../../domain/shared/email';
import { newId } from '../../infra/crypto/secrets';
import type { Position } from '../../domain/shared/envelope';
import { chosenPasswordHash } from '../auth/chosen-password';
import { Sessions, type IssuedSession } from '../auth/sessions.service';
import { Joining } from '../membership/joining';
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
    private readonly joining: Joining,
    private readonly sessions: Sessions,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ input, meta }: CreateOrganization) {
    const orgId = newId();
    const ownerId = newId();
    const email = normalizeEmail(input.owner.email);
    const { firstName, lastName, password } = input.owner;
    const passwordHash = await chosenPasswordHash(password, { email, firstName, lastName });
    const context = { now: this.clock(), actor: meta.actor };

    return this.streams.retrying(async () => {
      const account = await this.joining.newAccount({ userId: ownerId, email, profile: { firstName, lastName }, managedBy: { orgId }, password: { hash: passwordHash, mustChange: false, by: 'self' } }, context);
      const org = await this.streams.load(orgStream(orgId), organization);
      const created = organization.decide(org.state, { type: 'CreateOrganization', orgId, name: input.name, preset: input.preset, ownerId }, context);
      const orgContext = { ...context, org: created.reduce(organization.evolve, org.state), access: undefined };
      const owner = await this.joining.addMember(ownerId, { roleId: OWNER_ROLE_ID, via: 'owner' }, orgContext);
      const { issued, change: session } = await this.sessions.prepare(ownerId, 'signup');
      const { position } = await this.streams.commit([...account, { from: org, events: created }, ...owner, session], { ...meta, orgId });
      return { orgId, ownerId, ...issued, position };
    });
  }
}
