import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsNotEmpty, IsObject, IsString, IsUUID, Matches, Max, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';
import { PRESETS, type Preset } from '../../domain/access/roles';
import { INVITATION_EXPIRY_LIMITS } from '../../domain/organization/organization';
import { NEXT_CURSOR, POSITION } from '../shared/responses';
import { IsEmailAddress, IsPlainText, MayOmit } from '../shared/validators';

export class OwnerDto {
  @ApiProperty({ example: 'ada@example.com' })
  @IsEmailAddress() @MaxLength(254)
  email!: string;

  @ApiProperty({ example: 'Ada' })
  @IsString() @IsNotEmpty() @MaxLength(100) @IsPlainText()
  firstName!: string;

  @ApiProperty({ example: 'Lovelace' })
  @IsString() @IsNotEmpty() @MaxLength(100) @IsPlainText()
  lastName!: string;

  @ApiProperty({ minLength: 10, maxLength: 128, writeOnly: true })
  @IsString() @MinLength(10) @MaxLength(128)
  password!: string;
}

export class CreateOrganizationDto {
  @ApiProperty({ example: 'Acme Studio' })
  @IsString() @IsNotEmpty() @MaxLength(120) @IsPlainText()
  name!: string;

  @ApiPropertyOptional({ enum: PRESETS, default: 'team' })
  @MayOmit() @IsIn(PRESETS)
  preset?: Preset;

  @ApiProperty({ type: OwnerDto })
  @IsObject() @ValidateNested() @Type(() => OwnerDto)
  owner!: OwnerDto;
}

export class OrganizationCreatedDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty({ format: 'uuid' }) ownerId!: string;
  @ApiProperty({ description: 'a session token for the Owner' }) token!: string;
  @ApiProperty({ format: 'uuid' }) sessionId!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty(POSITION) position!: string;
}

export class AddLocationDto {
  @ApiProperty({ example: 'North studio' })
  @IsString() @IsNotEmpty() @MaxLength(120) @IsPlainText()
  name!: string;
}

export class ChangePolicyDto {
  @ApiPropertyOptional({ minimum: INVITATION_EXPIRY_LIMITS.min, maximum: INVITATION_EXPIRY_LIMITS.max, description: 'R-INV-1: 1 hour to 30 days' })
  @MayOmit() @IsInt() @Min(INVITATION_EXPIRY_LIMITS.min) @Max(INVITATION_EXPIRY_LIMITS.max)
  invitationExpiryHours?: number;

  @ApiPropertyOptional({ description: 'role id given to new members when none is named (R-CRT-3)' })
  @MayOmit() @IsString() @IsNotEmpty() @MaxLength(64)
  defaultRole?: string;

  @ApiPropertyOptional({ description: 'members get a 6-digit door code (R-CODE-1)' })
  @MayOmit() @IsBoolean()
  doorAccess?: boolean;
}

const COLOR = /^#[0-9a-fA-F]{6}$/;
const COLOR_MESSAGE = 'color is #rrggbb, e.g. #2563eb';

export class CreateRoleDto {
  @ApiProperty({ example: 'Front desk' })
  @IsString() @IsNotEmpty() @MaxLength(60) @IsPlainText()
  name!: string;

  @ApiProperty({ example: '#0891b2' })
  @Matches(COLOR, { message: COLOR_MESSAGE })
  color!: string;

  @ApiProperty({ example: 'Checks people in' })
  @IsString() @MaxLength(500)
  description!: string;

  @ApiProperty({ type: [String], example: ['users.list.any'] })
  @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(100, { each: true })
  permissions!: string[];
}

export class UpdateRoleDto {
  @ApiPropertyOptional() @MayOmit() @IsString() @IsNotEmpty() @MaxLength(60) @IsPlainText()
  name?: string;

  @ApiPropertyOptional() @MayOmit() @Matches(COLOR, { message: COLOR_MESSAGE })
  color?: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({ type: [String], description: 'custom roles only' })
  @MayOmit() @IsArray() @ArrayMaxSize(100) @IsString({ each: true }) @MaxLength(100, { each: true })
  permissions?: string[];

