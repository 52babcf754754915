import { Body, Controller, Delete, HttpCode, Post, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiTags } from '@nestjs/swagger';
import { SessionGuard } from '../auth/session.guard';
import { InvitationId, OrgId } from '../shared/params';
import { Meta } from '../shared/request-context';
import type { CommandMeta } from '../shared/streams';
import { InvitationSentDto, InviteUserDto } from './dto';
import { InviteUser, ResendInvitation, RevokeInvitation } from './invitation.handlers';

@ApiTags('invitations')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org/invitations')
export class InvitationsController {
  constructor(private readonly commands: CommandBus) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: InvitationSentDto })
  invite(@OrgId() orgId: string, @Body() body: InviteUserDto, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new InviteUser(orgId, body, meta));
  }

  @Post(':invitation/resend')
  @HttpCode(200)
  resend(@OrgId() orgId: string, @InvitationId() invitationId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new ResendInvitation(orgId, invitationId, meta));
  }

  @Delete(':invitation')
  @HttpCode(200)
  revoke(@OrgId() orgId: string, @InvitationId() invitationId: string, @Meta('org') meta: CommandMeta) {
    return this.commands.execute(new RevokeInvitation(orgId, invitationId, meta));
  }
}
