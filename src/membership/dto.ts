import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsISO8601, IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';
import { AVAILABILITIES, type Availability } from '../../domain/membership/membership';
import type { CreateMode } from './create-member.handler';
import { MembershipChangeDto, POSITION } from '../shared/responses';
import { E164, IsEmailAddress, IsPlainText, MayOmit } from '../shared/validators';

const USERNAME = /^[A-Za-z0-9._-]{3,32}$/;

export class CreateMemberDto {
  @ApiProperty() @IsEmailAddress() @MaxLength(254)
  email!: string;

  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(100) @IsPlainText()
  firstName!: string;

  @ApiPropertyOptional({ description: 'optional where a product has one "Full Name" field (seed 001): the whole name then goes in firstName' }) @MayOmit() @IsString() @MaxLength(100) @IsPlainText()
  lastName?: string;

  @ApiPropertyOptional({ example: '+14155550123' }) @MayOmit() @Matches(E164, { message: 'phone must be in E.164 form, e.g. +14155550123' })
  phone?: string;

  @ApiPropertyOptional() @MayOmit() @Matches(USERNAME, { message: 'username is 3 to 32 letters, digits, dots, dashes or underscores' }) @IsPlainText()
  username?: string;

  @ApiPropertyOptional({ description: "role id; the org's default role when absent (R-CRT-3)" }) @MayOmit() @IsString() @IsNotEmpty() @MaxLength(64)
  role?: string;

  @ApiPropertyOptional({ type: [String], description: 'scope the role to these locations (R-ROLE-5)' })
  @MayOmit() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(64, { each: true })
  locations?: string[];

  @ApiProperty({ enum: ['setup-email', 'temporary-password', 'set-password'] }) @IsIn(['setup-email', 'temporary-password', 'set-password'])
  mode!: CreateMode;

  @ApiPropertyOptional({ writeOnly: true }) @MayOmit() @IsString() @MaxLength(128)
  password?: string;

  @ApiPropertyOptional() @MayOmit() @IsBoolean()
  mustChangePassword?: boolean;
}

export class ChangeRoleDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(64)
  role!: string;

  @ApiPropertyOptional({ type: [String] }) @MayOmit() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(64, { each: true })
  locations?: string[];
}

export class GrantDto {
  @ApiProperty({ example: 'credits.adjust.any' }) @IsString() @IsNotEmpty() @MaxLength(100)
  permission!: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @IsNotEmpty() @MaxLength(64)
  location?: string;

  @ApiPropertyOptional() @MayOmit() @IsISO8601({ strict: true })
  expiresAt?: string;

  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(500)
  reason!: string;
}

export class UpdateMemberDto {
  @ApiPropertyOptional() @MayOmit() @IsString() @IsNotEmpty() @MaxLength(100) @IsPlainText()
  firstName?: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @IsNotEmpty() @MaxLength(100) @IsPlainText()
  lastName?: string;

  @ApiPropertyOptional() @MayOmit() @Matches(E164, { message: 'phone must be in E.164 form, e.g. +14155550123' })
  phone?: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @MaxLength(1000)
  bio?: string;

  @ApiPropertyOptional() @MayOmit() @Matches(USERNAME, { message: 'username is 3 to 32 letters, digits, dots, dashes or underscores' }) @IsPlainText()
  username?: string;

  @ApiPropertyOptional({ description: 'internal notes, seen by admins only' }) @MayOmit() @IsString() @MaxLength(5000)
  notes?: string;

  @ApiPropertyOptional({ description: "SPEC 5.7: the member's new email, unique as at creation" }) @MayOmit() @IsEmailAddress() @MaxLength(254)
  email?: string;
}

export class AccessCodeDto {
  @ApiProperty({ example: '480215' }) @IsString() @MaxLength(16)
  code!: string;
}

export class AvailabilityDto {
  @ApiProperty({ enum: AVAILABILITIES }) @IsIn(AVAILABILITIES)
  availability!: Availability;
}

