import { Inject } from '@nestjs/common';
import { Command, CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { endMembership, membership, membershipStream } from '../../domain/membership/membership';
import { organization, orgStream } from '../../domain/organization/organization';
import type { Position } from '../../domain/shared/envelope';
import { DomainError, NotFound } from '../../domain/shared/errors';
import { PersonalData } from '../../infra/personal/personal-data';
import type { ReadStore } from '../../infra/readstore/port';
import { MEMBERS, type MemberRow } from '../../projections/members';
import { OrgAccess } from '../access/org-access.service';
import { EraseUser } from '../auth/erasure';
import { ProjectionRunner } from '../readmodels/projection-runner';
import { Streams, type Change, type CommandMeta } from '../shared/streams';
import { CLOCK, PERSONAL_DATA, READ_STORE, type Clock } from '../shared/tokens';

export class DeleteOrgDto {
  @ApiProperty({ description: "the organization's name, exactly: a deletion is confirmed by reading the name back" }) @IsString() @IsNotEmpty() @MaxLength(200)
  confirmName!: string;
}

export class DeleteOrganization extends Command<{ position: Position; membersRemoved: number; usersErased: number }> {
  constructor(
    readonly orgId: string,
    readonly confirmName: string,
    readonly meta: CommandMeta,
  ) {
    super();
  }
}

const MAX_MEMBERS = 100_000;

/**
 * R-SYS-1, SPEC 5.3: one commit records OrganizationDeleted and ends every
 * membership (seats follow); then what only this org kept of its members (notes)
 * is shredded with their per-org keys, and the people whose only org it was are
 * erased (R-ACC-3). The org answers 404 to everyone but system admins.
 */
@CommandHandler(DeleteOrganization)
export class DeleteOrganizationHandler implements ICommandHandler<DeleteOrganization> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
    private readonly projections: ProjectionRunner,
    private readonly commands: CommandBus,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(PERSONAL_DATA) private readonly personal: PersonalData,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ orgId, confirmName, meta }: DeleteOrganization) {
    const standing = await this.orgAccess.standing(meta.actor);
    // Every member is found in the members list, once it has caught up with the log.
    if (!(await this.projections.waitFor(await this.streams.store.headPosition(), 5_000))) {
      throw new DomainError('read_model_behind', 'the members list is behind the log: try the deletion again in a moment');
    }
    const members = await this.rows({ orgId });
    let keys: string[] = [];
    const { position } = await this.streams.retrying(async () => {
      const from = await this.streams.load(orgStream(orgId), organization);
      if (!from.state.exists) throw new NotFound('organization');
      keys = members.map(({ userId }) => this.personal.subjectOf({ orgId, userId }));
      const events = organization.decide(from.state, { type: 'DeleteOrganization', confirmName, keys }, { now: this.clock(), actor: meta.actor, standing });
      if (events.length === 0) {
        // Deleted already: its keys are destroyed again below (a crash may have come between).
        keys = from.state.deletedKeys ?? [];
        return { position: await this.streams.store.headPosition() };
      }
      const changes: Change[] = [{ from, events }];
      for (const { userId } of members) {
        const member = await this.streams.load(membershipStream(orgId, userId), membership);
        changes.push({ from: member, events: endMembership(member.state) });
      }
      return this.streams.commit(changes, { ...meta, orgId });
    }, orgStream(orgId));
    await this.personal.forgetNamed(keys);
    // Who belonged to no other org is erased; asked once the members list no longer holds this org's rows.
    await this.projections.waitFor(position, 5_000);
    let usersErased = 0;
    let last = position;
    for (const { userId } of members) {
      if ((await this.rows({ userId })).length > 0) continue;
      const erased = await this.commands.execute(new EraseUser(userId, meta));
      if (erased.position > last) last = erased.position;
      usersErased++;
    }
    return { position: last, membersRemoved: members.length, usersErased };
  }

  private rows(where: { orgId: string } | { userId: string }): Promise<MemberRow[]> {
    return this.readStore.find<MemberRow>({ collection: this.projections.collection(MEMBERS), where, orderBy: [['id', 'asc']], limit: MAX_MEMBERS });
  }
}
