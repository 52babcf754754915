import { Body, Controller, Delete, Get, HttpCode, Inject, Param, ParseUUIDPipe, Patch, Post, Put, Req, UseGuards } from '@nestjs/common';
import { BackupCodesDto, MeDto, MfaCodeDto, MfaEnrollmentDto, SessionPageDto } from './dto';
import { StartMfaEnrollment, VerifyMfaEnrollment } from './mfa.handlers';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';
import { E164, IsPlainText, MayOmit } from '../shared/validators';
import { NotFound } from '../../domain/shared/errors';
import { endedBy } from '../../domain/session/session';
import { user, userStream } from '../../domain/user/user';
import type { ReadStore } from '../../infra/readstore/port';
import { MEMBERS, type MemberRow } from '../../projections/members';
import { ORGS, type OrgRow } from '../../projections/orgs';
import { SESSIONS, type SessionRow } from '../../projections/sessions';
import { ProjectionRunner, readAfter } from '../readmodels/projection-runner';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, READ_STORE, type Clock } from '../shared/tokens';
import { ChangeOwnPassword, RevokeSessions } from './credentials.handlers';
import { SessionGuard } from './session.guard';
import { OrgAccess } from '../access/org-access.service';
import { PositionDto } from '../shared/responses';
import { CommandType } from '../messaging/command-type';

export class ChangePasswordDto {
  @ApiPropertyOptional({ writeOnly: true, description: 'required when the account has a password; an account made without one (SPEC 5.7) sets its first without' })
  @MayOmit() @IsString() @IsNotEmpty() @MaxLength(128)
  currentPassword?: string;

  @ApiProperty({ writeOnly: true }) @IsString() @IsNotEmpty() @MaxLength(128)
  newPassword!: string;
}

/** SPEC 5.7: what a person edits of their own profile. */
export class UpdateMeDto {
  @ApiPropertyOptional() @MayOmit() @IsString() @IsNotEmpty() @MaxLength(100) @IsPlainText()
  firstName?: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @MaxLength(100) @IsPlainText()
  lastName?: string;

  @ApiPropertyOptional({ example: '+14155550123' }) @MayOmit() @Matches(E164, { message: 'phone must be in E.164 form, e.g. +14155550123' })
  phone?: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @MaxLength(1000)
  bio?: string;
}