export class SetPasswordDto {
  @ApiProperty({ writeOnly: true }) @IsString() @IsNotEmpty() @MaxLength(128)
  password!: string;

  @ApiPropertyOptional({ description: 'must be changed at next sign-in' }) @MayOmit() @IsBoolean()
  mustChange?: boolean;
}

// Answers (issue 18: the OpenAPI document a typed client is generated from).

export class MemberCreatedDto {
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ description: 'true: the email already had an account, which joined the org (R-CRT-2)' }) addedExisting!: boolean;
  @ApiPropertyOptional({ description: 'temporary-password mode only: shown in this answer only (R-CRT-1 b)' }) temporaryPassword?: string;
  @ApiProperty(POSITION) position!: string;
}

export class GrantViewDto {
  @ApiProperty({ format: 'uuid' }) grantId!: string;
  @ApiProperty({ example: 'credits.adjust.any' }) permission!: string;
  @ApiPropertyOptional({ description: 'absent: across the org' }) location?: string;
  @ApiPropertyOptional({ format: 'date-time' }) expiresAt?: string;
  @ApiProperty() reason!: string;
  @ApiProperty({ description: 'user id of who gave it' }) grantedBy!: string;
  @ApiProperty({ format: 'date-time' }) grantedAt!: string;
  @ApiProperty({ description: 'its expiry has passed' }) expired!: boolean;
}

export class MemberSessionDto {
  @ApiProperty({ format: 'uuid' }) sessionId!: string;
  @ApiProperty({ example: 'password' }) method!: string;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
}

/** R-LIST-4: a member's detail. */
export class MemberDetailDto {
  @ApiProperty({ format: 'uuid' }) userId!: string;
  @ApiProperty({ format: 'email' }) email!: string;
  @ApiProperty() firstName!: string;
  @ApiProperty() lastName!: string;
  @ApiPropertyOptional() phone?: string;
  @ApiPropertyOptional() username?: string;
  @ApiPropertyOptional() bio?: string;
  @ApiProperty({ description: 'role id' }) role!: string;
  @ApiProperty({ type: [String], nullable: true, description: 'null: the role holds across the org (R-ROLE-5)' }) locations!: string[] | null;
  @ApiProperty({ enum: ['active', 'disabled'] }) status!: string;
  @ApiProperty({ enum: ['approved', 'pending'] }) approval!: string;
  @ApiProperty() banned!: boolean;
  @ApiProperty({ description: 'the org’s Owner' }) owner!: boolean;
  @ApiPropertyOptional({ description: 'the door code (R-CODE-1)' }) accessCode?: string;
  @ApiProperty({ enum: AVAILABILITIES }) availability!: string;
  @ApiProperty({ description: 'internal notes, seen by admins only' }) notes!: string;
  @ApiProperty({ type: [GrantViewDto] }) grants!: GrantViewDto[];
  @ApiProperty() mfaEnabled!: boolean;
  @ApiPropertyOptional({ format: 'date-time' }) joinedAt?: string;
  @ApiPropertyOptional({ format: 'date-time', description: 'when the invitation that brought the member was sent' }) invitedAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) setupCompletedAt?: string;
  @ApiPropertyOptional({ format: 'date-time' }) disabledAt?: string;
  @ApiPropertyOptional({ description: 'user id of who disabled the member' }) disabledBy?: string;
  @ApiPropertyOptional({ format: 'date-time' }) lastSignInAt?: string;
  @ApiPropertyOptional({ example: 'password' }) lastSignInMethod?: string;
  @ApiProperty({ type: [MemberSessionDto], description: 'the sessions that still work' }) sessions!: MemberSessionDto[];
}

export class GrantGivenDto extends MembershipChangeDto {
  @ApiProperty({ format: 'uuid' }) grantId!: string;
}

export class TemporaryPasswordDto {
  @ApiProperty({ description: 'shown in this answer only; to be changed at next sign-in (R-CRED-4)' }) temporaryPassword!: string;
  @ApiProperty(POSITION) position!: string;
}
