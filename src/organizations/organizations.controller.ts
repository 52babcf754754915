import { Body, Controller, Get, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { requireSignupAllowed } from '../../domain/access/access';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { Sessions } from '../auth/sessions.service';
import { Settings } from '../config/config';
import { OrgId } from '../shared/params';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import type { CommandMeta } from '../shared/streams';
import { CreateOrganization } from './create-organization.handler';
import { CreateOrganizationDto, OrganizationCreatedDto, OrganizationDto } from './dto';
import { CommandType } from '../messaging/command-type';

@ApiTags('organizations')
@Controller('v1/orgs')
export class OrganizationsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly orgAccess: OrgAccess,
    private readonly settings: Settings,
    private readonly sessions: Sessions,
  ) {}

  /** Open to anyone when SIGNUP=open; otherwise system admins only (R-SYS-1), who then act as themselves. */
  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: OrganizationCreatedDto })
  @ApiOperation({ operationId: 'createOrganization', summary: 'Create an org with its Owner, and sign the Owner in (open when SIGNUP=open, else system admins)' })
  @CommandType('orgs.create')
  async create(@Body() body: CreateOrganizationDto, @Meta() meta: CommandMeta, @Req() request: GatehouseRequest) {
    if (this.settings.SIGNUP !== 'open') {
      // Closed signup: a system admin creates the org, and acts as themselves.
      const header = request.headers.authorization;
      const principal = typeof header === 'string' && header.startsWith('Bearer ') ? await this.sessions.authenticate(header.slice(7).trim()) : undefined;
      const { systemAdmin } = principal ? await this.orgAccess.standing(principal.actor) : { systemAdmin: false };
      requireSignupAllowed(this.settings.SIGNUP, { signedIn: !!principal, systemAdmin }, 'organization');
      if (principal) meta = { ...meta, actor: principal.actor };
    }
    return this.commands.execute(new CreateOrganization({ ...body, preset: body.preset ?? 'team' }, meta));
  }

  @Get(':org')
  @ApiBearerAuth()
  @UseGuards(SessionGuard)
  @ApiOperation({ operationId: 'getOrganization', summary: 'An org: name, status, policy, roles, locations' })
  @ApiOkResponse({ type: OrganizationDto })
  async get(@OrgId() orgId: string, @Req() request: GatehouseRequest) {
    const { org } = await this.orgAccess.load(orgId, request.actor!);
    const { name, status, ownerId, policy, roles, locations } = org.state;
    return { orgId, name, status, ownerId, policy, roles: Object.values(roles), locations: Object.values(locations) };
  }
}
