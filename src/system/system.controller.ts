import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req, UseGuards } from '@nestjs/common';
import { Command, CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { organization, orgStream } from '../../domain/organization/organization';
import { DomainError, NotFound } from '../../domain/shared/errors';
import type { Position } from '../../infra/eventstore/port';
import type { ReadStore } from '../../infra/readstore/port';
import { ORGS, type OrgRow } from '../../projections/directory';
import { fold } from '../../projections/projection';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { ProjectionRunner } from '../readmodels/projection-runner';
import { readAfter } from '../readmodels/read-your-writes';
import { OrgId } from '../shared/params';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, READ_STORE, type Clock } from '../shared/tokens';

export class SuspendDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(500)
  reason?: string;
}

export class OrgsQuery {
  @IsOptional() @IsString() @MaxLength(100)
  q?: string;
  @IsOptional() @IsString()
  minPosition?: string;
}

export class ChangeOrgStatus extends Command<{ position: Position }> {
  constructor(readonly orgId: string, readonly suspend: boolean, readonly reason: string | undefined, readonly meta: CommandMeta) {
    super();
  }
}

/** R-SYS-1, R-ACC-7: suspend (no member can act in it) and reactivate an org. */
@CommandHandler(ChangeOrgStatus)
export class ChangeOrgStatusHandler implements ICommandHandler<ChangeOrgStatus> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ orgId, suspend, reason, meta }: ChangeOrgStatus) {
    const bySystemAdmin = await this.orgAccess.isSystemAdmin(meta.actor);
    return this.streams.retrying(async () => {
      const from = await this.streams.load(orgStream(orgId), organization);
      if (!from.state.exists) throw new NotFound('organization');
      const events = organization.decide(from.state, { type: suspend ? 'SuspendOrganization' : 'ReactivateOrganization', bySystemAdmin, reason }, { now: this.clock(), actor: meta.actor, access: undefined });
      return { position: (await this.streams.commit([{ from, events }], meta)).position };
    }, orgStream(orgId));
  }
}

@ApiTags('system')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/system/orgs')
export class SystemController {
  constructor(
    private readonly commands: CommandBus,
    private readonly orgAccess: OrgAccess,
    private readonly runner: ProjectionRunner,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
  ) {}

  /** R-SYS-1: every org, by name. */
  @Get()
  async list(@Query() query: OrgsQuery, @Req() request: GatehouseRequest) {
    if (!(await this.orgAccess.isSystemAdmin(request.actor!))) throw new DomainError('forbidden', 'system administrators only', { permission: 'system' });
    await readAfter(request, this.runner);
    const rows = await this.readStore.find<OrgRow>({ collection: this.runner.collection(ORGS), where: query.q ? { nameKey: { prefix: fold(query.q) } } : {}, orderBy: [['nameKey', 'asc'], ['id', 'asc']], limit: 200 });
    return { items: rows.map(({ id, name, preset, status, ownerId, partnerId, memberCount, createdAt }) => ({ orgId: id, name, preset, status, ownerId, partnerId: partnerId || undefined, memberCount, createdAt })), nextCursor: null };
  }

  @Post(':org/suspend')
  @HttpCode(200)
  suspend(@OrgId() orgId: string, @Body() body: SuspendDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new ChangeOrgStatus(orgId, true, body.reason, meta));
  }

  @Post(':org/reactivate')
  @HttpCode(200)
  reactivate(@OrgId() orgId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new ChangeOrgStatus(orgId, false, undefined, meta));
  }
}
