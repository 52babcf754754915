import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiCreatedResponse, ApiTags } from '@nestjs/swagger';
import { SessionGuard } from '../auth/session.guard';
import { OrgId } from '../shared/params';
import { Meta } from '../shared/request-context';
import type { CommandMeta } from '../shared/streams';
import { InvitationSentDto, InviteUserDto } from './dto';
import { InviteUser } from './invite-user.handler';

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
}
