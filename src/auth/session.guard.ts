import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { DomainError } from '../../domain/shared/errors';
import type { GatehouseRequest } from '../shared/request-context';
import { Sessions } from './sessions.service';

/** Every non-public route needs `Authorization: Bearer <session token>`. */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(private readonly sessions: Sessions) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<GatehouseRequest>();
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const actor = token ? await this.sessions.authenticate(token) : undefined;
    if (!actor) throw new DomainError('unauthenticated', 'a valid bearer token is required');
    request.actor = actor;
    return true;
  }
}
