import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/shared/errors';
import { statusOf } from './api-error';
import { IDEMPOTENCY_KEY, IdempotentCommands } from './idempotency';

/** A first answer as it is given again: status, the position header, the body. */
interface KeptAnswer {
  status: number;
  position?: string;
  body: string;
}

const CLAIM = Symbol('idempotencyClaim');
type Claimed = FastifyRequest & { [CLAIM]?: string };

/**
 * SPEC 3.1: `Idempotency-Key` on any POST makes a retry return the first answer (for 24 h), on
 * whichever replica it lands; a retry while the first is still running waits for it. Only a
 * success (2xx) is kept: a refused or failed command may be fixed and sent again with its key.
 * The same key with another body answers `422 idempotency_key_reused`.
 */
export function acceptIdempotencyKeys(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const commands = () => app.get(IdempotentCommands);

  fastify.addHook('preHandler', async (request: Claimed, reply: FastifyReply) => {
    const key = request.headers['idempotency-key'];
    if (request.method !== 'POST' || key === undefined) return;
    try {
      if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
        throw new DomainError('validation_failed', 'Idempotency-Key must be 8 to 200 letters, digits or ._:-', { fields: [{ field: 'Idempotency-Key', problems: ['8 to 200 of A-Za-z0-9._:-'] }] });
      }
      const id = IdempotentCommands.keyOf(request.headers.authorization ?? '', `POST ${request.url}`, key);
      const begun = await commands().begin<KeptAnswer>(id, IdempotentCommands.fingerprintOf(request.body));
      if (begun.run) {
        request[CLAIM] = id;
        return;
      }
      const { status, position, body } = begun.reply;
      if (position !== undefined) void reply.header('gatehouse-position', position);
      return reply.status(status).header('content-type', 'application/json; charset=utf-8').header('idempotent-replay', 'true').send(body);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return reply.status(statusOf(error.code)).header('content-type', 'application/json; charset=utf-8').send({ code: error.code, message: error.message, ...(error.details !== undefined ? { details: error.details } : {}) });
    }
  });

  fastify.addHook('onSend', async (request: Claimed, reply: FastifyReply, payload: unknown) => {
    const id = request[CLAIM];
    if (id === undefined) return payload;
    request[CLAIM] = undefined;
    if (reply.statusCode >= 200 && reply.statusCode < 300 && typeof payload === 'string') {
      const position = reply.getHeader('gatehouse-position');
      await commands().finish<KeptAnswer>(id, { status: reply.statusCode, body: payload, ...(position !== undefined ? { position: String(position) } : {}) });
    } else {
      await commands().abandon(id);
    }
    return payload;
  });

  // A request that ends without an answer (the client went away mid-command): let the key go.
  fastify.addHook('onResponse', async (request: Claimed) => {
    const id = request[CLAIM];
    if (id !== undefined) await commands().abandon(id).catch(() => undefined);
  });
}
