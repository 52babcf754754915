import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, Req, UseGuards } from '@nestjs/common';
import { DeleteOrganization, DeleteOrgDto } from './org-deletion';
import { Command, CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { organization, orgStream, type StripeSubscription } from '../../domain/organization/organization';
import { NotFound } from '../../domain/shared/errors';
import type { Position } from '../../domain/shared/envelope';
import type { ReadStore } from '../../infra/readstore/port';
import { ORGS, type OrgRow } from '../../projections/orgs';
import { fold } from '../../projections/projection';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { SystemAdminGuard } from '../access/system-admin.guard';
import { ConsumerRunner } from '../messaging/consumer-runner';
import { ProjectionRunner, readAfter } from '../readmodels/projection-runner';
import { OrgId } from '../shared/params';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, READ_STORE, type Clock } from '../shared/tokens';
import { NEXT_CURSOR, POSITION, PositionDto } from '../shared/responses';
import { MayOmit } from '../shared/validators';
import { CommandType } from '../messaging/command-type';

export class SuspendDto {
  @ApiPropertyOptional() @MayOmit() @IsString() @MaxLength(500)
  reason?: string;
}

export class StripeSubscriptionDto implements StripeSubscription {
  @ApiProperty({ example: 'cus_NffrFeUfNV2Hib' }) @IsString() @Matches(/^cus_[A-Za-z0-9]{4,64}$/, { message: 'customerId must be a Stripe customer id (cus_…)' })
  customerId!: string;
  @ApiProperty({ example: 'sub_1MowQVLkdIwHu7ixeRlqHVzs' }) @IsString() @Matches(/^sub_[A-Za-z0-9]{4,64}$/, { message: 'subscriptionId must be a Stripe subscription id (sub_…)' })
  subscriptionId!: string;
  @ApiProperty({ example: 'si_NcLYdDxLHxlFo7' }) @IsString() @Matches(/^si_[A-Za-z0-9]{4,64}$/, { message: 'subscriptionItemId must be a Stripe subscription item id (si_…)' })
  subscriptionItemId!: string;
}

export class PlanDto {
  @ApiProperty({ example: 'business' }) @IsString() @Matches(/^[a-z0-9][a-z0-9-]{0,39}$/, { message: 'plan is a lower-case name of up to 40 letters, digits and dashes' })
  plan!: string;
  /** The subscription the org's seats are billed on (R-BILL-1); absent or null: none (so null may pass). */
  @ApiPropertyOptional({ type: StripeSubscriptionDto, nullable: true }) @IsOptional() @ValidateNested() @Type(() => StripeSubscriptionDto)
  stripe?: StripeSubscriptionDto;
}

export class OrgsQuery {
  @ApiPropertyOptional({ description: 'name prefix, case- and accent-insensitive' }) @IsOptional() @IsString() @MaxLength(100)
  q?: string;
  @ApiPropertyOptional({ description: 'R-LIST-5: wait until the read models reach this position (like the Gatehouse-Min-Position header)' }) @IsOptional() @IsString()
  minPosition?: string;
}

// Answers (issue 18: the OpenAPI document a typed client is generated from).

export class SystemOrgDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['team', 'service-desk', 'studio', 'partner'] }) preset!: string;
  @ApiProperty({ enum: ['active', 'suspended', 'deleted'] }) status!: string;
  @ApiProperty({ format: 'uuid' }) ownerId!: string;
  @ApiPropertyOptional({ format: 'uuid', description: 'the partner the org belongs to, if any' }) partnerId?: string;
  @ApiProperty({ type: 'integer' }) memberCount!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class SystemOrgPageDto {
  @ApiProperty({ type: [SystemOrgDto], description: 'the first 200 by name' }) items!: SystemOrgDto[];
  @ApiProperty(NEXT_CURSOR) nextCursor!: string | null;
}

export class PlanChangedDto {
  @ApiProperty() plan!: string;
  @ApiProperty({ type: StripeSubscriptionDto, nullable: true }) stripe!: StripeSubscriptionDto | null;
  @ApiProperty(POSITION) position!: string;
}

export class OrgDeletedDto {
  @ApiProperty(POSITION) position!: string;
  @ApiProperty({ type: 'integer' }) membersRemoved!: number;
  @ApiProperty({ type: 'integer', description: 'members whose only membership this org was' }) usersErased!: number;
}

/** R-BILL-3: an event whose effect failed every try. */
export class DeadLetterDto {
  @ApiProperty({ description: '`{consumer}:{eventId}`, or `{consumer}:kafka-{partition}-{offset}` for a malformed message' }) id!: string;
  @ApiProperty() consumer!: string;
  @ApiProperty({ description: '"" for a malformed message' }) eventId!: string;
  @ApiProperty() eventType!: string;
  @ApiProperty() stream!: string;
  @ApiProperty() position!: string;
  @ApiPropertyOptional({ format: 'uuid' }) orgId?: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ type: 'integer' }) tries!: number;
  @ApiProperty({ format: 'date-time' }) failedAt!: string;
  @ApiProperty({ enum: ['dead', 'redriven'] }) status!: string;
  @ApiPropertyOptional({ format: 'date-time' }) redrivenAt?: string;
  @ApiPropertyOptional({ description: 'a malformed message as received' }) raw?: string;
}

