import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { membership, membershipStream, type MembershipCommand } from '../../domain/membership/membership';
import type { Position } from '../../domain/shared/envelope';
import { Streams, type CommandMeta } from '../shared/streams';
import { OrgAccess } from './org-access.service';

/** Any command on one member's membership: role, access, approval, ban, grants, notes, availability. */
export class MembershipAction extends Command<{ position: Position; changed: boolean }> {
  constructor(readonly orgId: string, readonly userId: string, readonly command: MembershipCommand, readonly meta: CommandMeta) {
    super();
  }
}

@CommandHandler(MembershipAction)
export class MembershipActionHandler implements ICommandHandler<MembershipAction> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
  ) {}

  execute({ orgId, userId, command, meta }: MembershipAction) {
    const stream = membershipStream(orgId, userId);
    return this.streams.retrying(async () => {
      const { context } = await this.orgAccess.context(orgId, meta.actor);
      const from = await this.streams.load(stream, membership);
      const events = membership.decide(from.state, command, context);
      const { position } = await this.streams.commit([{ from, events }], meta);
      return { position, changed: events.length > 0 };
    }, stream);
  }
}
