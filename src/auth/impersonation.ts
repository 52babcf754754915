import { Controller, Delete, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import { Command, CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { membership, membershipStream, requireImpersonationAuthority } from '../../domain/membership/membership';
import { session } from '../../domain/session/session';
import { DomainError } from '../../domain/shared/errors';
import type { Position } from '../../domain/shared/envelope';
import { OrgAccess } from '../access/org-access.service';
import { OrgId, UserId } from '../shared/params';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';
import { SessionGuard } from './session.guard';
import { Sessions, type IssuedSession } from './sessions.service';
import { PositionDto } from '../shared/responses';
import { SessionDto } from './dto';
import { CommandType } from '../messaging/command-type';

export class StartImpersonation extends Command<IssuedSession & { userId: string; position: Position }> {
  constructor(readonly orgId: string, readonly userId: string, readonly meta: CommandMeta) {
    super();
  }
}

export class EndImpersonation extends Command<{ position: Position }> {
  constructor(readonly sessionStream: string, readonly meta: CommandMeta) {
    super();
  }
}

/** R-IMP-1: a short-lived session acting as the member, marked with the real actor; its start is an event. */
@CommandHandler(StartImpersonation)
export class StartImpersonationHandler implements ICommandHandler<StartImpersonation> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
    private readonly sessions: Sessions,
  ) {}

  async execute({ orgId, userId, meta }: StartImpersonation) {
    const { context } = await this.orgAccess.context(orgId, meta.actor, meta.realActor);
    const target = await this.streams.load(membershipStream(orgId, userId), membership);
    requireImpersonationAuthority(target.state, context);
    if (await this.orgAccess.isSystemAdmin({ kind: 'user', id: userId })) throw new DomainError('system_admin_protected', 'system administrators cannot be impersonated');
    const { issued, change } = await this.sessions.prepare(userId, 'impersonation', { impersonatorId: meta.actor.id, orgId });
    const { position } = await this.streams.commit([change], meta);
    return { ...issued, userId, position };
  }
}

/** R-IMP-1: ending it is an event too; the session stops working at once. */
@CommandHandler(EndImpersonation)
export class EndImpersonationHandler implements ICommandHandler<EndImpersonation> {
  constructor(
    private readonly streams: Streams,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ sessionStream, meta }: EndImpersonation) {
    const from = await this.streams.load(sessionStream, session);
    if (!from.state.impersonation) throw new DomainError('not_impersonating', 'this session is not an impersonation');
    const events = session.decide(from.state, { type: 'RevokeSession', reason: 'impersonation ended' }, { now: this.clock(), actor: meta.actor });
    return { position: (await this.streams.commit([{ from, events }], { ...meta, orgId: from.state.impersonation.orgId })).position };
  }
}

@ApiTags('members')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1')
export class ImpersonationController {
  constructor(private readonly commands: CommandBus) {}

  @Post('orgs/:org/members/:user/impersonation')
  @HttpCode(201)
  @ApiOperation({ operationId: 'startImpersonation', summary: 'Act as a member: a short-lived session marked with the real actor (R-IMP-1)' })
  @ApiCreatedResponse({ type: SessionDto })
  @CommandType('impersonation.start')
  start(@OrgId() orgId: string, @UserId() userId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new StartImpersonation(orgId, userId, meta));
  }

  @Delete('impersonation')
  @HttpCode(200)
  @ApiOperation({ operationId: 'endImpersonation', summary: 'End the impersonation this session is' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('impersonation.end')
  end(@Req() request: GatehouseRequest, @Meta() meta: CommandMeta) {
    return this.commands.execute(new EndImpersonation(request.sessionStream ?? '', meta));
  }
}
