import { Body, Controller, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { accessOf, can, requirePermission } from '../../domain/access/access';
import { membership, membershipStream } from '../../domain/membership/membership';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { OrgId } from '../shared/params';
import type { GatehouseRequest } from '../shared/request-context';
import { Streams } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';
import { MayOmit } from '../shared/validators';
import { CommandType } from '../messaging/command-type';

export class AuthorizeDto {
  @ApiProperty({ description: 'user id of the principal' }) @IsString() @IsNotEmpty() @MaxLength(64)
  principal!: string;

  @ApiProperty({ example: 'bookings.create.own' }) @IsString() @IsNotEmpty() @MaxLength(100)
  permission!: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @IsNotEmpty() @MaxLength(64)
  location?: string;
}

/** The answer: allowed or not, and why (`not_member`: the principal is no member of the org). */
export class DecisionDto {
  @ApiProperty() allowed!: boolean;
  @ApiProperty({ enum: ['role', 'grant', 'missing_permission', 'disabled', 'not_approved', 'banned', 'outside_locations', 'not_member'] }) reason!: string;
}

/**
 * "May P do X (in location L) in org O?" — answered from the write side, so it
 * holds the moment a command returns (R-ROLE-8). Asking about oneself is always
 * allowed; asking about others needs users.list.any (a service key usually has it).
 */
@ApiTags('authorization')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org/authorize')
export class AuthorizeController {
  constructor(
    private readonly orgAccess: OrgAccess,
    private readonly streams: Streams,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ operationId: 'authorize', summary: 'May this principal do this permission (in this location) in the org? Allowed or not, with the reason' })
  @ApiOkResponse({ type: DecisionDto })
  @CommandType('authorize')
  async authorize(@OrgId() orgId: string, @Body() body: AuthorizeDto, @Req() request: GatehouseRequest) {
    const { org, access } = await this.orgAccess.load(orgId, request.actor!);
    const now = this.clock();
    if (body.principal !== request.actor!.id) requirePermission(access, 'users.list.any', { now });
    const member = await this.streams.load(membershipStream(orgId, body.principal), membership);
    if (!member.state.exists) return { allowed: false, reason: 'not_member' };
    return can(accessOf(org.state, member.state), body.permission, { now, location: body.location });
  }
}
