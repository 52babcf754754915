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
    const principal = token ? await this.sessions.authenticate(token) : undefined;
    if (!principal) throw new DomainError('unauthenticated', 'a valid bearer token is required');
    request.actor = principal.actor;
    request.realActor = principal.realActor;
    request.sessionStream = principal.sessionStream;
    if (principal.mustChangePassword && !principal.realActor && !passwordChangeRoute(request)) {
      throw new DomainError('password_change_required', 'choose a new password first (PUT /v1/me/password)');
    }
    if (principal.orgScope && !withinScope(request, principal.orgScope)) {
      throw new DomainError('impersonation_scope', 'an impersonation session works only in the organization it was started in');
    }
    return true;
  }
}

/** An impersonation session reaches its org's routes, the impersonated profile, and its own end. */
function withinScope(request: GatehouseRequest, orgId: string): boolean {
  const org = (request.params as Record<string, string | undefined>).org;
  if (org) return org === orgId;
  const path = request.url.split('?')[0];
  return (request.method === 'DELETE' && path === '/v1/impersonation') || (request.method === 'GET' && path === '/v1/me');
}

/** What a person who must change their password may still do: change it, see who they are, log out. */
function passwordChangeRoute(request: GatehouseRequest): boolean {
  const path = request.url.split('?')[0];
  return (request.method === 'PUT' && path === '/v1/me/password') || (request.method === 'GET' && path === '/v1/me') || (request.method === 'DELETE' && path.startsWith('/v1/me/sessions'));
}
