import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter, ValidationError, BadRequestException } from '@nestjs/common';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { DomainError, kindOf, type ErrorCode, type ErrorKind } from '../../domain/shared/errors';
import { IdempotencyMismatch, WrongExpectedVersion } from '../../infra/eventstore/port';

/** The one error shape of the API: `{code, message, details}` — never a stack trace. */
export interface ApiErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export class ApiError extends HttpException {
  constructor(status: number, readonly body: ApiErrorBody) {
    super(body, status);
  }
}

/**
 * The one map from an error's kind to its HTTP status; a code's status is its kind's (domain/shared/errors.ts).
 * `invalid` and `precondition` are both 422: the request was understood and refused by a rule, or by the state of
 * what it names (412 is kept for conditional requests, which the API does not take). `malformed` is 400.
 */
export const STATUS_OF_KIND = {
  malformed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  timeout: 408,
  conflict: 409,
  gone: 410,
  too_large: 413,
  uri_too_long: 414,
  unsupported_media: 415,
  invalid: 422,
  precondition: 422,
  too_many: 429,
  headers_too_large: 431,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<ErrorKind, number>;

export function statusOf(code: ErrorCode): number {
  return STATUS_OF_KIND[kindOf(code)];
}

/** The kind of an answer whose code is not one of ours (a framework's): the first kind with its status. */
export function kindOfStatus(status: number): ErrorKind {
  const kind = (Object.keys(STATUS_OF_KIND) as ErrorKind[]).find((k) => STATUS_OF_KIND[k] === status);
  return kind ?? (status >= 500 ? 'internal' : 'malformed');
}

/** An API error whose status follows from its code. */
export function apiError(code: ErrorCode, message: string, details?: unknown): ApiError {
  return new ApiError(statusOf(code), { code, message, ...(details !== undefined ? { details } : {}) });
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
  return apiError('validation_failed', 'the request has invalid fields', { fields: fieldDetails(errors) }) as unknown as BadRequestException;
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
      return { status: statusOf('conflict'), body: { code: 'conflict', message: 'the resource changed concurrently; try again' } };
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      return { status, body: { code: codeOfStatus(status), message: messageOf(error) } };
    }
    // Fastify's own errors: malformed JSON, unsupported media type, body too large.
    const fastify = error as { statusCode?: number; code?: string; message?: string };
    if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
      const code: ErrorCode = fastify.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type'
        : fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'body_too_large'
        : fastify.statusCode === 400 ? 'malformed_json' : codeOfStatus(fastify.statusCode);
      return { status: fastify.statusCode, body: { code, message: code === 'malformed_json' ? 'the request body is not valid JSON' : (fastify.message ?? code) } };
    }
    return { status: statusOf('internal'), body: { code: 'internal', message: 'internal error' } };
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
  void reply.status(statusOf(body.code)).header('content-type', 'application/json; charset=utf-8').send(body);
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses (headers over the size limit, a
 * request that never finished, bytes that are not HTTP) is answered on the socket in the API's shape.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const body: ApiErrorBody = error.code === 'HPE_HEADER_OVERFLOW' ? { code: 'headers_too_large', message: 'the request line and headers are too large' }
    : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? { code: 'request_timeout', message: 'the request was not received in time' }
    : { code: 'bad_request', message: 'the request is not valid HTTP' };
  const status = statusOf(body.code);
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`);
  }
  socket.destroy(error);
}

const GENERIC: readonly ErrorCode[] = ['bad_request', 'unauthenticated', 'forbidden', 'not_found', 'request_timeout', 'conflict', 'body_too_large', 'uri_too_long', 'unsupported_media_type', 'too_many_requests', 'headers_too_large', 'internal'];

/** The code of a status the framework chose (an unknown route's 404, …): the generic code with that status. */
function codeOfStatus(status: number): ErrorCode {
  return GENERIC.find((code) => statusOf(code) === status) ?? (status >= 500 ? 'internal' : 'bad_request');
}

function messageOf(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  return Array.isArray(message) ? message.join('; ') : typeof message === 'string' ? message : error.message;
}