  @ApiPropertyOptional({ description: 'only active roles can be assigned (R-ROLE-4)' }) @MayOmit() @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional({ description: 'with active=false: move the role\'s members to this role in the same command' })
  @MayOmit() @IsString() @IsNotEmpty() @MaxLength(64)
  moveMembersTo?: string;
}

export class TransferOwnershipDto {
  @ApiProperty({ description: 'an active member of the org' })
  @IsUUID()
  toUserId!: string;

  @ApiPropertyOptional({ description: "the role the Owner steps down to; by default the preset's most powerful role after the Owner" })
  @MayOmit() @IsString() @IsNotEmpty() @MaxLength(64)
  formerOwnerRole?: string;
}

// Answers (issue 18: the OpenAPI document a typed client is generated from).

export class PolicyDto {
  @ApiProperty({ description: 'R-INV-1' }) invitationExpiryHours!: number;
  @ApiProperty({ description: 'role id given to new members when none is named (R-CRT-3)' }) defaultRole!: string;
  @ApiProperty({ description: 'members get a door code (R-CODE-1)' }) doorAccess!: boolean;
}

export class RoleDto {
  @ApiProperty({ example: 'admin' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ example: '#2563eb' }) color!: string;
  @ApiProperty() description!: string;
  @ApiProperty({ type: [String] }) permissions!: string[];
  @ApiProperty({ description: "a preset's role, not a custom one" }) builtIn!: boolean;
  @ApiProperty({ description: 'only active roles can be assigned (R-ROLE-4)' }) active!: boolean;
  @ApiProperty({ description: 'the Owner role: held by exactly one member, never offered when inviting or assigning (R-ROLE-1)' }) owner!: boolean;
}

export class LocationDto {
  @ApiProperty({ format: 'uuid' }) locationId!: string;
  @ApiProperty() name!: string;
}

export class OrganizationDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['active', 'suspended', 'deleted'] }) status!: string;
  @ApiProperty({ format: 'uuid' }) ownerId!: string;
  @ApiProperty({ type: PolicyDto }) policy!: PolicyDto;
  @ApiProperty({ type: [RoleDto] }) roles!: RoleDto[];
  @ApiProperty({ type: [LocationDto] }) locations!: LocationDto[];
}

export class RolePageDto {
  @ApiProperty({ type: [RoleDto] }) items!: RoleDto[];
  @ApiProperty(NEXT_CURSOR) nextCursor!: string | null;
}

export class LocationAddedDto {
  @ApiProperty({ format: 'uuid' }) locationId!: string;
  @ApiProperty(POSITION) position!: string;
}

export class RoleCreatedDto {
  @ApiProperty({ example: 'front-desk-3f9a2c' }) roleId!: string;
  @ApiProperty(POSITION) position!: string;
}

export class RoleUpdatedDto {
  @ApiProperty(POSITION) position!: string;
  @ApiProperty({ type: [String], description: 'user ids of the members moved to `moveMembersTo`' }) moved!: string[];
}

export class ServiceKeyIssuedDto {
  @ApiProperty({ format: 'uuid' }) keyId!: string;
  @ApiProperty({ description: 'the bearer token for the service: shown in this answer only (R-SEC-2)' }) key!: string;
  @ApiProperty(POSITION) position!: string;
}

export class PartnerCreatedDto {
  @ApiProperty({ format: 'uuid' }) partnerId!: string;
  @ApiProperty(POSITION) position!: string;
}

export class PartnerOrgCreatedDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty(POSITION) position!: string;
}

export class PartnerOrgDto {
  @ApiProperty({ format: 'uuid' }) orgId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['active', 'suspended', 'deleted'] }) status!: string;
  @ApiProperty({ format: 'uuid' }) ownerId!: string;
}

export class PartnerOrgPageDto {
  @ApiProperty({ type: [PartnerOrgDto] }) items!: PartnerOrgDto[];
  @ApiProperty(NEXT_CURSOR) nextCursor!: string | null;
}
