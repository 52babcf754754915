import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { AVAILABILITIES } from '../../domain/membership/membership';
import { ActorDto, NEXT_CURSOR } from '../shared/responses';

/** The lists' answers, read from the projections (issue 18: the OpenAPI document a typed client is generated from). */

const WHEN_OR_EMPTY = { description: 'ISO 8601 time; "" when it has not happened' };

/** A row of the members list (R-LIST-1). */
export class MemberRowDto {
  @ApiProperty({ description: '`{orgId}:{userId}`' }) id!: string;
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ description: 'a short id for people to read out' }) shortId!: string;
  @ApiProperty() firstName!: string;
  @ApiProperty() lastName!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ description: '"" when none' }) phone!: string;
  @ApiProperty({ description: '"" when none' }) username!: string;
  @ApiProperty() roleId!: string;
  @ApiProperty({ type: [String], description: 'the role’s location scope; empty: across the org' }) locations!: string[];
  @ApiProperty({ enum: ['active', 'disabled'] }) status!: string;
  @ApiProperty({ enum: ['approved', 'pending'] }) approval!: string;
  @ApiProperty() banned!: boolean;
  @ApiProperty({ enum: AVAILABILITIES }) availability!: string;
  @ApiProperty({ description: 'R-ACC-6: active, approved, not banned' }) assignable!: boolean;
  @ApiProperty({ description: '"" when none' }) accessCode!: string;
  @ApiProperty(WHEN_OR_EMPTY) lastSignInAt!: string;
  @ApiProperty({ description: '"" before the first sign-in' }) lastSignInMethod!: string;
  @ApiProperty(WHEN_OR_EMPTY) joinedAt!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ description: 'when the invitation that brought the member was sent; "" when created directly' }) invitedAt!: string;
  @ApiProperty(WHEN_OR_EMPTY) disabledAt!: string;
  @ApiProperty({ description: 'user id; "" when not disabled' }) disabledBy!: string;
}

export class MemberPageDto {
  @ApiProperty({ type: [MemberRowDto] }) items!: MemberRowDto[];
  @ApiProperty(NEXT_CURSOR) nextCursor!: string | null;
}

export class MemberHitDto {
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty() shortId!: string;
  @ApiProperty() firstName!: string;
  @ApiProperty() lastName!: string;
  @ApiProperty() email!: string;
  @ApiProperty() roleId!: string;
  @ApiProperty({ enum: ['active', 'disabled'] }) status!: string;
}

/** R-LIST-3: the top 10, one page. */
export class MemberSearchDto {
  @ApiProperty({ type: [MemberHitDto], maxItems: 10 }) items!: MemberHitDto[];
}

export class PendingInvitationDto {
  @ApiProperty() invitationId!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ description: 'role id' }) role!: string;
  @ApiProperty({ description: 'user id of the inviter' }) invitedBy!: string;
  @ApiProperty({ format: 'date-time' }) invitedAt!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty() expired!: boolean;
}

export class InvitationPageDto {
  @ApiProperty({ type: [PendingInvitationDto] }) items!: PendingInvitationDto[];
  @ApiProperty(NEXT_CURSOR) nextCursor!: string | null;
}

export class LoginAttemptDto {
  @ApiProperty({ enum: ['sign-in'] }) action!: string;
  @ApiProperty() success!: boolean;
  @ApiPropertyOptional({ example: 'invalid_credentials' }) failureReason?: string;
  @ApiProperty() ip!: string;
  @ApiProperty() userAgent!: string;
  @ApiProperty({ example: 'password' }) method!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

export class LoginActivityPageDto {
  @ApiProperty({ type: [LoginAttemptDto] }) items!: LoginAttemptDto[];
  @ApiProperty(NEXT_CURSOR) nextCursor!: string | null;
}

/** R-ROLE-7: one role change or grant. */
export class PermissionHistoryEntryDto {
  @ApiProperty({ description: 'the event id' }) id!: string;
  @ApiProperty({ enum: ['role-set', 'role-changed', 'grant-given', 'grant-revoked', 'grant-expired'] }) kind!: string;
  @ApiPropertyOptional() roleId?: string;
  @ApiPropertyOptional() previousRoleId?: string;
  @ApiPropertyOptional({ type: [String], nullable: true, description: 'null: across the org' }) locations?: string[] | null;
  @ApiPropertyOptional() grantId?: string;
  @ApiPropertyOptional() permission?: string;
  @ApiPropertyOptional() location?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'a grant given with an expiry: when it ends' }) expiresAt?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'a grant expired: when it ended' }) expiredAt?: string;
  @ApiPropertyOptional() reason?: string;
  @ApiProperty({ type: ActorDto }) actor!: ActorDto;
  @ApiPropertyOptional({ type: ActorDto, description: 'the person really acting, when the actor was impersonated (R-IMP-1)' }) realActor?: ActorDto;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

export class PermissionHistoryPageDto {
  @ApiProperty({ type: [PermissionHistoryEntryDto] }) items!: PermissionHistoryEntryDto[];
  @ApiProperty(NEXT_CURSOR) nextCursor!: string | null;
}
