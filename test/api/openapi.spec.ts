import { startApp, type TestApp } from '../support/app';

/** The API description a typed client is generated from (issue 18): what it says must be what the API does. */
describe('the OpenAPI document', () => {
  let t: TestApp;
  type Parameter = { name: string; in: string } | { $ref: string };
  let document: { paths: Record<string, Record<string, { parameters?: Parameter[]; responses?: Record<string, unknown> }>>; components: { parameters: Record<string, { name: string; in: string }> } };
  beforeAll(async () => {
    t = await startApp();
    document = (await t.request('GET', '/docs/openapi.json')).body;
  });
  afterAll(() => t.close());

  const resolve = (p: Parameter) => ('$ref' in p ? document.components.parameters[p.$ref.replace('#/components/parameters/', '')] : p);
  const headers = (path: string, method: string) => (document.paths[path][method].parameters ?? []).map(resolve).filter((p) => p.in === 'header').map((p) => p.name);

  it('describes SPEC 3.1’s headers: Idempotency-Key on every POST, Gatehouse-Min-Position on every GET, X-Correlation-Id on all', () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) {
        expect({ path, method, correlation: headers(path, method).includes('X-Correlation-Id') }).toEqual({ path, method, correlation: true });
        if (method === 'post') expect({ path, idempotency: headers(path, method).includes('Idempotency-Key') }).toEqual({ path, idempotency: true });
        if (method === 'get') expect({ path, minPosition: headers(path, method).includes('Gatehouse-Min-Position') }).toEqual({ path, minPosition: true });
      }
    }
  });

  it('documents POST /v1/sessions as the 201 it answers', async () => {
    expect(Object.keys(document.paths['/v1/sessions'].post.responses ?? {}).filter((status) => /^2/.test(status))).toEqual(['201']);
  });
});
