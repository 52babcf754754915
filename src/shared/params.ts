import { Param, ParseUUIDPipe, type PipeTransform } from '@nestjs/common';
import { NotFound } from '../../domain/shared/errors';

/** A malformed id answers like an unknown one: 404 (R-SEC-1). */
const uuid = (what: string) => new ParseUUIDPipe({ exceptionFactory: () => new NotFound(what) });

class KeyPipe implements PipeTransform<string, string> {
  constructor(private readonly what: string) {}
  transform(value: string): string {
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(value)) throw new NotFound(this.what);
    return value;
  }
}

export const OrgId = () => Param('org', uuid('organization'));
export const UserId = () => Param('user', uuid('member'));
export const GrantId = () => Param('grant', uuid('grant'));
export const InvitationId = () => Param('invitation', new KeyPipe('invitation'));