export class DeadLetterListDto {
  @ApiProperty({ type: [DeadLetterDto], description: 'the first 200' }) items!: DeadLetterDto[];
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
    const standing = await this.orgAccess.standing(meta.actor);
    return this.streams.retrying(async () => {
      const from = await this.streams.load(orgStream(orgId), organization);
      if (!from.state.exists) throw new NotFound('organization');
      const events = organization.decide(from.state, { type: suspend ? 'SuspendOrganization' : 'ReactivateOrganization', reason }, { now: this.clock(), actor: meta.actor, standing });
      return { position: (await this.streams.commit([{ from, events }], meta)).position };
    }, orgStream(orgId));
  }
}

export class ChangePlan extends Command<{ position: Position }> {
  constructor(readonly orgId: string, readonly input: PlanDto, readonly meta: CommandMeta) {
    super();
  }
}

/** R-SYS-1: a system admin changes an org's plan and the Stripe subscription its seats follow (R-BILL-1). */
@CommandHandler(ChangePlan)
export class ChangePlanHandler implements ICommandHandler<ChangePlan> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ orgId, input, meta }: ChangePlan) {
    const standing = await this.orgAccess.standing(meta.actor);
    const stripe = input.stripe ? { customerId: input.stripe.customerId, subscriptionId: input.stripe.subscriptionId, subscriptionItemId: input.stripe.subscriptionItemId } : null;
    const { position } = await this.streams.handle(orgStream(orgId), organization, { type: 'ChangePlan', plan: input.plan, stripe }, { now: this.clock(), actor: meta.actor, standing }, meta);
    return { plan: input.plan, stripe, position };
  }
}

@ApiTags('system')
@ApiBearerAuth()
@UseGuards(SessionGuard, SystemAdminGuard)
@Controller('v1/system/orgs')
export class SystemController {
  constructor(
    private readonly commands: CommandBus,
    private readonly runner: ProjectionRunner,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
  ) {}

  /** R-SYS-1: every org, by name. */
  @Get()
  @ApiOperation({ operationId: 'listAllOrgs', summary: 'Every org, by name (system admins, R-SYS-1)' })
  @ApiOkResponse({ type: SystemOrgPageDto })
  async list(@Query() query: OrgsQuery, @Req() request: GatehouseRequest) {
    await readAfter(request, this.runner);
    const rows = await this.readStore.find<OrgRow>({ collection: this.runner.collection(ORGS), where: query.q ? { nameKey: { prefix: fold(query.q) } } : {}, orderBy: [['nameKey', 'asc'], ['id', 'asc']], limit: 200 });
    return { items: rows.map(({ id, name, preset, status, ownerId, partnerId, memberCount, createdAt }) => ({ orgId: id, name, preset, status, ownerId, partnerId: partnerId || undefined, memberCount, createdAt })), nextCursor: null };
  }

  @Post(':org/suspend')
  @HttpCode(200)
  @ApiOperation({ operationId: 'suspendOrg', summary: 'Suspend an org: no member can act in it (R-ACC-7)' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('system.orgs.suspend')
  suspend(@OrgId() orgId: string, @Body() body: SuspendDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new ChangeOrgStatus(orgId, true, body.reason, meta));
  }

  @Put(':org/plan')
  @ApiOperation({ operationId: 'changeOrgPlan', summary: "Change an org's plan and the Stripe subscription its seats follow (R-BILL-1)" })
  @ApiOkResponse({ type: PlanChangedDto })
  @CommandType('system.orgs.plan.change')
  plan(@OrgId() orgId: string, @Body() body: PlanDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new ChangePlan(orgId, body, meta));
  }

  /** R-SYS-1, SPEC 5.3: delete an org, confirmed by its name. */
  @Delete(':org')
  @HttpCode(200)
  @ApiOperation({ operationId: 'deleteOrg', summary: 'Delete an org, confirmed by its name (SPEC 5.3)' })
  @ApiOkResponse({ type: OrgDeletedDto })
  @CommandType('system.orgs.delete')
  remove(@OrgId() orgId: string, @Body() body: DeleteOrgDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new DeleteOrganization(orgId, body.confirmName, meta));
  }

  @Post(':org/reactivate')
  @HttpCode(200)
  @ApiOperation({ operationId: 'reactivateOrg', summary: 'Reactivate a suspended org' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('system.orgs.reactivate')
  reactivate(@OrgId() orgId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new ChangeOrgStatus(orgId, false, undefined, meta));
  }
}

/** R-BILL-3: what failed every try, for operators to see and re-drive. */
@ApiTags('system')
@ApiBearerAuth()
@UseGuards(SessionGuard, SystemAdminGuard)
@Controller('v1/system/dead-letters')
export class DeadLettersController {
  constructor(private readonly consumers: ConsumerRunner) {}

  @Get()
  @ApiOperation({ operationId: 'listDeadLetters', summary: 'Dead letters: what failed every try, for operators to re-drive (R-BILL-3)' })
  @ApiOkResponse({ type: DeadLetterListDto })
  async list() {
    const letters = await this.consumers.list(200);
    return { items: letters.map(({ event: _event, _pos, ...letter }) => letter) };
  }

  @Post(':id/redrive')
  @HttpCode(200)
  @ApiOperation({ operationId: 'redriveDeadLetter', summary: 'Re-drive a dead letter: its effect is tried again (R-BILL-3)' })
  @ApiOkResponse({ type: DeadLetterDto })
  @CommandType('system.dead-letters.redrive')
  async redrive(@Param('id') id: string) {
    const letter = /^[a-z0-9.-]{1,60}:([0-9a-f-]{36}|kafka-\d{1,6}-\d{1,20})$/.test(id) ? await this.consumers.redrive(id) : undefined;
    if (!letter) throw new NotFound('dead letter');
    const { event: _event, _pos, ...rest } = letter;
    return rest;
  }
}
