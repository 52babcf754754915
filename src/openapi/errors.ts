import type { OpenAPIObject, OperationObject, ResponseObject, SchemaObject } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { ERRORS, type ErrorCode } from '../../domain/shared/errors';
import { statusOf } from '../shared/api-error';

/** The one error shape of the API (SPEC 3): `{code, message, details?}`, `code` one of the catalogue's (domain/shared/errors.ts). */
export const API_ERROR_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', enum: Object.keys(ERRORS), description: 'stable: clients match on it; its kind decides the HTTP status' },
    message: { type: 'string', description: 'for people; may change' },
    details: {
      type: 'object',
      additionalProperties: true,
      description: 'what the code concerns: `fields: [{field, problems}]` for validation_failed, `permission` for forbidden, `retryAfterSeconds` for too_many_*, …',
    },
  },
};

const CODES_BY_STATUS = new Map<number, ErrorCode[]>();
for (const code of Object.keys(ERRORS) as ErrorCode[]) CODES_BY_STATUS.set(statusOf(code), [...(CODES_BY_STATUS.get(statusOf(code)) ?? []), code]);

const errorResponse = (status: number): ResponseObject => ({
  description: status === 500 ? 'Internal Server Error: internal, event_store_refused — never a stack trace' : `${STATUS_CODES[status]}: ${(CODES_BY_STATUS.get(status) ?? []).join(', ')}`,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } },
  ...(status === 429 ? { headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } } } : {}),
});

/**
 * Which errors an operation can answer, by what it is: every request can be malformed (400) or meet a store
 * that is down (503); a signed-in route can meet a bad token (401), a missing permission or a disabled
 * membership (403) and ids it may not know (404); a command can clash (409) or break a rule (422); a body can
 * be too large (413) or in a type the API does not read (415); public commands are throttled (429). An
 * operation's own `@ApiResponse` for a status adds to these. `default`: anything else, `internal`.
 */
function statusesOf(operation: OperationObject, method: string): number[] {
  const signedIn = (operation.security ?? []).length > 0;
  const command = method !== 'get';
  return [
    400,
    ...(signedIn ? [401, 403, 404] : []),
    ...(command ? [409, 422] : []),
    ...(operation.requestBody ? [413, 415] : []),
    ...(command && !signedIn ? [429] : []),
    503,
  ];
}

/** A shared error response's name in components.responses: its status's reason phrase (`UnprocessableEntity`). */
const responseName = (status: number): string => (STATUS_CODES[status] ?? `Status${status}`).replace(/[^A-Za-z]/g, '');

/**
 * The error responses of every operation, each with the one ApiError schema (issue 18). The common ones are
 * shared (components.responses) so the document and the client generated from it stay small.
 */
export function describeErrors(document: OpenAPIObject): void {
  const shared: Record<string, ResponseObject> = {};
  const use = (status: number) => {
    shared[responseName(status)] = errorResponse(status);
    return { $ref: `#/components/responses/${responseName(status)}` };
  };
  for (const operations of Object.values(document.paths)) {
    for (const [method, operation] of Object.entries(operations) as Array<[string, OperationObject | undefined]>) {
      if (!operation?.responses || !['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const responses = operation.responses as Record<string, ResponseObject | { $ref: string }>;
      // An operation's own error statuses (@ApiResponse) get the shape too, keeping their description.
      for (const [status, response] of Object.entries(responses)) {
        if (Number(status) >= 400 && !('$ref' in response) && !response.content) responses[status] = { ...errorResponse(Number(status)), description: response.description || errorResponse(Number(status)).description };
      }
      for (const status of statusesOf(operation, method)) responses[status] ??= use(status);
      responses.default ??= use(500);
    }
  }
  document.components = { ...document.components, schemas: { ...document.components?.schemas, ApiError: API_ERROR_SCHEMA }, responses: { ...document.components?.responses, ...shared } };
}
