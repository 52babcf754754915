import { Body, Controller, Delete, Get, HttpCode, Inject, Patch, Post, Put, Req, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import { requirePermission } from '../../domain/access/access';
import { membership, membershipStream, type MembershipCommand } from '../../domain/membership/membership';
import { NotFound } from '../../domain/shared/errors';
import { user, userStream, type User } from '../../domain/user/user';
import { endedBy } from '../../domain/session/session';
import type { ReadStore } from '../../infra/readstore/port';
import { MEMBERS, type MemberRow } from '../../projections/members';
import { SESSIONS, type SessionRow } from '../../projections/sessions';
import { USERS, type UserDoc } from '../../projections/users';
import { ProjectionRunner, readAfter } from '../readmodels/projection-runner';
import { READ_STORE } from '../shared/tokens';
import { MembershipAction } from '../access/membership-action.handler';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { GrantId, OrgId, UserId } from '../shared/params';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import { Streams, type CommandMeta } from '../shared/streams';
import { CreateMember } from './create-member.handler';
import { AccessCodeDto, AvailabilityDto, ChangeRoleDto, CreateMemberDto, GrantDto, GrantGivenDto, MemberCreatedDto, MemberDetailDto, SetPasswordDto, TemporaryPasswordDto, UpdateMemberDto } from './dto';
import { SendPasswordReset, SetMemberPassword } from '../auth/credentials.handlers';
import { ResetMemberMfa } from '../auth/mfa.handlers';
import { SendSetupLink, SetAccessCode, UpdateMember } from './member.handlers';
import { MembershipChangeDto, PositionDto } from '../shared/responses';
import { CommandType } from '../messaging/command-type';

/** The access actions of SPEC 3.1, each one membership command. */
const ACCESS_ACTIONS = {
  disable: { type: 'DisableAccess' },
  enable: { type: 'EnableAccess' },
  approve: { type: 'ApproveMember' },
  pending: { type: 'MarkPending' },
  ban: { type: 'BanMember' },
  unban: { type: 'UnbanMember' },
} satisfies Record<string, MembershipCommand>;

@ApiTags('members')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org/members')
export class MembersController {
  constructor(
    private readonly commands: CommandBus,
    private readonly orgAccess: OrgAccess,
    private readonly streams: Streams,
    private readonly runner: ProjectionRunner,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
  ) {}

  private act(orgId: string, userId: string, command: MembershipCommand, meta: CommandMeta) {
    return this.commands.execute(new MembershipAction(orgId, userId, command, meta));
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ operationId: 'createMember', summary: 'Create a member directly: setup email, temporary password or a set password (R-CRT-1)' })
  @ApiCreatedResponse({ type: MemberCreatedDto })
  @CommandType('members.create')
  create(@OrgId() orgId: string, @Body() body: CreateMemberDto, @Meta('org') meta: CommandMeta) {
    const { role, locations, ...input } = body;
    return this.commands.execute(new CreateMember({ placements: [{ orgId, role, locations }] }, input, meta));
  }

  /** R-LIST-4: the member as the write side knows it, with dates and sessions from the read models (add Gatehouse-Min-Position to read your write). */
  @Get(':user')
  @ApiOperation({ operationId: 'getMember', summary: "A member's detail: profile, role, status, grants, dates, sessions (R-LIST-4)" })
  @ApiOkResponse({ type: MemberDetailDto })
  async detail(@OrgId() orgId: string, @UserId() userId: string, @Req() request: GatehouseRequest) {
    const { context } = await this.orgAccess.context(orgId, request.actor!);
    requirePermission(context.access, 'users.list.any', context);
    await readAfter(request, this.runner);
    const { state: member } = await this.streams.load(membershipStream(orgId, userId), membership);
    if (!member.exists) throw new NotFound('member');
    const { state: account } = await this.streams.load(userStream(userId), user);
    return {
      userId,
      email: account.email,
      firstName: account.firstName,
      lastName: account.lastName,
      phone: account.phone,
      username: account.username,
      bio: account.bio,
      role: member.roleId,
      locations: member.locations,
      status: member.status,
      approval: member.approval,
      banned: member.banned,
      owner: context.org.ownerId === userId,
      accessCode: member.accessCode,
      availability: member.availability,
      notes: member.notes,
      grants: member.grants.map((g) => ({ ...g, expired: !!g.expiresAt && g.expiresAt <= context.now.toISOString() })),
      mfaEnabled: !!account.mfa.secret,
      ...(await this.fromReadModels(orgId, userId, account, context.now)),
    };
  }

  /** R-LIST-4: what only the history knows (when, by whom), and the member's live sessions. */
  private async fromReadModels(orgId: string, userId: string, account: User, now: Date) {
    const [row, person, sessions] = await Promise.all([
      this.readStore.getMany<MemberRow>(this.runner.collection(MEMBERS), [`${orgId}:${userId}`]).then((m) => m.get(`${orgId}:${userId}`)),
      this.readStore.getMany<UserDoc>(this.runner.collection(USERS), [userId]).then((m) => m.get(userId)),
      this.readStore.find<SessionRow>({ collection: this.runner.collection(SESSIONS), where: { userId, revoked: false, expiresAt: { gt: now.toISOString() } }, orderBy: [['startedAt', 'desc'], ['id', 'desc']], limit: 100 }),
    ]);
    return {
      joinedAt: row?.joinedAt,
      invitedAt: row?.invitedAt || undefined,
      setupCompletedAt: person?.setupCompletedAt || undefined,
      disabledAt: row?.disabledAt || undefined,
      disabledBy: row?.disabledBy || undefined,
      lastSignInAt: row?.lastSignInAt || undefined,
      lastSignInMethod: row?.lastSignInMethod || undefined,
      sessions: sessions
        .filter((s) => !endedBy(account.sessionsRevoked, { sessionId: s.id, startedAt: s.startedAt }))
        .map(({ id, method, startedAt, expiresAt }) => ({ sessionId: id, method, startedAt, expiresAt })),
    };
  }

  @Patch(':user')
  @HttpCode(200)
  @ApiOperation({ operationId: 'updateMember', summary: "Edit a member's profile, email and notes" })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('members.update')
  update(@OrgId() orgId: string, @UserId() userId: string, @Body() body: UpdateMemberDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new UpdateMember(orgId, userId, body, meta));
  }

  @Delete(':user')
  @HttpCode(200)
  @ApiOperation({ operationId: 'removeMember', summary: 'Remove a member from the org' })
  @ApiOkResponse({ type: MembershipChangeDto })
  @CommandType('members.remove')
  remove(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.act(orgId, userId, { type: 'RemoveMember' }, meta);
  }

  @Put(':user/role')
  @HttpCode(200)
  @ApiOperation({ operationId: 'changeMemberRole', summary: "Set a member's role and location scope (R-ROLE-5)" })
  @ApiOkResponse({ type: MembershipChangeDto })
  @CommandType('members.role.change')
  changeRole(@OrgId() orgId: string, @UserId() userId: string, @Body() body: ChangeRoleDto, @Meta('org') meta: CommandMeta) {
    return this.act(orgId, userId, { type: 'ChangeRole', roleId: body.role, locations: body.locations ?? null }, meta);
  }

  @Post(':user/disable')
  @HttpCode(200)
  @ApiOperation({ operationId: 'disableMemberAccess', summary: "Disable a member's access (R-ACC-1)" })
  @ApiOkResponse({ type: MembershipChangeDto })
  @CommandType('members.disable')
  disable(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.act(orgId, userId, ACCESS_ACTIONS.disable, meta);
  }

  @Post(':user/enable')
  @HttpCode(200)
  @ApiOperation({ operationId: 'enableMemberAccess', summary: "Enable a member's access again" })
  @ApiOkResponse({ type: MembershipChangeDto })
  @CommandType('members.enable')
  enable(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.act(orgId, userId, ACCESS_ACTIONS.enable, meta);
  }

  @Post(':user/approve')
  @HttpCode(200)
  @ApiOperation({ operationId: 'approveMember', summary: 'Approve a pending member (R-ACC-4)' })
  @ApiOkResponse({ type: MembershipChangeDto })
  @CommandType('members.approve')
  approve(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.act(orgId, userId, ACCESS_ACTIONS.approve, meta);
  }

  @Post(':user/pending')
  @HttpCode(200)
  @ApiOperation({ operationId: 'markMemberPending', summary: 'Mark a member pending approval (R-ACC-4)' })
  @ApiOkResponse({ type: MembershipChangeDto })
  @CommandType('members.pending')
  pending(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.act(orgId, userId, ACCESS_ACTIONS.pending, meta);
  }

  @Post(':user/ban')
  @HttpCode(200)
  @ApiOperation({ operationId: 'banMember', summary: 'Ban a member (R-ACC-5)' })
  @ApiOkResponse({ type: MembershipChangeDto })
  @CommandType('members.ban')
  ban(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.act(orgId, userId, ACCESS_ACTIONS.ban, meta);
  }

  @Post(':user/unban')
  @HttpCode(200)
  @ApiOperation({ operationId: 'unbanMember', summary: 'Lift a ban' })
  @ApiOkResponse({ type: MembershipChangeDto })
  @CommandType('members.unban')
  unban(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.act(orgId, userId, ACCESS_ACTIONS.unban, meta);
  }

  @Post(':user/grants')
  @HttpCode(201)
  @ApiOperation({ operationId: 'grantPermission', summary: 'Grant a permission explicitly, maybe in one location, maybe until a time' })
  @ApiCreatedResponse({ type: GrantGivenDto })
  @CommandType('members.grant')
  async grant(@OrgId() orgId: string, @UserId() userId: string, @Body() body: GrantDto, @Meta('org') meta: CommandMeta) {
    const grantId = randomUUID();
    const expiresAt = body.expiresAt ? new Date(body.expiresAt).toISOString() : undefined;
    const result = await this.act(orgId, userId, { type: 'GrantPermission', grantId, permission: body.permission, location: body.location, expiresAt, reason: body.reason }, meta);
    return { grantId, ...result };
  }

  @Delete(':user/grants/:grant')
  @HttpCode(200)
  @ApiOperation({ operationId: 'revokeGrant', summary: 'Revoke an explicit grant' })
  @ApiOkResponse({ type: MembershipChangeDto })
  @CommandType('members.grant.revoke')
  revokeGrant(@OrgId() orgId: string, @UserId() userId: string, @GrantId() grantId: string, @Meta('org') meta: CommandMeta) {
    return this.act(orgId, userId, { type: 'RevokePermission', grantId }, meta);
  }

  @Put(':user/access-code')
  @HttpCode(200)
  @ApiOperation({ operationId: 'setAccessCode', summary: "Set a member's custom door code (R-CODE-2)" })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('members.access-code.set')
  accessCode(@OrgId() orgId: string, @UserId() userId: string, @Body() body: AccessCodeDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new SetAccessCode(orgId, userId, body.code, meta));
  }

  @Post(':user/setup-link')
  @HttpCode(200)
  @ApiOperation({ operationId: 'sendSetupLink', summary: 'Resend the invitation, setup or sign-in link' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('members.setup-link.send')
  setupLink(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new SendSetupLink(orgId, userId, meta));
  }

  /** R-CRED-5: an admin sets the password, no current one needed; every session of the member ends. */
  @Put(':user/password')
  @HttpCode(200)
  @ApiOperation({ operationId: 'setMemberPassword', summary: "Set a member's password (R-CRED-5); every session ends" })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('members.password.set')
  setPassword(@OrgId() orgId: string, @UserId() userId: string, @Body() body: SetPasswordDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new SetMemberPassword(orgId, userId, { chosen: body.password, mustChange: body.mustChange ?? false }, meta));
  }

  /** R-CRED-4: a temporary password, shown once, to be changed at next sign-in; every session ends. */
  @Post(':user/temporary-password')
  @HttpCode(200)
  @ApiOperation({ operationId: 'issueTemporaryPassword', summary: 'A temporary password, shown once (R-CRED-4); every session ends' })
  @ApiOkResponse({ type: TemporaryPasswordDto })
  @CommandType('members.temporary-password')
  temporaryPassword(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new SetMemberPassword(orgId, userId, 'temporary', meta));
  }

  /** R-CRED-3: email a reset link; the actor gets a copy. */
  @Post(':user/password-reset')
  @HttpCode(200)
  @ApiOperation({ operationId: 'sendMemberPasswordReset', summary: 'Email the member a reset link, the actor in copy (R-CRED-3)' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('members.password-reset.send')
  passwordReset(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new SendPasswordReset(orgId, userId, meta));
  }

  /** R-CRED-8: clears the secret and backup codes and ends every session. */
  @Post(':user/mfa-reset')
  @HttpCode(200)
  @ApiOperation({ operationId: 'resetMemberMfa', summary: "Reset a member's MFA: secret and backup codes cleared, sessions end (R-CRED-8)" })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('members.mfa.reset')
  mfaReset(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new ResetMemberMfa(orgId, userId, meta));
  }

  @Put(':user/availability')
  @HttpCode(200)
  @ApiOperation({ operationId: 'setMemberAvailability', summary: "Set a member's availability (from a scheduler)" })
  @ApiOkResponse({ type: MembershipChangeDto })
  @CommandType('members.availability.set')
  availability(@OrgId() orgId: string, @UserId() userId: string, @Body() body: AvailabilityDto, @Meta('org') meta: CommandMeta) {
    return this.act(orgId, userId, { type: 'SetAvailability', availability: body.availability }, meta);
  }
}
