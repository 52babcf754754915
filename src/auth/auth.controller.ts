import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CommandBus } from '@nestjs/cqrs';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AcceptInvitation } from '../invitations/accept-invitation.handler';
import { DomainError } from '../../domain/shared/errors';
import { Meta } from '../shared/request-context';
import type { CommandMeta } from '../shared/streams';
import { AcceptInvitationDto, EmailDto, MfaSignInDto, TokenDto, RedeemPasswordLinkDto, SessionDto, SignInDto } from './dto';
import { RequestMagicLink, RequestPasswordReset } from './link-requests';
import { SignInWithMfa } from './mfa.handlers';
import { RedeemMagicLink, RedeemPasswordLink, SignIn, type Origin } from './sign-in.handlers';

/** Where a public request comes from: what throttles count by and login activity records. */
const originOf = (request: FastifyRequest): Origin => ({ ip: request.ip, userAgent: String(request.headers['user-agent'] ?? '').slice(0, 300) });

/** The public ways in: no bearer token needed. */
@ApiTags('sign-in')
@Controller('v1')
export class AuthController {
  constructor(private readonly commands: CommandBus) {}

  @Post('sessions')
  @HttpCode(201)
  @ApiCreatedResponse({ type: SessionDto, description: 'signed in; or, when MFA is on, `{mfaRequired, challenge, expiresAt}` for POST /v1/sessions/mfa' })
  signIn(@Body() body: SignInDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    if ((body.email === undefined) === (body.username === undefined)) throw new DomainError('validation_failed', 'give email or username, not both', { fields: ['email', 'username'] });
    return this.commands.execute(new SignIn(body.email !== undefined ? { email: body.email } : { username: body.username! }, body.password, originOf(request), meta));
  }

  /** R-CRED-8: the second step, with a TOTP code or a backup code. */
  @Post('sessions/mfa')
  @HttpCode(201)
  signInMfa(@Body() body: MfaSignInDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    return this.commands.execute(new SignInWithMfa(body.challenge, body.code, originOf(request), meta));
  }

  /** R-CRED-6: email a sign-in link (30 minutes); 202 whether or not the email has an account, after the same work (R-SEC-3). */
  @Post('magic-links')
  @HttpCode(202)
  async magicLink(@Body() body: EmailDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    await this.commands.execute(new RequestMagicLink(body.email, request.ip, meta));
    return { status: 'accepted' };
  }

  @Post('magic-links/redeem')
  @HttpCode(201)
  redeemMagicLink(@Body() body: TokenDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    return this.commands.execute(new RedeemMagicLink(body.token, originOf(request), meta));
  }

  /** R-SEC-3: 202 whether or not the email has an account, after the same work. */
  @Post('password-resets')
  @HttpCode(202)
  async requestReset(@Body() body: EmailDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    await this.commands.execute(new RequestPasswordReset(body.email, request.ip, meta));
    return { status: 'accepted' };
  }

  @Post('password-resets/redeem')
  @HttpCode(200)
  @ApiOkResponse({ type: SessionDto, description: 'also completes setup links (R-CRT-1 a)' })
  redeem(@Body() body: RedeemPasswordLinkDto, @Meta() meta: CommandMeta, @Req() request: FastifyRequest) {
    return this.commands.execute(new RedeemPasswordLink(body.token, body.newPassword, meta, originOf(request)));
  }

  @Post('invitations/accept')
  @HttpCode(200)
  @ApiOkResponse({ type: SessionDto })
  accept(@Body() body: AcceptInvitationDto, @Meta() meta: CommandMeta) {
    return this.commands.execute(new AcceptInvitation(body, meta));
  }
}
