import { Controller, Get, Inject, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { IsISO8601, IsString, Matches } from 'class-validator';
import { requirePermission } from '../../domain/access/access';
import { DomainError } from '../../domain/shared/errors';
import type { EventStore } from '../../infra/eventstore/port';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { OrgId, UserId } from '../shared/params';
import type { GatehouseRequest } from '../shared/request-context';
import { Streams } from '../shared/streams';
import { EVENT_STORE } from '../shared/tokens';
import { MayOmit } from '../shared/validators';
import { readCapabilities, type Capabilities } from './capabilities';

/**
 * A calendar date, or a date and time with its offset: an ordinal or week date (2026-012)
 * would be misread by Date, and a time without an offset would depend on the server's zone.
 */
const AT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

export class CapabilitiesQueryDto {
  @ApiProperty({ description: 'ISO 8601 date (midnight UTC) or date and time with Z or an offset, not later than now; events recorded at that very time count', example: '2026-01-01T00:00:00Z' })
  @IsISO8601({ strict: true }) @Matches(AT, { message: 'at must be an ISO 8601 date, or date and time with Z or an offset, like 2026-01-01T00:00:00Z' })
  at!: string;
  /** Accepted like on every read; the answer reads the log itself, so it is always up to date. */
  @ApiPropertyOptional() @MayOmit() @IsString()
  minPosition?: string;
}

/** The answer's shape, for the OpenAPI document (SPEC 5.2). */
class CapabilityDto {
  @ApiProperty({ example: 'users.list.any' }) permission!: string;
  @ApiPropertyOptional({ description: 'absent: across the org' }) location?: string;
  @ApiProperty({ enum: ['role', 'grant'] }) via!: 'role' | 'grant';
  @ApiPropertyOptional({ format: 'uuid', description: 'for a grant' }) grantId?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'for a grant that expires' }) expiresAt?: string;
}

class CapabilitiesDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ format: 'date-time', description: 'the time asked about, ISO 8601 UTC' }) at!: string;
  @ApiProperty({ pattern: '^[0-9]+$', description: 'global position of the last event folded, as a string; "0": none' }) position!: string;
  @ApiProperty() member!: boolean;
  @ApiProperty({ type: String, enum: ['active', 'disabled'], nullable: true }) status!: string | null;
  @ApiProperty({ type: String, enum: ['approved', 'pending'], nullable: true }) approval!: string | null;
  @ApiProperty({ type: Boolean, nullable: true }) banned!: boolean | null;
  @ApiProperty({ type: String, nullable: true }) roleId!: string | null;
  @ApiProperty({ type: [String], nullable: true, description: 'null: the role holds across the org (or not a member)' }) locations!: string[] | null;
  @ApiProperty({ type: [CapabilityDto] }) permissions!: CapabilityDto[];
}

const DESCRIPTION = `R-AUD-2, SPEC 5.2: what the member could do in the org at \`at\`, replayed from the org's and the membership's
events recorded up to \`at\` with the same evolve and the same check (\`can()\`) that POST …/authorize uses, \`at\` standing for now:
a grant that had expired by \`at\` is absent, a role held at \`at\` is there. \`permissions\` lists every permission that check allows,
once per thing that allows it: the role (with \`location\` when the role is scoped to locations) or a grant (\`grantId\`, \`expiresAt\`).
A check for permission P in location L is allowed exactly when an entry has P and no location or location L.
\`position\` is the global position of the last event folded ("0": none). Not a member at \`at\`: \`member: false\`, \`permissions: []\`,
and status, approval, banned, roleId and locations null. \`at\` later than now: 422 \`at_in_future\`.`;

@ApiTags('audit')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org/members/:user/capabilities')
export class CapabilitiesController {
  constructor(
    private readonly orgAccess: OrgAccess,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly streams: Streams,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'getCapabilitiesAt', summary: 'What a member could do at a time, replayed from history', description: DESCRIPTION })
  @ApiResponse({ status: 422, description: 'at_in_future, and the other invalid codes' })
  @ApiOkResponse({ type: CapabilitiesDto })
  async capabilities(@OrgId() orgId: string, @UserId() userId: string, @Query() query: CapabilitiesQueryDto, @Req() request: GatehouseRequest): Promise<Capabilities> {
    const { context } = await this.orgAccess.context(orgId, request.actor!);
    requirePermission(context.access, 'audit.read.any', context);
    const at = new Date(query.at);
    // Out of Date's range (it ends in the year 275760).
    if (Number.isNaN(at.getTime())) throw new DomainError('validation_failed', 'the request has invalid fields', { fields: [{ field: 'at', problems: ['at must be an ISO 8601 date and time, like 2026-01-01T00:00:00Z'] }] });
    if (at.getTime() > context.now.getTime()) throw new DomainError('at_in_future', 'at is later than now: only what has been recorded can be replayed', { at: query.at, now: context.now.toISOString() });
    return readCapabilities({ store: this.store, streams: this.streams }, orgId, userId, at);
  }
}
