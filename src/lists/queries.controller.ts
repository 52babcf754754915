import { Controller, Get, Inject, Query as QueryParams, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { requirePermission } from '../../domain/access/access';
import { AVAILABILITIES, membership, membershipStream } from '../../domain/membership/membership';
import { DomainError, NotFound } from '../../domain/shared/errors';
import { LOGIN_ACTIVITY, type LoginAttempt } from '../../projections/login-activity';
import type { Condition, ReadStore } from '../../infra/readstore/port';
import { INVITATIONS, type InvitationRow } from '../../projections/invitations';
import { MEMBERS, type MemberRow } from '../../projections/members';
import { PERMISSION_HISTORY, type PermissionHistoryEntry } from '../../projections/permission-history';
import { fold } from '../../projections/projection';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { OrgId, UserId } from '../shared/params';
import type { GatehouseRequest } from '../shared/request-context';
import { Streams } from '../shared/streams';
import { CLOCK, READ_STORE, type Clock } from '../shared/tokens';
import { ProjectionRunner, readAfter } from '../readmodels/projection-runner';
import { InvitationPageDto, LoginActivityPageDto, MemberPageDto, MemberSearchDto, PermissionHistoryPageDto } from './dto';

const SORTS = { name: 'nameKey', joined: 'joinedAt', lastSignIn: 'lastSignInAt' } as const;

export class MembersQuery {
  @ApiPropertyOptional({ description: 'name or email prefix, case- and accent-insensitive' }) @IsOptional() @IsString() @MaxLength(100)
  q?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(64)
  role?: string;
  @ApiPropertyOptional({ enum: ['active', 'disabled'] }) @IsOptional() @IsIn(['active', 'disabled'])
  status?: 'active' | 'disabled';
  @ApiPropertyOptional({ enum: ['approved', 'pending'] }) @IsOptional() @IsIn(['approved', 'pending'])
  approval?: 'approved' | 'pending';
  @ApiPropertyOptional({ enum: AVAILABILITIES }) @IsOptional() @IsIn(AVAILABILITIES)
  availability?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(64)
  location?: string;
  @ApiPropertyOptional({ description: 'R-ACC-6: only members who may be assigned work' }) @IsOptional() @IsIn(['true', 'false'])
  assignable?: 'true' | 'false';
  @ApiPropertyOptional({ enum: ['name', '-name', 'joined', '-joined', 'lastSignIn', '-lastSignIn'] }) @IsOptional() @IsIn(['name', '-name', 'joined', '-joined', 'lastSignIn', '-lastSignIn'])
  sort?: string;
  @ApiPropertyOptional({ default: 50, maximum: 200 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200)
  limit?: number;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(500) @Matches(/^[A-Za-z0-9_-]+$/)
  cursor?: string;
  @ApiPropertyOptional({ description: 'R-LIST-5: wait until the read models reach this position' }) @IsOptional() @IsString()
  minPosition?: string;
}

export class SearchQuery {
  @ApiProperty({ description: 'name or email prefix, case- and accent-insensitive' }) @IsString() @IsNotEmpty() @MaxLength(100)
  q!: string;
  @ApiPropertyOptional({ description: 'R-LIST-5: wait until the read models reach this position (like the Gatehouse-Min-Position header)' }) @IsOptional() @IsString()
  minPosition?: string;
}

export class PageQuery {
  @ApiPropertyOptional({ description: 'page size; 50 for invitations, 100 for activity and history' }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200)
  limit?: number;
  @ApiPropertyOptional({ description: "the previous page's nextCursor" }) @IsOptional() @IsString() @MaxLength(500) @Matches(/^[A-Za-z0-9_-]+$/)
  cursor?: string;
  @ApiPropertyOptional({ description: 'R-LIST-5: wait until the read models reach this position (like the Gatehouse-Min-Position header)' }) @IsOptional() @IsString()
  minPosition?: string;
}

const encodeCursor = (values: Array<string | number>) => Buffer.from(JSON.stringify(values)).toString('base64url');
function decodeCursor(cursor: string | undefined, length: number): Array<string | number> | undefined {
  if (!cursor) return undefined;
  try {
    const values = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (Array.isArray(values) && values.length === length && values.every((v) => typeof v === 'string' || typeof v === 'number')) return values;
  } catch {
    /* answered below */
  }
  throw new DomainError('validation_failed', 'cursor is not one this list gave out', { fields: [{ field: 'cursor', problems: ['invalid cursor'] }] });
}

/** Text search: a prefix of the full name, the last name, or the email. */
function textMatch(q: string): Array<Record<string, Condition>> {
  const folded = fold(q);
  return [{ nameKey: { prefix: folded } }, { lastNameKey: { prefix: folded } }, { emailKey: { prefix: q.trim().toLowerCase() } }];
}

const memberItem = ({ _pos, nameKey, lastNameKey, emailKey, ...row }: MemberRow) => row;

/** The admin UI's lists: read from the projections only. */
@ApiTags('members')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org')
export class QueriesController {
  constructor(
    private readonly orgAccess: OrgAccess,
    private readonly streams: Streams,
    private readonly runner: ProjectionRunner,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  private async authorize(orgId: string, request: GatehouseRequest, permission: string) {
    const { context } = await this.orgAccess.context(orgId, request.actor!);
    requirePermission(context.access, permission, context);
    await readAfter(request, this.runner);
    return context;
  }

  /** R-LIST-1, R-LIST-2, R-ACC-6: filter, sort, stable cursor pages. */
  @Get('members')
  @ApiOperation({ operationId: 'listMembers', summary: 'The members list: filters, sort, cursor pages (R-LIST-1, R-LIST-2)' })
  @ApiOkResponse({ type: MemberPageDto })
  async members(@OrgId() orgId: string, @QueryParams() query: MembersQuery, @Req() request: GatehouseRequest) {
    await this.authorize(orgId, request, 'users.list.any');
    const where: Record<string, Condition> = { orgId };
    if (query.role) where.roleId = query.role;
    if (query.status) where.status = query.status;
    if (query.approval) where.approval = query.approval;
    if (query.availability) where.availability = query.availability;
    if (query.assignable) where.assignable = query.assignable === 'true';
    const sort = query.sort ?? 'name';
    const field = SORTS[sort.replace('-', '') as keyof typeof SORTS];
    const direction = sort.startsWith('-') ? 'desc' : 'asc';
    const orderBy: Array<[string, 'asc' | 'desc']> = [[field, direction], ['id', direction]];
    const limit = query.limit ?? 50;
    // Location is a list field: filtered here, after the indexed query, over a wider page.
    const wanted = query.location;
    const items: MemberRow[] = [];
    let after = decodeCursor(query.cursor, 2);
    for (let round = 0; round < 20 && items.length < limit; round++) {
      const page = await this.readStore.find<MemberRow>({ collection: this.runner.collection(MEMBERS), where, anyOf: query.q ? textMatch(query.q) : undefined, orderBy, limit: wanted ? limit * 4 : limit + 1, after });
      for (const row of page) if (!wanted || row.locations.includes(wanted)) items.push(row);
      if (page.length < (wanted ? limit * 4 : limit + 1)) break;
      const last = page[page.length - 1];
      after = [last[field as keyof MemberRow] as string, last.id];
    }
    const pageItems = items.slice(0, limit);
    const last = pageItems[pageItems.length - 1];
    const more = items.length > limit || (!!wanted && items.length === limit);
    return { items: pageItems.map(memberItem), nextCursor: more && last ? encodeCursor([last[field as keyof MemberRow] as string, last.id]) : null };
  }

  /** R-LIST-3: the top 10 matches by name or email, for a command palette. */
  @Get('members/search')
  @ApiOperation({ operationId: 'searchMembers', summary: 'Quick search: the top 10 by name or email (R-LIST-3)' })
  @ApiOkResponse({ type: MemberSearchDto })
  async search(@OrgId() orgId: string, @QueryParams() query: SearchQuery, @Req() request: GatehouseRequest) {
    await this.authorize(orgId, request, 'users.list.any');
    const rows = await this.readStore.find<MemberRow>({ collection: this.runner.collection(MEMBERS), where: { orgId }, anyOf: textMatch(query.q), orderBy: [['nameKey', 'asc'], ['id', 'asc']], limit: 10 });
    return { items: rows.map(({ userId, shortId, firstName, lastName, email, roleId, status }) => ({ userId, shortId, firstName, lastName, email, roleId, status })) };
  }

  /** R-INV-2: pending invitations with email, role, inviter and expiry. */
  @Get('invitations')
  @ApiOperation({ operationId: 'listInvitations', summary: 'Pending invitations with email, role, inviter and expiry (R-INV-2)' })
  @ApiOkResponse({ type: InvitationPageDto })
  async invitations(@OrgId() orgId: string, @QueryParams() query: PageQuery, @Req() request: GatehouseRequest) {
    await this.authorize(orgId, request, 'members.invite.any');
    const limit = query.limit ?? 50;
    const now = this.clock().toISOString();
    const rows = await this.readStore.find<InvitationRow>({ collection: this.runner.collection(INVITATIONS), where: { orgId, status: 'pending' }, orderBy: [['invitedAt', 'desc'], ['id', 'desc']], limit: limit + 1, after: decodeCursor(query.cursor, 2) });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(({ invitationId, email, roleId, invitedBy, invitedAt, expiresAt }) => ({ invitationId, email, role: roleId, invitedBy, invitedAt, expiresAt, expired: expiresAt <= now })),
      nextCursor: rows.length > limit && last ? encodeCursor([last.invitedAt, last.id]) : null,
    };
  }

  /** R-CRED-6, R-LIST-4: a member's sign-in attempts, newest first (100 a page). */
  @Get('members/:user/login-activity')
  @ApiOperation({ operationId: 'listLoginActivity', summary: "A member's sign-in attempts, newest first (R-CRED-6)" })
  @ApiOkResponse({ type: LoginActivityPageDto })
  async loginActivity(@OrgId() orgId: string, @UserId() userId: string, @QueryParams() query: PageQuery, @Req() request: GatehouseRequest) {
    await this.authorize(orgId, request, 'audit.read.any');
    const member = await this.readStore.getMany<MemberRow>(this.runner.collection(MEMBERS), [`${orgId}:${userId}`]);
    if (!member.size) throw new NotFound('member');
    const limit = query.limit ?? 100;
    const rows = await this.readStore.find<LoginAttempt>({ collection: this.runner.collection(LOGIN_ACTIVITY), where: { userId }, orderBy: [['seq', 'desc'], ['id', 'desc']], limit: limit + 1, after: decodeCursor(query.cursor, 2) });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(({ _pos, seq, id, userId: _u, ...attempt }) => attempt), nextCursor: rows.length > limit && last ? encodeCursor([last.seq, last.id]) : null };
  }

  /** R-ROLE-7: every role change and grant, active and expired, with actor and time, newest first. */
  @Get('members/:user/permission-history')
  @ApiOperation({ operationId: 'listPermissionHistory', summary: "A member's role changes and grants, newest first (R-ROLE-7)" })
  @ApiOkResponse({ type: PermissionHistoryPageDto })
  async permissionHistory(@OrgId() orgId: string, @UserId() userId: string, @QueryParams() query: PageQuery, @Req() request: GatehouseRequest) {
    await this.authorize(orgId, request, 'audit.read.any');
    // R-SEC-1: someone who never was a member of this org answers 404; a removed member's history stays readable.
    if ((await this.streams.load(membershipStream(orgId, userId), membership)).version < 0) throw new NotFound('member');
    const limit = query.limit ?? 100;
    const rows = await this.readStore.find<PermissionHistoryEntry>({ collection: this.runner.collection(PERMISSION_HISTORY), where: { orgId, userId }, orderBy: [['seq', 'desc'], ['id', 'desc']], limit: limit + 1, after: decodeCursor(query.cursor, 2) });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(({ _pos, seq, orgId: _o, userId: _u, ...entry }) => entry), nextCursor: rows.length > limit && last ? encodeCursor([last.seq, last.id]) : null };
  }
}
