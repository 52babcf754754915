import { Controller, Get, Inject, Query, Req, StreamableFile, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOkResponse, ApiOperation, ApiProduces, ApiProperty, ApiPropertyOptional, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { IsISO8601, IsString, IsUUID, Matches } from 'class-validator';
import { Readable } from 'node:stream';
import { requirePermission } from '../../domain/access/access';
import type { EventStore } from '../../infra/eventstore/port';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { OrgId } from '../shared/params';
import type { GatehouseRequest } from '../shared/request-context';
import { EVENT_STORE, PERSONAL_DATA } from '../shared/tokens';
import type { PersonalData } from '../../infra/personal/personal-data';
import { ActorDto } from '../shared/responses';
import { MayOmit } from '../shared/validators';
import { historyLines } from './history';

export class HistoryQueryDto {
  @ApiPropertyOptional({ description: 'ISO 8601 time, inclusive', example: '2026-01-01T00:00:00Z' }) @MayOmit() @IsISO8601({ strict: true })
  from?: string;
  @ApiPropertyOptional({ description: 'ISO 8601 time, exclusive' }) @MayOmit() @IsISO8601({ strict: true })
  to?: string;
  @ApiPropertyOptional({ description: 'only events about this user: their account, their membership here, or naming them as member or owner' }) @MayOmit() @IsUUID()
  user?: string;
  @ApiPropertyOptional({ description: 'event types, comma-separated', example: 'RoleChanged,AccessDisabled' }) @MayOmit() @Matches(/^[A-Za-z0-9]{1,100}(,[A-Za-z0-9]{1,100}){0,99}$/, { message: 'types is a comma-separated list of event types' })
  types?: string;
  /** Accepted like on every read; the history reads the log itself, so it is always up to date. */
  @ApiPropertyOptional() @MayOmit() @IsString()
  minPosition?: string;
}

/** One line of the export (SPEC 5.1), for the OpenAPI document: the stored envelope, its hash chain and `personal`. */
export class HistoryLineDto {
  @ApiProperty({ format: 'uuid' }) eventId!: string;
  @ApiProperty({ example: 'RoleChanged' }) type!: string;
  @ApiProperty({ type: 'integer', description: 'as stored, not upcast' }) schemaVersion!: number;
  @ApiProperty() stream!: string;
  @ApiProperty({ type: 'integer', description: '0 for the first event of a stream' }) streamVersion!: number;
  @ApiProperty({ pattern: '^[0-9]+$', description: 'global position, as a string (it may pass 2^53)' }) position!: string;
  @ApiProperty({ format: 'date-time' }) recordedAt!: string;
  @ApiProperty({ type: ActorDto }) actor!: ActorDto;
  @ApiProperty({ type: ActorDto, nullable: true, description: 'the person really acting when the actor was impersonated' }) realActor!: ActorDto | null;
  @ApiProperty({ type: String, nullable: true }) orgId!: string | null;
  @ApiProperty() correlationId!: string;
  @ApiProperty({ type: String, nullable: true }) causationId!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'as stored: personal data in it is sealed' }) data!: object;
  @ApiProperty({ type: String, nullable: true, pattern: '^[0-9a-f]{64}$', description: 'the hash of the previous event of the same stream; 64 zeros at version 0' }) prevHash!: string | null;
  @ApiProperty({ type: String, nullable: true, pattern: '^[0-9a-f]{64}$', description: 'SHA-256 hex of prevHash + "\\n" + JCS(line without hash, position and personal)' }) hash!: string | null;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: "the event's personal data, decrypted; absent when it has none or its person was erased" }) personal?: object;
}

const DESCRIPTION = `R-AUD-2, R-AUD-3: the org's events in global order as JSON lines (application/x-ndjson), streamed.
Each line is the stored envelope: eventId, type, schemaVersion, stream, streamVersion, position (a string), recordedAt,
actor, realActor, orgId, correlationId, causationId, data, prevHash, hash — schemaVersion and data as stored (not upcast),
absent realActor/orgId/causationId as null. hash = SHA-256 hex of prevHash + "\\n" + JCS(line without hash, position, personal);
prevHash is the previous event of the same stream's hash (64 zeros at version 0). Check a file with \`npm run cli -- verify --file\`.
\`personal\`: the event's personal data, decrypted (outside the hash); absent once the person is erased (SPEC 5.1).`;

@ApiTags('audit')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org/history')
export class HistoryController {
  constructor(
    private readonly orgAccess: OrgAccess,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(PERSONAL_DATA) private readonly personal: PersonalData,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'exportHistory', summary: "Export the org's history (JSON lines with the hash chain)", description: DESCRIPTION })
  @ApiProduces('application/x-ndjson')
  @ApiExtraModels(HistoryLineDto)
  // JSON lines: the schema is each line's, as OpenAPI 3.2's itemSchema says it for streamed media types.
  @ApiOkResponse({ description: 'JSON lines (application/x-ndjson): one line per event, each line a HistoryLineDto', schema: { $ref: getSchemaPath(HistoryLineDto) } })
  async history(@OrgId() orgId: string, @Query() query: HistoryQueryDto, @Req() request: GatehouseRequest): Promise<StreamableFile> {
    const { context } = await this.orgAccess.context(orgId, request.actor!);
    requirePermission(context.access, 'audit.read.any', context);
    const lines = historyLines(this.store, {
      orgId,
      from: query.from ? new Date(query.from) : undefined,
      to: query.to ? new Date(query.to) : undefined,
      userId: query.user,
      types: query.types?.split(','),
    }, this.personal);
    return new StreamableFile(Readable.from(lines), { type: 'application/x-ndjson' });
  }
}
