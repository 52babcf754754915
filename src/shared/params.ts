import { Param, ParseUUIDPipe } from '@nestjs/common';
import { NotFound } from '../../domain/shared/errors';

/** The `:org` route parameter. A malformed id answers like an unknown one: 404 (R-SEC-1). */
export const OrgId = () => Param('org', new ParseUUIDPipe({ exceptionFactory: () => new NotFound('organization') }));
