import { Body, Controller, Delete, HttpCode, Inject, Post, UseGuards, Param, ParseUUIDPipe } from '@nestjs/common';
import { Command, CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { NotFound } from '../../domain/shared/errors';
import { serviceKey, serviceKeyStream, type ServiceKeyCommand } from '../../domain/servicekey/servicekey';
import { hashToken, newId, newToken } from '../../infra/crypto/secrets';
import type { Position } from '../../domain/shared/envelope';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { serviceKeyToken } from '../auth/sessions.service';
import { OrgId } from '../shared/params';
import { Meta } from '../shared/request-context';
import { Streams, type CommandMeta } from '../shared/streams';
import { IsPlainText } from '../shared/validators';
import { PositionDto } from '../shared/responses';
import { ServiceKeyIssuedDto } from './dto';
import { CommandType } from '../messaging/command-type';

export class IssueServiceKeyDto {
  @ApiProperty({ example: 'scheduler' }) @IsString() @IsNotEmpty() @MaxLength(100) @IsPlainText()
  name!: string;

  @ApiProperty({ type: [String], example: ['availability.update.any'] })
  @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(100, { each: true })
  permissions!: string[];
}

export class ServiceKeyAction extends Command<{ position: Position }> {
  constructor(readonly orgId: string, readonly keyId: string, readonly command: ServiceKeyCommand, readonly meta: CommandMeta) {
    super();
  }
}

@CommandHandler(ServiceKeyAction)
export class ServiceKeyActionHandler implements ICommandHandler<ServiceKeyAction> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
  ) {}

  execute({ orgId, keyId, command, meta }: ServiceKeyAction) {
    return this.streams.retrying(async () => {
      const { context } = await this.orgAccess.context(orgId, meta.actor, meta.realActor);
      const from = await this.streams.load(serviceKeyStream(keyId), serviceKey);
      const { position } = await this.streams.commit([{ from, events: serviceKey.decide(from.state, command, context) }], meta);
      return { position };
    });
  }
}

/** Org-scoped keys for internal services: the key is shown once, only its hash is kept (R-SEC-2). */
@ApiTags('organizations')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org/service-keys')
export class ServiceKeysController {
  constructor(@Inject(CommandBus) private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ operationId: 'issueServiceKey', summary: 'Issue an org-scoped key for an internal service, shown once (R-SEC-2)' })
  @ApiCreatedResponse({ type: ServiceKeyIssuedDto })
  @CommandType('service-keys.create')
  async issue(@OrgId() orgId: string, @Body() body: IssueServiceKeyDto, @Meta('org') meta: CommandMeta) {
    const keyId = newId();
    const secret = newToken();
    const { position } = await this.commands.execute(new ServiceKeyAction(orgId, keyId, { type: 'IssueServiceKey', keyId, name: body.name, permissions: body.permissions, secretHash: hashToken(secret) }, meta));
    return { keyId, key: serviceKeyToken(keyId, secret), position };
  }

  @Delete(':key')
  @HttpCode(200)
  @ApiOperation({ operationId: 'revokeServiceKey', summary: 'Revoke a service key' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('service-keys.revoke')
  revoke(@OrgId() orgId: string, @Param('key', new ParseUUIDPipe({ exceptionFactory: () => new NotFound('service key') })) keyId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new ServiceKeyAction(orgId, keyId, { type: 'RevokeServiceKey' }, meta));
  }
}
