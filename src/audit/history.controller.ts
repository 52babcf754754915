import { Controller, Get, Inject, Query, Req, StreamableFile, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProduces, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
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
  @ApiOkResponse({ description: 'one JSON object per line, one line per event', schema: { type: 'string', description: 'JSON lines (application/x-ndjson): each line one event envelope, as the description says' } })
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
