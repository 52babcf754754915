import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsEmail, IsIn, IsISO8601, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { AVAILABILITIES, type Availability } from '../../domain/membership/membership';
import type { CreateMode } from './create-member.handler';

const E164 = /^\+[1-9]\d{6,14}$/;
const USERNAME = /^[A-Za-z0-9._-]{3,32}$/;

export class CreateMemberDto {
  @ApiProperty() @IsEmail() @MaxLength(254)
  email!: string;

  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(100)
  firstName!: string;

  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(100)
  lastName!: string;

  @ApiPropertyOptional({ example: '+14155550123' }) @IsOptional() @Matches(E164, { message: 'phone must be in E.164 form, e.g. +14155550123' })
  phone?: string;

  @ApiPropertyOptional() @IsOptional() @Matches(USERNAME, { message: 'username is 3 to 32 letters, digits, dots, dashes or underscores' })
  username?: string;

  @ApiPropertyOptional({ description: "role id; the org's default role when absent (R-CRT-3)" }) @IsOptional() @IsString() @IsNotEmpty() @MaxLength(64)
  role?: string;

  @ApiPropertyOptional({ type: [String], description: 'scope the role to these locations (R-ROLE-5)' })
  @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(64, { each: true })
  locations?: string[];

  @ApiProperty({ enum: ['setup-email', 'temporary-password', 'set-password'] }) @IsIn(['setup-email', 'temporary-password', 'set-password'])
  mode!: CreateMode;

  @ApiPropertyOptional({ writeOnly: true }) @IsOptional() @IsString() @MaxLength(128)
  password?: string;

  @ApiPropertyOptional() @IsOptional() @IsBoolean()
  mustChangePassword?: boolean;
}

export class ChangeRoleDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(64)
  role!: string;

  @ApiPropertyOptional({ type: [String] }) @IsOptional() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(64, { each: true })
  locations?: string[];
}

export class GrantDto {
  @ApiProperty({ example: 'credits.adjust.any' }) @IsString() @IsNotEmpty() @MaxLength(100)
  permission!: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(64)
  location?: string;

  @ApiPropertyOptional() @IsOptional() @IsISO8601({ strict: true })
  expiresAt?: string;

  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(500)
  reason!: string;
}

export class UpdateMemberDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(100)
  firstName?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(100)
  lastName?: string;

  @ApiPropertyOptional() @IsOptional() @Matches(E164, { message: 'phone must be in E.164 form, e.g. +14155550123' })
  phone?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(1000)
  bio?: string;

  @ApiPropertyOptional() @IsOptional() @Matches(USERNAME, { message: 'username is 3 to 32 letters, digits, dots, dashes or underscores' })
  username?: string;

  @ApiPropertyOptional({ description: 'internal notes, seen by admins only' }) @IsOptional() @IsString() @MaxLength(5000)
  notes?: string;
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

  @ApiPropertyOptional({ description: 'must be changed at next sign-in' }) @IsOptional() @IsBoolean()
  mustChange?: boolean;
}
