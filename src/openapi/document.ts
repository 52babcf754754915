import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { describeErrors } from './errors';
import { describeValidationRules } from './validation-schema';

/**
 * The OpenAPI document of the HTTP API (SPEC 3, issue 18), served at /docs and the source of the typed
 * client in src/client (`npm run client:generate`): every operation with its request, its answer, its
 * errors and SPEC 3.1's headers.
 */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  describeValidationRules();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Gatehouse')
      .setDescription('People of many organizations: invitations, accounts, roles, access, credentials — with their full history.')
      .setVersion('1')
      .setLicense('UNLICENSED', 'https://opensource.org/license/unlicense')
      .addServer('/', 'this Gatehouse')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'a session token (sign-in) or a service key' })
      .build(),
  );
  describePathParameters(document);
  describePublicOperations(document);
  describeConventionHeaders(document);
  describeErrors(document);
  return document;
}

/** An operation with no bearer token says so (`security: []`): sign-in, public links, health. */
function describePublicOperations(document: OpenAPIObject): void {
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations) as Array<{ security?: unknown[] } | undefined>) {
      if (operation && typeof operation === 'object' && 'responses' in operation) operation.security ??= [];
    }
  }
}

const UUID = { type: 'string', format: 'uuid' };

/** What the path's ids are (src/shared/params.ts and the routes' pipes): a malformed one answers 404, like an unknown one (R-SEC-1). */
const PATH_PARAMETERS: Record<string, Record<string, unknown>> = {
  org: UUID,
  user: UUID,
  grant: UUID,
  session: UUID,
  partner: UUID,
  key: UUID,
  job: UUID,
  invitation: { type: 'string', pattern: '^[A-Za-z0-9_-]{8,64}$' },
  role: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
  id: { type: 'string', maxLength: 100, description: 'a dead letter’s id' },
};

function describePathParameters(document: OpenAPIObject): void {
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations) as Array<{ parameters?: Array<{ in?: string; name?: string; schema?: unknown }> }>) {
      for (const parameter of operation?.parameters ?? []) {
        if (parameter.in === 'path' && parameter.name && PATH_PARAMETERS[parameter.name]) parameter.schema = PATH_PARAMETERS[parameter.name];
      }
    }
  }
}

/**
 * SPEC 3.1's headers on every operation they apply to (issue 18): Idempotency-Key
 * on every POST, Gatehouse-Min-Position on every GET, X-Correlation-Id everywhere.
 */
function describeConventionHeaders(document: OpenAPIObject): void {
  const header = (name: string, description: string, schema: Record<string, unknown>) => ({ name, in: 'header' as const, required: false, description, schema });
  const parameters = {
    CorrelationId: header('X-Correlation-Id', 'echoed in the answer and carried by every event the request causes (R-AUD-1)', { type: 'string', maxLength: 100, pattern: '^[A-Za-z0-9._:-]{1,100}$' }),
    IdempotencyKey: header('Idempotency-Key', 'a retry with the same key within 24 h gets the first answer (`Idempotent-Replay: true`); the same key with another body is 422 idempotency_key_reused', { type: 'string', maxLength: 200 }),
    MinPosition: header('Gatehouse-Min-Position', 'answer only once the read models hold this position (a command’s `position`): read-your-writes, up to 5 s, else 503 read_model_behind', { type: 'string', pattern: '^[0-9]{1,20}$' }),
  };
  const ref = (name: keyof typeof parameters) => ({ $ref: `#/components/parameters/${name}` });
  const headers = { Position: { description: 'the global position of the command’s last event, when the answer has one (`position`)', schema: { type: 'string', pattern: '^[0-9]+$' } } };
  document.components = { ...document.components, parameters: { ...document.components?.parameters, ...parameters }, headers: { ...document.components?.headers, ...headers } };
  for (const operations of Object.values(document.paths)) {
    for (const [method, operation] of Object.entries(operations) as Array<[string, { parameters?: unknown[]; responses?: Record<string, { description?: string; headers?: Record<string, unknown> }> } | undefined]>) {
      if (!operation || !['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const extra = [ref('CorrelationId'), ...(method === 'post' ? [ref('IdempotencyKey')] : []), ...(method === 'get' ? [ref('MinPosition')] : [])];
      operation.parameters = [...(operation.parameters ?? []), ...extra];
      // A command's answer carries its position in a header too (SPEC 3.1).
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (/^2/.test(status) && !response.description) response.description = STATUS_CODES[Number(status)] ?? status;
        if (method !== 'get' && /^2/.test(status)) response.headers = { ...response.headers, 'Gatehouse-Position': { $ref: '#/components/headers/Position' } };
      }
    }
  }
}
