import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEmail, IsIn, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { PRESETS, type Preset } from '../../domain/access/roles';

export class OwnerDto {
  @ApiProperty({ example: 'ada@example.com' })
  @IsEmail() @MaxLength(254)
  email!: string;

  @ApiProperty({ example: 'Ada' })
  @IsString() @IsNotEmpty() @MaxLength(100)
  firstName!: string;

  @ApiProperty({ example: 'Lovelace' })
  @IsString() @IsNotEmpty() @MaxLength(100)
  lastName!: string;

  @ApiProperty({ minLength: 10, maxLength: 128, writeOnly: true })
  @IsString() @MinLength(10) @MaxLength(128)
  password!: string;
}

export class CreateOrganizationDto {
  @ApiProperty({ example: 'Acme Studio' })
  @IsString() @IsNotEmpty() @MaxLength(120)
  name!: string;

  @ApiPropertyOptional({ enum: PRESETS, default: 'team' })
  @IsOptional() @IsIn(PRESETS)
  preset?: Preset;

  @ApiProperty({ type: OwnerDto })
  @IsObject() @ValidateNested() @Type(() => OwnerDto)
  owner!: OwnerDto;
}

export class OrganizationCreatedDto {
  @ApiProperty() orgId!: string;
  @ApiProperty() ownerId!: string;
  @ApiProperty({ description: 'a session token for the Owner' }) token!: string;
  @ApiProperty() expiresAt!: string;
  @ApiProperty({ description: 'global position of the last event (R-LIST-5)' }) position!: string;
}
