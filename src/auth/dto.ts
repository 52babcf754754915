import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';
import { NEXT_CURSOR, POSITION } from '../shared/responses';
import { IsEmailAddress, IsPlainText, MayOmit } from '../shared/validators';

/** SPEC 5.7: `email` or `username` (seed 003), not both. */
export class SignInDto {
  @ApiPropertyOptional() @MayOmit() @IsEmailAddress() @MaxLength(254)
  email?: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @Matches(/^[A-Za-z0-9._-]{3,32}$/, { message: 'username is 3 to 32 letters, digits, dots, dashes or underscores' })
  username?: string;

  @ApiProperty({ writeOnly: true }) @IsString() @IsNotEmpty() @MaxLength(128)
  password!: string;
}

export class RedeemPasswordLinkDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(200)
  token!: string;

  @ApiProperty({ writeOnly: true }) @IsString() @IsNotEmpty() @MaxLength(128)
  newPassword!: string;
}

export class AcceptInvitationDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(200)
  token!: string;

  @ApiPropertyOptional({ writeOnly: true, description: 'a new password, or the current one of an existing account' })
  @MayOmit() @IsString() @IsNotEmpty() @MaxLength(128)
  password?: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @IsNotEmpty() @MaxLength(100) @IsPlainText()
  firstName?: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @IsNotEmpty() @MaxLength(100) @IsPlainText()
  lastName?: string;
}

export class EmailDto {
  @ApiProperty() @IsEmailAddress() @MaxLength(254)
  email!: string;
}

export class MfaSignInDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(200)
  challenge!: string;

  @ApiProperty({ description: 'a 6-digit TOTP code or a backup code' }) @IsString() @IsNotEmpty() @MaxLength(20)
  code!: string;
}

export class MfaCodeDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(20)
  code!: string;
}

export class TokenDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(200)
  token!: string;
}

// Answers (issue 18: the OpenAPI document a typed client is generated from).

const EXPIRES_AT = { format: 'date-time', description: 'ISO 8601 UTC' };

/** A session (sign-in, redeemed link, impersonation): the bearer token for every other call. */
export class SessionDto {
  @ApiProperty({ description: 'the bearer token: `Authorization: Bearer <token>`' }) token!: string;
  @ApiProperty({ format: 'uuid' }) sessionId!: string;
  @ApiProperty(EXPIRES_AT) expiresAt!: string;
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty(POSITION) position!: string;
}

export class SignedInDto extends SessionDto {
  @ApiProperty({ description: 'R-CRED-4: the password is temporary; until changed (PUT /v1/me/password) other calls answer 403 password_change_required' }) mustChangePassword!: boolean;
}

/** R-CRED-8: the password checked out; the second step is POST /v1/sessions/mfa with this challenge. */
export class MfaRequiredDto {
  @ApiProperty({ enum: [true] }) mfaRequired!: true;
  @ApiProperty() challenge!: string;
  @ApiProperty(EXPIRES_AT) expiresAt!: string;
}

export class InvitationAcceptedDto extends SessionDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
}

export class MfaEnrollmentDto {
  @ApiProperty({ description: 'base32; shown once' }) secret!: string;
  @ApiProperty({ example: 'otpauth://totp/Gatehouse:ada%40example.com?secret=…' }) otpauthUri!: string;
  @ApiProperty(POSITION) position!: string;
}

export class BackupCodesDto {
  @ApiProperty({ type: [String], description: 'shown once; each works once in place of a TOTP code' }) backupCodes!: string[];
  @ApiProperty(POSITION) position!: string;
}

export class MembershipSummaryDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiPropertyOptional({ description: 'absent while the org list has not caught up' }) orgName?: string;
  @ApiProperty() role!: string;
  @ApiProperty({ enum: ['active', 'disabled'] }) status!: string;
  @ApiProperty({ enum: ['approved', 'pending'] }) approval!: string;
}

/** GET /v1/me: the signed-in person and their memberships. */
export class MeDto {
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ format: 'email' }) email!: string;
  @ApiProperty() firstName!: string;
  @ApiProperty() lastName!: string;
  @ApiPropertyOptional() phone?: string;
  @ApiPropertyOptional() username?: string;
  @ApiPropertyOptional() bio?: string;
  @ApiProperty() mustChangePassword!: boolean;
  @ApiProperty() mfaEnabled!: boolean;
  @ApiProperty({ description: 'an admin of the system admin org (R-SYS-1): the system routes are open to them' }) systemAdmin!: boolean;
  @ApiProperty({ type: [MembershipSummaryDto] }) memberships!: MembershipSummaryDto[];
}

export class SessionItemDto {
  @ApiProperty({ format: 'uuid' }) sessionId!: string;
  @ApiProperty({ example: 'password', description: 'how it started: password, magic-link, mfa, impersonation, google, …' }) method!: string;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
}

export class SessionPageDto {
  @ApiProperty({ type: [SessionItemDto] }) items!: SessionItemDto[];
  @ApiProperty(NEXT_CURSOR) nextCursor!: string | null;
}
