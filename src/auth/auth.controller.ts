import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CommandBus } from '@nestjs/cqrs';
import { ApiAcceptedResponse, ApiCreatedResponse, ApiExtraModels, ApiOkResponse, ApiOperation, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { DomainError } from '../../domain/shared/errors';
import { Meta } from '../shared/request-context';
import type { CommandMeta } from '../shared/streams';
import { AcceptedDto } from '../shared/responses';
import { EmailDto, MfaRequiredDto, MfaSignInDto, TokenDto, RedeemPasswordLinkDto, SignedInDto, SignInDto } from './dto';

/** A sign-in's answer: a session, or (MFA on) the challenge for the second step. */
const SIGNED_IN_OR_MFA = { oneOf: [{ $ref: getSchemaPath(SignedInDto) }, { $ref: getSchemaPath(MfaRequiredDto) }] };
import { RequestMagicLink, RequestPasswordReset } from './link-requests';
import { SignInWithMfa } from './mfa.handlers';
import { RedeemMagicLink, RedeemPasswordLink, SignIn, type Origin } from './sign-in.handlers';
import { CommandType } from '../messaging/command-type';

/** Where a public request comes from: what throttles count by and login activity records. */
const originOf = (request: FastifyRequest): Origin => ({ ip: request.ip, userAgent: String(request.headers['user-agent'] ?? '').slice(0, 300) });

/** The public ways in: no bearer token needed. */
@ApiTags('sign-in')
@ApiExtraModels(SignedInDto, MfaRequiredDto)
@Controller('v1')
export class AuthController {
  constructor(private readonly commands: CommandBus) {}

  @Post('sessions')
  @HttpCode(201)
  @ApiOperation({ operationId: 'signIn', summary: 'Sign in with email or username and password (SPEC 5.7)' })
  @ApiCreatedResponse({ schema: SIGNED_IN_OR_MFA, description: 'signed in; or, when MFA is on, `{mfaRequired, challenge, expiresAt}` for POST /v1/sessions/mfa' })
  @ApiResponse({ status: 401, description: 'invalid_credentials' })
  @ApiResponse({ status: 403, description: 'access_disabled, org_suspended: every membership disabled, or every org suspended (R-ACC-1)' })
  @CommandType('sessions.create')
  signIn(@Body() body: SignInDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    if ((body.email === undefined) === (body.username === undefined)) throw new DomainError('validation_failed', 'give email or username, not both', { fields: ['email', 'username'] });
    return this.commands.execute(new SignIn(body.email !== undefined ? { email: body.email } : { username: body.username! }, body.password, originOf(request), meta));
  }

  /** R-CRED-8: the second step, with a TOTP code or a backup code. */
  @Post('sessions/mfa')
  @HttpCode(201)
  @ApiOperation({ operationId: 'signInWithMfa', summary: 'Second sign-in step: a TOTP code or a backup code (R-CRED-8)' })
  @ApiCreatedResponse({ type: SignedInDto })
  @ApiResponse({ status: 401, description: 'invalid_mfa_code, mfa_code_used' })
  @ApiResponse({ status: 410, description: 'link_used, link_expired: the challenge is spent or too old; sign in again' })
  @CommandType('sessions.mfa')
  signInMfa(@Body() body: MfaSignInDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    return this.commands.execute(new SignInWithMfa(body.challenge, body.code, originOf(request), meta));
  }

  /** R-CRED-6: email a sign-in link (30 minutes); 202 whether or not the email has an account, after the same work (R-SEC-3). */
  @Post('magic-links')
  @HttpCode(202)
  @ApiOperation({ operationId: 'requestMagicLink', summary: 'Email a sign-in link (R-CRED-6); 202 whether or not the email has an account' })
  @ApiAcceptedResponse({ type: AcceptedDto })
  @CommandType('magic-links.request')
  async magicLink(@Body() body: EmailDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    await this.commands.execute(new RequestMagicLink(body.email, request.ip, meta));
    return { status: 'accepted' };
  }

  @Post('magic-links/redeem')
  @HttpCode(201)
  @ApiOperation({ operationId: 'redeemMagicLink', summary: "Redeem a sign-in link's token for a session" })
  @ApiCreatedResponse({ schema: SIGNED_IN_OR_MFA })
  @ApiResponse({ status: 410, description: 'link_used, link_expired, link_superseded' })
  @CommandType('magic-links.redeem')
  redeemMagicLink(@Body() body: TokenDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    return this.commands.execute(new RedeemMagicLink(body.token, originOf(request), meta));
  }

  /** R-SEC-3: 202 whether or not the email has an account, after the same work. */
  @Post('password-resets')
  @HttpCode(202)
  @ApiOperation({ operationId: 'requestPasswordReset', summary: 'Email a password reset link; 202 whether or not the email has an account' })
  @ApiAcceptedResponse({ type: AcceptedDto })
  @CommandType('password-resets.request')
  async requestReset(@Body() body: EmailDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    await this.commands.execute(new RequestPasswordReset(body.email, request.ip, meta));
    return { status: 'accepted' };
  }

  @Post('password-resets/redeem')
  @HttpCode(200)
  @ApiOperation({ operationId: 'redeemPasswordLink', summary: 'Set a new password with a reset or setup link, and sign in' })
  @ApiOkResponse({ type: SignedInDto, description: 'also completes setup links (R-CRT-1 a)' })
  @ApiResponse({ status: 410, description: 'link_used, link_expired, link_superseded' })
  @CommandType('password-resets.redeem')
  redeem(@Body() body: RedeemPasswordLinkDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    return this.commands.execute(new RedeemPasswordLink(body.token, body.newPassword, meta, originOf(request)));
  }
}
