import { Body, Controller, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import { Command, CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { endMembership, membership, membershipStream } from '../../domain/membership/membership';
import { organization, orgStream } from '../../domain/organization/organization';
import { normalizeEmail } from '../../domain/shared/email';
import type { Position } from '../../domain/shared/envelope';
import { DomainError, NotFound } from '../../domain/shared/errors';
import { emailReservation, emailStream, identityReservation, identityStream, user, usernameReservation, usernameStream, userStream, type Reservation } from '../../domain/user/user';
import type { GatehouseEvent } from '../../domain/events';
import type { Decider } from '../../domain/shared/decider';
import { verifyPassword } from '../../infra/crypto/passwords';
import { PersonalData } from '../../infra/personal/personal-data';
import type { ReadStore } from '../../infra/readstore/port';
import { MEMBERS, type MemberRow } from '../../projections/members';
import { SystemAdminGuard } from '../access/system-admin.guard';
import { ProjectionRunner } from '../readmodels/projection-runner';
import { UserId } from '../shared/params';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import { Streams, type Change, type CommandMeta } from '../shared/streams';
import { CLOCK, PERSONAL_DATA, READ_STORE, type Clock } from '../shared/tokens';
import { SessionGuard } from './session.guard';
import { NameKeys } from '../../infra/crypto/name-keys';
import { PositionDto } from '../shared/responses';
import { CommandType } from '../messaging/command-type';

/**
 * R-ACC-3, SPEC 5.3: erase a person. `password`: the person erasing themselves
 * proves it is them; a system admin gives none.
 */
export class EraseUser extends Command<{ position: Position }> {
  constructor(
    readonly userId: string,
    readonly meta: CommandMeta,
    readonly password?: string,
  ) {
    super();
  }
}

/**
 * One commit ends every membership (seats follow), releases the person's email,
 * username and external identities for new accounts, revokes every session and
 * records `UserErased`; then the person's keys are destroyed, and with them every
 * copy of their personal data in the log. Projections forget them on `UserErased`.
 * An Owner is not erased: ownership is transferred first.
 */
@CommandHandler(EraseUser)
export class EraseUserHandler implements ICommandHandler<EraseUser> {
  constructor(
    private readonly streams: Streams,
    private readonly projections: ProjectionRunner,
    private readonly names: NameKeys,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(PERSONAL_DATA) private readonly personal: PersonalData,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ userId, meta, password }: EraseUser): Promise<{ position: Position }> {
    const context = { now: this.clock(), actor: meta.actor };
    let keys: string[] = [];
    const { position } = await this.streams.retrying(async () => {
      const account = await this.streams.load(userStream(userId), user);
      // Erased already: the commit is done; its keys are destroyed again below (a crash may have come between).
      if (account.state.erased) {
        keys = account.state.erasedKeys ?? [];
        return { position: await this.streams.store.headPosition() };
      }
      if (!account.state.exists) throw new NotFound('user');
      if (password !== undefined && !(account.state.passwordHash && (await verifyPassword(account.state.passwordHash, password)))) {
        throw new DomainError('invalid_credentials', 'the password is wrong');
      }
      const email = account.state.email;
      const orgIds = await this.orgsOf(userId);
      const changes: Change[] = [];
      for (const orgId of orgIds) {
        const { state: org } = await this.streams.load(orgStream(orgId), organization);
        if (org.exists && org.status !== 'deleted' && org.ownerId === userId) {
          throw new DomainError('owner_cannot_be_erased', 'the Owner of an organization is not erased: transfer its ownership first', { orgId });
        }
        const member = await this.streams.load(membershipStream(orgId, userId), membership);
        changes.push({ from: member, events: endMembership(member.state), orgId });
      }
      const release = async <E extends GatehouseEvent>(stream: string, decider: Decider<Reservation, { type: 'Release' }, E>) => {
        const held = await this.streams.load(stream, decider);
        if (held.state.userId === userId) changes.push({ from: held, events: decider.decide(held.state, { type: 'Release' }, context) });
      };
      if (email) await release(emailStream(this.names.email(normalizeEmail(email))), emailReservation);
      if (account.state.username) await release(usernameStream(this.names.username(account.state.username)), usernameReservation);
      for (const identity of account.state.identities) {
        const [provider, subjectHash] = identity.split(':');
        await release(identityStream(provider, subjectHash), identityReservation);
      }
      keys = [{ userId }, ...(email ? [{ email }] : []), ...orgIds.map((orgId) => ({ orgId, userId }))].map((s) => this.personal.subjectOf(s));
      changes.push({ from: account, events: user.decide(account.state, { type: 'EraseUser', keys }, context) });
      return this.streams.commit(changes, meta);
    }, userStream(userId));
    // The keys go last: destroyed before a commit that then failed, they would leave a person half erased.
    await this.personal.forgetNamed(keys);
    return { position };
  }

  /** The orgs the person is a member of, by the members list once it has caught up with the log (else nothing is erased: try again). */
  private async orgsOf(userId: string): Promise<string[]> {
    if (!(await this.projections.waitFor(await this.streams.store.headPosition(), 5_000))) {
      throw new DomainError('read_model_behind', 'the members list is behind the log: try the erasure again in a moment');
    }
    const rows = await this.readStore.find<MemberRow>({ collection: this.projections.collection(MEMBERS), where: { userId }, orderBy: [['orgId', 'asc'], ['id', 'asc']], limit: 10_000 });
    return [...new Set(rows.map((r) => r.orgId))];
  }
}

export class EraseMeDto {
  @ApiProperty({ writeOnly: true, description: 'the current password: erasing an account is proven like changing its password' }) @IsString() @IsNotEmpty() @MaxLength(128)
  password!: string;
}

/** R-SYS-1, R-ACC-3: a system admin erases anyone. */
@ApiTags('system')
@ApiBearerAuth()
@UseGuards(SessionGuard, SystemAdminGuard)
@Controller('v1/system/users')
export class SystemUsersController {
  constructor(private readonly commands: CommandBus) {}

  @Post(':user/erase')
  @HttpCode(200)
  @ApiOperation({ operationId: 'eraseUser', summary: 'Erase a person (R-ACC-3): memberships end, sessions end, personal data is destroyed with its key' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('system.users.erase')
  erase(@UserId() userId: string, @Meta() meta: CommandMeta) {
    return this.commands.execute(new EraseUser(userId, meta));
  }
}

/** R-ACC-3: a person erases themselves, with their password. */
@ApiTags('me')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/me')
export class EraseMeController {
  constructor(private readonly commands: CommandBus) {}

  @Post('erase')
  @HttpCode(200)
  @ApiOperation({ operationId: 'eraseMe', summary: 'Erase my account (R-ACC-3): memberships end, sessions end, personal data is destroyed with its key' })
  @ApiOkResponse({ type: PositionDto })
  @ApiResponse({ status: 401, description: 'invalid_credentials: the password is wrong' })
  @CommandType('me.erase')
  erase(@Body() body: EraseMeDto, @Req() request: GatehouseRequest, @Meta() meta: CommandMeta) {
    if (request.actor?.kind !== 'user') throw new NotFound('user');
    return this.commands.execute(new EraseUser(request.actor.id, meta, body.password));
  }
}
