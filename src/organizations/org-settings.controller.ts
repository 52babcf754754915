import { Body, Controller, Get, HttpCode, Param, Patch, Post, Req, UseGuards, type PipeTransform } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { NotFound } from '../../domain/shared/errors';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { OrgId } from '../shared/params';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import type { CommandMeta } from '../shared/streams';
import { AddLocationDto, ChangePolicyDto, CreateRoleDto, LocationAddedDto, RoleCreatedDto, RolePageDto, RoleUpdatedDto, TransferOwnershipDto, UpdateRoleDto } from './dto';
import { AddLocation, ChangePolicy, CreateRole, TransferOwnership, UpdateRole } from './org-settings.handlers';
import { PositionDto } from '../shared/responses';
import { CommandType } from '../messaging/command-type';

/** Built-in role ids are short words (`admin`), custom ones slugs (`front-desk-3f9a2c`); anything else is no role (404). */
class RoleIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(value)) throw new NotFound('role');
    return value;
  }
}

/** An org's settings (SPEC 3.1 "org"): locations, policy, roles, ownership. */
@ApiTags('organizations')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org')
export class OrgSettingsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly orgAccess: OrgAccess,
  ) {}

  @Post('locations')
  @HttpCode(201)
  @ApiOperation({ operationId: 'addLocation', summary: 'Add a location' })
  @ApiCreatedResponse({ type: LocationAddedDto })
  @CommandType('orgs.locations.add')
  addLocation(@OrgId() orgId: string, @Body() body: AddLocationDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new AddLocation(orgId, body.name, meta));
  }

  @Patch('policy')
  @HttpCode(200)
  @ApiOperation({ operationId: 'changePolicy', summary: "Change the org's policy: invitation expiry, default role, door access" })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('orgs.policy.change')
  changePolicy(@OrgId() orgId: string, @Body() body: ChangePolicyDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new ChangePolicy(orgId, body, meta));
  }

  /** Any member may read the roles: the UI needs them to show anyone's role. */
  @Get('roles')
  @ApiOperation({ operationId: 'listRoles', summary: "The org's roles, built-in and custom (any member may read them)" })
  @ApiOkResponse({ type: RolePageDto })
  async roles(@OrgId() orgId: string, @Req() request: GatehouseRequest) {
    const { org } = await this.orgAccess.load(orgId, request.actor!);
    return { items: Object.values(org.state.roles), nextCursor: null };
  }

  @Post('roles')
  @HttpCode(201)
  @ApiOperation({ operationId: 'createRole', summary: 'Create a custom role' })
  @ApiCreatedResponse({ type: RoleCreatedDto })
  @CommandType('orgs.roles.create')
  createRole(@OrgId() orgId: string, @Body() body: CreateRoleDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new CreateRole(orgId, body, meta));
  }

  @Patch('roles/:role')
  @HttpCode(200)
  @ApiOperation({ operationId: 'updateRole', summary: 'Edit a role; deactivate it, moving its members to another' })
  @ApiOkResponse({ type: RoleUpdatedDto })
  @CommandType('orgs.roles.update')
  updateRole(@OrgId() orgId: string, @Param('role', new RoleIdPipe()) roleId: string, @Body() body: UpdateRoleDto, @Meta('org') meta: CommandMeta) {
    const { moveMembersTo, ...changes } = body;
    return this.commands.execute(new UpdateRole(orgId, roleId, changes, moveMembersTo, meta));
  }

  @Post('owner-transfer')
  @HttpCode(200)
  @ApiOperation({ operationId: 'transferOwnership', summary: 'Make another active member the Owner' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('orgs.owner.transfer')
  transferOwnership(@OrgId() orgId: string, @Body() body: TransferOwnershipDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new TransferOwnership(orgId, body.toUserId, body.formerOwnerRole, meta));
  }
}
