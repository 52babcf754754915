import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

export class InviteUserDto {
  @ApiProperty({ example: 'grace@example.com' })
  @IsEmail() @MaxLength(254)
  email!: string;

  @ApiPropertyOptional({ description: "role id; the org's default role when absent", example: 'member' })
  @IsOptional() @IsString() @IsNotEmpty() @MaxLength(64)
  role?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(100)
  firstName?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(100)
  lastName?: string;
}

export class InvitationSentDto {
  @ApiProperty() invitationId!: string;
  @ApiProperty() expiresAt!: string;
  @ApiProperty({ description: 'true when a pending invitation for this email was resent instead' }) resent!: boolean;
  @ApiProperty() position!: string;
}
