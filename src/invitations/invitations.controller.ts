import { Body, Controller, Delete, HttpCode, Post, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { AcceptInvitationDto, InvitationAcceptedDto } from '../auth/dto';
import { SessionGuard } from '../auth/session.guard';
import { InvitationId, OrgId } from '../shared/params';
import { Meta } from '../shared/request-context';
import type { CommandMeta } from '../shared/streams';
import { InvitationSentDto, InviteUserDto } from './dto';
import { AcceptInvitation } from './accept-invitation.handler';
import { InviteUser, ResendInvitation, RevokeInvitation } from './invitation.handlers';
import { PositionDto } from '../shared/responses';
import { CommandType } from '../messaging/command-type';

@ApiTags('invitations')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org/invitations')
export class InvitationsController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: InvitationSentDto })
  @ApiOperation({ operationId: 'inviteUser', summary: 'Invite someone by email (R-INV-1); a pending invitation for the email is resent instead' })
  @CommandType('invitations.create')
  invite(@OrgId() orgId: string, @Body() body: InviteUserDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new InviteUser(orgId, body, meta));
  }

  @Post(':invitation/resend')
  @HttpCode(200)
  @ApiOperation({ operationId: 'resendInvitation', summary: 'Resend a pending invitation, with a fresh link and expiry' })
  @ApiOkResponse({ type: InvitationSentDto })
  @CommandType('invitations.resend')
  resend(@OrgId() orgId: string, @InvitationId() invitationId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new ResendInvitation(orgId, invitationId, meta));
  }

  @Delete(':invitation')
  @HttpCode(200)
  @ApiOperation({ operationId: 'revokeInvitation', summary: 'Revoke a pending invitation: its link stops working' })
  @ApiOkResponse({ type: PositionDto })
  @CommandType('invitations.revoke')
  revoke(@OrgId() orgId: string, @InvitationId() invitationId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new RevokeInvitation(orgId, invitationId, meta));
  }
}

/** The invitation link's page posts here, signed out: the token is the credential. */
@ApiTags('sign-in')
@Controller('v1/invitations')
export class AcceptInvitationController {
  constructor(private readonly commands: CommandBus) {}

  @Post('accept')
  @HttpCode(200)
  @ApiOperation({ operationId: 'acceptInvitation', summary: 'Accept an invitation: a new account (with or without a password, SPEC 5.7) or an existing one, and a session' })
  @ApiOkResponse({ type: InvitationAcceptedDto })
  @ApiResponse({ status: 410, description: 'invitation_expired, invitation_revoked, link_used' })
  @CommandType('invitations.accept')
  accept(@Body() body: AcceptInvitationDto, @Meta() meta: CommandMeta) {
    return this.commands.execute(new AcceptInvitation(body, meta));
  }
}
