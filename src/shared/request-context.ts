import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
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

const correlationIds = new WeakMap<IncomingMessage, string>();

/**
 * A request's correlation id: the caller's X-Correlation-Id when it is a plain token, else one
 * made up once; the same for the log line, the answer's X-Correlation-Id and every event.
 */
export function correlationIdOf(raw: IncomingMessage): string {
  let id = correlationIds.get(raw);
  if (id === undefined) {
    const given = raw.headers['x-correlation-id'];
    id = typeof given === 'string' && CORRELATION.test(given) ? given : randomUUID();
    correlationIds.set(raw, id);
  }
  return id;
}

/** The metadata every event of this request carries: who, and which request (a caller's X-Correlation-Id is kept). */
export function metaOf(request: GatehouseRequest, orgId?: string): CommandMeta {
  request.commandId ??= randomUUID();
  return { actor: request.actor ?? ANONYMOUS, ...(request.realActor ? { realActor: request.realActor } : {}), correlationId: correlationIdOf(request.raw), causationId: request.commandId, ...(orgId ? { orgId } : {}) };
}

/** `@Meta('org') meta: CommandMeta` — the command metadata, scoped to the `:org` route parameter when named. */
export const Meta = createParamDecorator((orgParam: string | undefined, ctx: ExecutionContext): CommandMeta => {
  const request = ctx.switchToHttp().getRequest<GatehouseRequest>();
  const orgId = orgParam ? (request.params as Record<string, string>)[orgParam] : undefined;
  return metaOf(request, orgId);
});
