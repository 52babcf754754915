import { ArgumentsHost, Catch, HttpException, HttpStatus, Logger, type ExceptionFilter, ValidationError, BadRequestException } from '@nestjs/common';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { DomainError } from '../../domain/shared/errors';
import { IdempotencyMismatch, WrongExpectedVersion } from '../../infra/eventstore/port';

/** The one error shape of the API: `{code, message, details}` — never a stack trace. */
export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export class ApiError extends HttpException {
  constructor(status: number, readonly body: ApiErrorBody) {
    super(body, status);
  }
}

/** HTTP status of each domain error code; anything not listed is a 422 (understood, but refused by a rule). */
const STATUS: Record<string, number> = {
  validation_failed: 400,
  link_invalid: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  invalid_mfa_code: 401,
  forbidden: 403,
  access_disabled: 403,
  above_your_ceiling: 403,
  owner_protected: 403,
  cannot_disable_self: 403,
  cannot_ban_self: 403,
  cannot_remove_self: 403,
  cannot_change_own_role: 403,
  cannot_impersonate_self: 403,
  impersonation_scope: 403,
  password_change_required: 403,
  org_suspended: 403,
  system_admin_protected: 403,
  account_managed_elsewhere: 403,
  not_while_impersonating: 403,
  not_impersonating: 422,
  not_found: 404,
  conflict: 409,
  not_redrivable: 409,
  already_member: 409,
  email_taken: 409,
  username_taken: 409,
  accesscode_taken: 409,
  mfa_already_enabled: 409,
  identity_taken: 409,
  org_exists: 409,
  user_exists: 409,
  location_exists: 409, role_name_taken: 409, role_in_use: 409, not_owner: 403,
  link_used: 410,
  link_expired: 410,
  link_superseded: 410,
  invitation_expired: 410,
  invitation_revoked: 410,
  read_model_behind: 503,
  too_many_attempts: 429,
  too_many_requests: 429,
};

export function statusOf(code: string): number {
  return STATUS[code] ?? 422;
}

/** class-validator's errors, flattened to `{field, problems}` with dotted paths for nested fields. */
export function fieldDetails(errors: ValidationError[], parent = ''): Array<{ field: string; problems: string[] }> {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, problems: Object.values(e.constraints) }] : [];
    return [...own, ...fieldDetails(e.children ?? [], field)];
  });
}

export function validationFailed(errors: ValidationError[]): BadRequestException {
  return new ApiError(400, {
    code: 'validation_failed',
    message: 'the request has invalid fields',
    details: { fields: fieldDetails(errors) },
  }) as unknown as BadRequestException;
}

@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body } = this.describe(error);
    const retryAfter = (body.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
    if (retryAfter) void reply.header('Retry-After', String(retryAfter));
    if (status >= 500) this.logger.error({ msg: 'request failed', error: error instanceof Error ? error.message : String(error), stack: error instanceof Error ? error.stack : undefined });
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  private describe(error: unknown): { status: number; body: ApiErrorBody } {
    if (error instanceof ApiError) return { status: error.getStatus(), body: error.body };
    if (error instanceof DomainError) {
      return { status: statusOf(error.code), body: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } };
    }
    if (error instanceof WrongExpectedVersion || error instanceof IdempotencyMismatch) {
      return { status: 409, body: { code: 'conflict', message: 'the resource changed concurrently; try again' } };
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      return { status, body: { code: codeOfStatus(status), message: messageOf(error) } };
    }
    // Fastify's own errors: malformed JSON, unsupported media type, body too large.
    const fastify = error as { statusCode?: number; code?: string; message?: string };
    if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
      const code = fastify.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type'
        : fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large'
        : fastify.statusCode === 400 ? 'malformed_json' : codeOfStatus(fastify.statusCode);
      return { status: fastify.statusCode, body: { code, message: code === 'malformed_json' ? 'the request body is not valid JSON' : (fastify.message ?? code) } };
    }
    return { status: 500, body: { code: 'internal', message: 'internal error' } };
  }
}

/**
 * Fastify's `frameworkErrors`: requests it refuses before routing (a path parameter over its length limit,
 * a URL that does not decode) get the API's error shape and a code of ours, not Fastify's.
 */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const body: ApiErrorBody = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? { code: 'uri_too_long', message: 'a path segment of the URL is too long' }
    : error.code === 'FST_ERR_BAD_URL' ? { code: 'malformed_url', message: 'the URL is not validly encoded' }
    : { code: 'bad_request', message: 'the request cannot be routed' };
  const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses (headers over the size limit, a
 * request that never finished, bytes that are not HTTP) is answered on the socket in the API's shape.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, body]: [number, string, ApiErrorBody] = error.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'Request Header Fields Too Large', { code: 'headers_too_large', message: 'the request line and headers are too large' }]
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', { code: 'request_timeout', message: 'the request was not received in time' }]
      : [400, 'Bad Request', { code: 'bad_request', message: 'the request is not valid HTTP' }];
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`);
  }
  socket.destroy(error);
}

function codeOfStatus(status: number): string {
  const name = HttpStatus[status];
  return name ? name.toLowerCase() : 'error';
}

function messageOf(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  return Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : error.message;
}
