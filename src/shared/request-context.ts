import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Actor } from '../../domain/shared/envelope';
import type { CommandMeta } from './streams';

export interface GatehouseRequest extends FastifyRequest {
  actor?: Actor;
  /** R-IMP-1: set while an impersonation session acts as `actor`. */
  realActor?: Actor;
  sessionStream?: string;
  /** The command this request is: every event it causes names it as their cause (R-AUD-1). */
  commandId?: string;
}

const ANONYMOUS: Actor = { kind: 'anonymous', id: 'anonymous' };
const CORRELATION = /^[A-Za-z0-9._:-]{1,100}$/;

/** The metadata every event of this request carries: who, and which request (a caller's X-Correlation-Id is kept). */
export function metaOf(request: GatehouseRequest, orgId?: string): CommandMeta {
  const given = request.headers['x-correlation-id'];
  const correlationId = typeof given === 'string' && CORRELATION.test(given) ? given : randomUUID();
  request.commandId ??= randomUUID();
  return { actor: request.actor ?? ANONYMOUS, ...(request.realActor ? { realActor: request.realActor } : {}), correlationId, causationId: request.commandId, ...(orgId ? { orgId } : {}) };
}

/** `@Meta('org') meta: CommandMeta` — the command metadata, scoped to the `:org` route parameter when named. */
export const Meta = createParamDecorator((orgParam: string | undefined, ctx: ExecutionContext): CommandMeta => {
  const request = ctx.switchToHttp().getRequest<GatehouseRequest>();
  const orgId = orgParam ? (request.params as Record<string, string>)[orgParam] : undefined;
  return metaOf(request, orgId);
});
