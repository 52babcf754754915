import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { POSITION } from '../shared/responses';
import { IsEmailAddress, IsPlainText, MayOmit } from '../shared/validators';

export class InviteUserDto {
  @ApiProperty({ example: 'grace@example.com' })
  @IsEmailAddress() @MaxLength(254)
  email!: string;

  @ApiPropertyOptional({ description: "role id; the org's default role when absent", example: 'member' })
  @MayOmit() @IsString() @IsNotEmpty() @MaxLength(64)
  role?: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @IsNotEmpty() @MaxLength(100) @IsPlainText()
  firstName?: string;

  @ApiPropertyOptional() @MayOmit() @IsString() @IsNotEmpty() @MaxLength(100) @IsPlainText()
  lastName?: string;
}

export class InvitationSentDto {
  @ApiProperty() invitationId!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({ description: 'true when a pending invitation for this email was resent instead' }) resent!: boolean;
  @ApiProperty(POSITION) position!: string;
}
