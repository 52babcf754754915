import { Body, Controller, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post, Req, UseGuards } from '@nestjs/common';
import { Command, CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsIn, IsNotEmpty, IsString, IsUUID, MaxLength, ValidateNested } from 'class-validator';
import { OWNER_ROLE_ID, PRESETS, type Preset } from '../../domain/access/roles';
import { organization, orgStream } from '../../domain/organization/organization';
import { partner, partnerStream, requirePartnerAdmin } from '../../domain/partner/partner';
import { DomainError, NotFound } from '../../domain/shared/errors';
import { newId } from '../../infra/crypto/secrets';
import type { Position } from '../../domain/shared/envelope';
import { requireSignupAllowed } from '../../domain/access/access';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { Settings } from '../config/config';
import { CreateMember } from '../membership/create-member.handler';
import { CreateMemberDto, MemberCreatedDto } from '../membership/dto';
import { Joining } from '../membership/joining';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';
import { IsPlainText, MayOmit } from '../shared/validators';
import { PartnerCreatedDto, PartnerOrgCreatedDto, PartnerOrgPageDto } from './dto';
import { CommandType } from '../messaging/command-type';

export class CreatePartnerDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(120) @IsPlainText()
  name!: string;
}

export class CreatePartnerOrgDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(120) @IsPlainText()
  name!: string;

  @ApiPropertyOptional({ enum: PRESETS, default: 'partner' }) @MayOmit() @IsIn(PRESETS)
  preset?: Preset;
}

export class PlacementDto {
  @ApiProperty() @IsUUID()
  orgId!: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @IsNotEmpty() @MaxLength(64)
  role?: string;

  @ApiPropertyOptional({ type: [String] }) @MayOmit() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(64, { each: true })
  locations?: string[];
}

/** Seed 003's partner user: one person, roles in several orgs of the partner, maybe a partner admin too — one command. */
export class CreatePartnerUserDto extends CreateMemberDto {
  @ApiProperty({ type: [PlacementDto] }) @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => PlacementDto)
  orgs!: PlacementDto[];

  @ApiPropertyOptional() @MayOmit() @IsBoolean()
  partnerAdmin?: boolean;
}

export class CreatePartner extends Command<{ partnerId: string; position: Position }> {
  constructor(readonly name: string, readonly meta: CommandMeta) {
    super();
  }
}

export class CreatePartnerOrg extends Command<{ orgId: string; position: Position }> {
  constructor(readonly partnerId: string, readonly name: string, readonly preset: Preset, readonly meta: CommandMeta) {
    super();
  }
}

@CommandHandler(CreatePartner)
export class CreatePartnerHandler implements ICommandHandler<CreatePartner> {
  constructor(
    private readonly streams: Streams,
    private readonly settings: Settings,
    private readonly orgAccess: OrgAccess,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ name, meta }: CreatePartner) {
    // Like org creation: open to any signed-in person when SIGNUP=open; only system admins when closed.
    const { systemAdmin } = await this.orgAccess.standing(meta.actor);
    requireSignupAllowed(this.settings.SIGNUP, { signedIn: meta.actor.kind === 'user', systemAdmin }, 'partner');
    const partnerId = newId();
    const from = await this.streams.load(partnerStream(partnerId), partner);
    const events = partner.decide(from.state, { type: 'CreatePartner', partnerId, name }, { now: this.clock(), actor: meta.actor });
    const { position } = await this.streams.commit([{ from, events }], meta);
    return { partnerId, position };
  }
}

/** An org of the partner, created by one of its admins, who becomes its Owner (every org has exactly one, its creator). */
@CommandHandler(CreatePartnerOrg)
export class CreatePartnerOrgHandler implements ICommandHandler<CreatePartnerOrg> {
  constructor(
    private readonly streams: Streams,
    private readonly joining: Joining,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ partnerId, name, preset, meta }: CreatePartnerOrg) {
    const orgId = newId();
    const ownerId = meta.actor.id;
    return this.streams.retrying(async () => {
      const context = { now: this.clock(), actor: meta.actor };
      const from = await this.streams.load(partnerStream(partnerId), partner);
      if (!from.state.exists) throw new NotFound('partner');
      const attached = partner.decide(from.state, { type: 'AttachOrg', orgId }, context);
      const org = await this.streams.load(orgStream(orgId), organization);
      const created = organization.decide(org.state, { type: 'CreateOrganization', orgId, name, preset, ownerId, partnerId }, context);
      const owner = await this.joining.addMember(ownerId, { roleId: OWNER_ROLE_ID, via: 'owner' }, { ...context, org: created.reduce(organization.evolve, org.state), access: undefined });
      const { position } = await this.streams.commit([{ from, events: attached }, { from: org, events: created }, ...owner], { ...meta, orgId });
      return { orgId, position };
    }, partnerStream(partnerId));
  }
}

const PartnerId = () => Param('partner', new ParseUUIDPipe({ exceptionFactory: () => new NotFound('partner') }));

@ApiTags('partners')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/partners')
export class PartnersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly streams: Streams,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ operationId: 'createPartner', summary: 'Create a partner; its creator becomes its admin' })
  @ApiCreatedResponse({ type: PartnerCreatedDto })
  @CommandType('partners.create')
  create(@Body() body: CreatePartnerDto, @Meta() meta: CommandMeta) {
    return this.commands.execute(new CreatePartner(body.name, meta));
  }

  @Get(':partner/orgs')
  @ApiOperation({ operationId: 'listPartnerOrgs', summary: "A partner's orgs (partner admins)" })
  @ApiOkResponse({ type: PartnerOrgPageDto })
  async orgs(@PartnerId() partnerId: string, @Req() request: GatehouseRequest) {
    const { state } = await this.streams.load(partnerStream(partnerId), partner);
    if (!state.exists) throw new NotFound('partner');
    requirePartnerAdmin(state, request.actor!.id);
    const items = await Promise.all(
      state.orgs.map(async (orgId) => {
        const { state: org } = await this.streams.load(orgStream(orgId), organization);
        return { orgId, name: org.name, status: org.status, ownerId: org.ownerId };
      }),
    );
    return { items, nextCursor: null };
  }

  @Post(':partner/orgs')
  @HttpCode(201)
  @ApiOperation({ operationId: 'createPartnerOrg', summary: 'Create an org of the partner; its creator becomes the Owner' })
  @ApiCreatedResponse({ type: PartnerOrgCreatedDto })
  @CommandType('partners.orgs.create')
  createOrg(@PartnerId() partnerId: string, @Body() body: CreatePartnerOrgDto, @Meta() meta: CommandMeta) {
    return this.commands.execute(new CreatePartnerOrg(partnerId, body.name, body.preset ?? 'partner', meta));
  }

  @Post(':partner/users')
  @HttpCode(201)
  @ApiOperation({ operationId: 'createPartnerUser', summary: 'Create a person with roles in several orgs of the partner, in one command (R-SYS-2)' })
  @ApiCreatedResponse({ type: MemberCreatedDto })
  @CommandType('partners.users.place')
  createUser(@PartnerId() partnerId: string, @Body() body: CreatePartnerUserDto, @Meta() meta: CommandMeta) {
    const { orgs, partnerAdmin, role: _role, locations: _locations, ...input } = body;
    return this.commands.execute(new CreateMember({ placements: orgs, partner: { partnerId, admin: !!partnerAdmin } }, input, meta));
  }
}
