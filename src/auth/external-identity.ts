import { Body, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { Command, CommandBus, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiExtraModels, ApiOperation, ApiProperty, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { IsBoolean, IsIn, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { createHash, timingSafeEqual } from 'node:crypto';
import { normalizeEmail } from '../../domain/shared/email';
import { DomainError, NotFound } from '../../domain/shared/errors';
import { emailReservation, emailStream, identityReservation, identityStream, user, userStream } from '../../domain/user/user';
import { Settings } from '../config/config';
import { Meta } from '../shared/request-context';
import { IsEmailAddress } from '../shared/validators';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';
import { SignInCompletion, type MfaRequired, type Origin, type SignedIn } from './sign-in.handlers';
import { NameKeys } from '../../infra/crypto/name-keys';
import { MfaRequiredDto, SignedInDto } from './dto';
import { CommandType } from '../messaging/command-type';

const PROVIDERS = ['google', 'microsoft'] as const;
type Provider = (typeof PROVIDERS)[number];

export class VerifiedIdentityDto {
  @ApiProperty({ enum: PROVIDERS }) @IsIn(PROVIDERS)
  provider!: Provider;

  @ApiProperty({ description: "the provider's stable subject id" }) @IsString() @IsNotEmpty() @MaxLength(255)
  subject!: string;

  @ApiProperty() @IsEmailAddress() @MaxLength(254)
  email!: string;

  @ApiProperty({ description: 'the provider verified the email' }) @IsBoolean()
  emailVerified!: boolean;
}

export class SignInWithIdentity extends Command<SignedIn | MfaRequired> {
  constructor(readonly identity: VerifiedIdentityDto, readonly origin: Origin, readonly meta: CommandMeta) {
    super();
  }
}

/**
 * R-CRED-10: the OAuth exchange happens upstream; the gateway sends the verified
 * identity. It is linked to the account with that email (one account per
 * identity) and the person signed in, recorded with the provider as the method.
 */
@CommandHandler(SignInWithIdentity)
export class SignInWithIdentityHandler implements ICommandHandler<SignInWithIdentity> {
  constructor(
    private readonly streams: Streams,
    private readonly completion: SignInCompletion,
    private readonly names: NameKeys,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ identity, origin, meta }: SignInWithIdentity) {
    if (!identity.emailVerified) throw new DomainError('email_not_verified', 'the provider has not verified this email');
    const { state: reservation } = await this.streams.load(emailStream(this.names.email(normalizeEmail(identity.email))), emailReservation);
    if (!reservation.userId) throw new NotFound('account');
    const userId = reservation.userId;
    const subjectHash = this.names.identity(identity.subject);
    const context = { now: this.clock(), actor: { kind: 'user' as const, id: userId } };
    const claimed = await this.streams.load(identityStream(identity.provider, subjectHash), identityReservation);
    const account = await this.streams.load(userStream(userId), user);
    const changes = [
      { from: claimed, events: identityReservation.decide(claimed.state, { type: 'Reserve', userId }, context) },
      { from: account, events: user.decide(account.state, { type: 'LinkIdentity', provider: identity.provider, subjectHash }, context) },
    ];
    return this.completion.complete(account.state, identity.provider, origin, meta, changes);
  }
}

@ApiTags('sign-in')
@Controller('v1/identities')
export class ExternalIdentityController {
  constructor(
    private readonly commands: CommandBus,
    private readonly settings: Settings,
  ) {}

  /** Called by the upstream gateway with its key (`Authorization: Bearer <IDENTITY_GATEWAY_KEY>`). */
  @Post('verified')
  @HttpCode(201)
  @ApiOperation({ operationId: 'signInWithVerifiedIdentity', summary: 'The identity gateway signs a person in with a verified Google or Microsoft identity (R-CRED-10)' })
  @ApiBearerAuth()
  @ApiExtraModels(SignedInDto, MfaRequiredDto)
  @ApiCreatedResponse({ schema: { oneOf: [{ $ref: getSchemaPath(SignedInDto) }, { $ref: getSchemaPath(MfaRequiredDto) }] } })
  @ApiResponse({ status: 401, description: 'unauthenticated: not the identity gateway’s key' })
  @ApiResponse({ status: 404, description: 'not_found: no account with that email' })
  @CommandType('identities.verified')
  verified(@Body() body: VerifiedIdentityDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    const expected = this.settings.IDENTITY_GATEWAY_KEY;
    const given = String(request.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!expected || !sameSecret(given, expected)) throw new DomainError('unauthenticated', 'only the identity gateway may call this');
    const userAgent = String(request.headers['user-agent'] ?? '').slice(0, 300);
    return this.commands.execute(new SignInWithIdentity(body, { ip: request.ip, userAgent }, { ...meta, actor: { kind: 'service', id: 'identity-gateway' } }));
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}
