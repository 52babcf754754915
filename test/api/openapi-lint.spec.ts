import { createConfig, lintFromString } from '@redocly/openapi-core';
import { startApp, type TestApp } from '../support/app';

interface Operation {
  operationId?: string;
  summary?: string;
  responses?: Record<string, { content?: Record<string, { schema?: unknown }>; $ref?: string }>;
}

/**
 * Issue 18: the document a typed client is generated from passes a maintained OpenAPI linter
 * (Redocly's `recommended` rules) and describes every operation's answer.
 */
describe('the OpenAPI document, linted', () => {
  let t: TestApp;
  let document: { paths: Record<string, Record<string, Operation>> };
  beforeAll(async () => {
    t = await startApp();
    document = (await t.request('GET', '/docs/openapi.json')).body;
  });
  afterAll(() => t.close());

  type Response = { content?: Record<string, { schema?: unknown }>; $ref?: string };
  const resolve = (response: Response): Response => (response.$ref ? (document as unknown as { components: { responses: Record<string, Response> } }).components.responses[response.$ref.split('/').pop()!] : response);
  const operations = () => Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ path, method, operation })));

  it("has no problem Redocly's recommended rules find (errors and warnings)", async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: 'openapi.json', config });
    const found = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location.map((l) => l.pointer).join(', ')}`);
    expect(found).toEqual([]);
  });

  it('gives every operation a 2xx answer with a schema (or a described non-JSON body)', () => {
    const missing = operations()
      .filter(({ operation }) => {
        const success = Object.entries(operation.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
        return success.length === 0 || success.some(([, response]) => !response.content || Object.values(response.content).some((media) => !media.schema));
      })
      .map(({ path, method }) => `${method.toUpperCase()} ${path}`);
    expect(missing).toEqual([]);
  });

  it('names every operation with a readable, unique id and a summary', () => {
    const ids = operations().map(({ operation }) => operation.operationId);
    expect(ids.filter((id) => !id || !/^[a-z][A-Za-z0-9]+$/.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(operations().filter(({ operation }) => !operation.summary).map(({ path, method }) => `${method} ${path}`)).toEqual([]);
  });

  it('describes errors with the one ApiError schema, its code listing the catalogue (SPEC 3)', () => {
    const schemas = (document as unknown as { components: { schemas: Record<string, { properties: { code: { enum: string[] } } }> } }).components.schemas;
    expect(schemas.ApiError.properties.code.enum).toEqual(expect.arrayContaining(['validation_failed', 'not_found', 'access_disabled', 'at_in_future', 'no_stripe_customer', 'billing_not_configured']));
    // /health answers 503 with its own report, not an error (a load balancer reads it).
    for (const { path, method, operation } of operations().filter(({ path }) => path.startsWith('/v1/'))) {
      const errors = Object.entries(operation.responses ?? {}).filter(([status]) => status === 'default' || Number(status) >= 400);
      expect({ path, method, errors: errors.length > 0 }).toEqual({ path, method, errors: true });
      for (const [, response] of errors) expect(resolve(response).content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/ApiError' });
    }
  });
});