/** The signed-in person's own account: profile, memberships, password, sessions. */
@ApiTags('me')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/me')
export class MeController {
  constructor(
    private readonly commands: CommandBus,
    private readonly streams: Streams,
    private readonly runner: ProjectionRunner,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly orgAccess: OrgAccess,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'getMe', summary: 'My profile and memberships' })
  @ApiOkResponse({ type: MeDto })
  async me(@Req() request: GatehouseRequest) {
    if (request.actor!.kind !== 'user') throw new NotFound('user');
    await readAfter(request, this.runner);
    const [{ state }, systemAdmin] = await Promise.all([this.streams.load(userStream(request.actor!.id), user), this.orgAccess.isSystemAdmin(request.actor!)]);
    const rows = await this.readStore.find<MemberRow>({ collection: this.runner.collection(MEMBERS), where: { userId: state.userId }, orderBy: [['orgId', 'asc'], ['id', 'asc']], limit: 1000 });
    const orgs = await this.readStore.getMany<OrgRow>(this.runner.collection(ORGS), rows.map((r) => r.orgId));
    return {
      userId: state.userId,
      email: state.email,
      firstName: state.firstName,
      lastName: state.lastName,
      phone: state.phone,
      username: state.username,
      bio: state.bio,
      mustChangePassword: state.mustChangePassword,
      mfaEnabled: !!state.mfa.secret,
      systemAdmin,
      memberships: rows.map((r) => ({ orgId: r.orgId, orgName: orgs.get(r.orgId)?.name, role: r.roleId, status: r.status, approval: r.approval })),
    };
  }

  /** SPEC 5.7: a person edits their own name, phone and bio. */
  @Patch()
  @ApiOperation({ operationId: 'updateMe', summary: 'Edit my name, phone and bio (SPEC 5.7)' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('me.update')
  async update(@Body() body: UpdateMeDto, @Req() request: GatehouseRequest, @Meta() meta: CommandMeta) {
    if (request.actor!.kind !== 'user') throw new NotFound('user');
    const context = { now: this.clock(), actor: request.actor! };
    const { firstName, lastName, phone, bio } = body;
    const { position } = await this.streams.handle(userStream(request.actor!.id), user, { type: 'UpdateProfile', changes: { firstName, lastName, phone, bio } }, context, meta);
    return { position };
  }

  @Put('password')
  @HttpCode(200)
  @ApiOperation({ operationId: 'changeMyPassword', summary: 'Change my password (the current one needed when I have one; SPEC 5.7)' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('me.password.change')
  changePassword(@Body() body: ChangePasswordDto, @Meta() meta: CommandMeta) {
    return this.commands.execute(new ChangeOwnPassword(body.currentPassword, body.newPassword, meta));
  }

  /** R-CRED-8: start TOTP enrollment; the secret is shown once. */
  @Post('mfa/totp')
  @HttpCode(201)
  @ApiOperation({ operationId: 'startTotpEnrollment', summary: 'Start TOTP enrollment: the secret, shown once (R-CRED-8)' })
  @ApiCreatedResponse({ type: MfaEnrollmentDto })
  @CommandType('me.mfa.start')
  startMfa(@Meta() meta: CommandMeta) {
    return this.commands.execute(new StartMfaEnrollment(meta));
  }

  @Post('mfa/totp/verify')
  @HttpCode(200)
  @ApiOperation({ operationId: 'verifyTotpEnrollment', summary: 'Verify the first TOTP code: MFA is on; backup codes, shown once' })
  @ApiOkResponse({ type: BackupCodesDto })
  @CommandType('me.mfa.verify')
  verifyMfa(@Body() body: MfaCodeDto, @Meta() meta: CommandMeta) {
    return this.commands.execute(new VerifyMfaEnrollment(body.code, meta));
  }

  /** R-CRED-9: the sessions that still work. */
  @Get('sessions')
  @ApiOperation({ operationId: 'listMySessions', summary: 'My sessions that still work (R-CRED-9)' })
  @ApiOkResponse({ type: SessionPageDto })
  async sessions(@Req() request: GatehouseRequest) {
    await readAfter(request, this.runner);
    const { state } = await this.streams.load(userStream(request.actor!.id), user);
    const now = this.clock().toISOString();
    const rows = await this.readStore.find<SessionRow>({ collection: this.runner.collection(SESSIONS), where: { userId: state.userId, revoked: false, expiresAt: { gt: now } }, orderBy: [['startedAt', 'desc'], ['id', 'desc']], limit: 200 });
    const live = rows.filter((r) => !endedBy(state.sessionsRevoked, { sessionId: r.id, startedAt: r.startedAt }));
    return { items: live.map(({ id, method, startedAt, expiresAt }) => ({ sessionId: id, method, startedAt, expiresAt })), nextCursor: null };
  }

  /** R-CRED-9: log out everywhere, effective at once for every check. */
  @Delete('sessions')
  @HttpCode(200)
  @ApiOperation({ operationId: 'logOutEverywhere', summary: 'End every session of mine, this one included (R-CRED-9)' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('me.sessions.revoke-all')
  logOutEverywhere(@Meta() meta: CommandMeta) {
    return this.commands.execute(new RevokeSessions('all', meta));
  }

  @Delete('sessions/:session')
  @HttpCode(200)
  @ApiOperation({ operationId: 'revokeMySession', summary: 'End one of my sessions' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('me.sessions.revoke')
  async revoke(@Param('session', new ParseUUIDPipe({ exceptionFactory: () => new NotFound('session') })) sessionId: string, @Meta() meta: CommandMeta) {
    const row = (await this.readStore.getMany<SessionRow>(this.runner.collection(SESSIONS), [sessionId])).get(sessionId);
    if (!row || row.userId !== meta.actor.id) throw new NotFound('session');
    return this.commands.execute(new RevokeSessions(row.stream, meta));
  }
}
