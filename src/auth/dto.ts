import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';
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

export class SessionDto {
  @ApiProperty() token!: string;
  @ApiProperty() sessionId!: string;
  @ApiProperty() expiresAt!: string;
  @ApiProperty() userId!: string;
  @ApiProperty() position!: string;
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
