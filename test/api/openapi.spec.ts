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

  it('carries the validators’ formats and limits into the schemas (class-validator → OpenAPI)', () => {
    const schemas = (document as unknown as { components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>> }> } }).components.schemas;
    expect(schemas.OwnerDto.properties.email).toMatchObject({ type: 'string', format: 'email', maxLength: 254 });
    expect(schemas.OwnerDto.properties.password).toMatchObject({ minLength: 10, maxLength: 128, writeOnly: true });
    expect(schemas.TransferOwnershipDto.properties.toUserId).toMatchObject({ format: 'uuid' });
    expect(schemas.GrantDto.properties.expiresAt).toMatchObject({ format: 'date-time' });
    expect(schemas.GrantDto.properties.reason).toMatchObject({ minLength: 1, maxLength: 500 });
    expect(schemas.CreateRoleDto.properties.permissions).toMatchObject({ type: 'array', maxItems: 100, items: { type: 'string', maxLength: 100 } });
    expect(schemas.CreateRoleDto.properties.color).toMatchObject({ pattern: '^#[0-9a-fA-F]{6}$' });
    expect(schemas.ChangePolicyDto.properties.invitationExpiryHours).toMatchObject({ type: 'integer', minimum: 1, maximum: 720 });
    expect(schemas.BalanceAdjustmentDto.properties.amountCents).toMatchObject({ type: 'integer', minimum: 1, maximum: 100_000_000 });
    const limit = (document.paths['/v1/orgs/{org}/members'].get.parameters as Array<{ name: string; schema?: Record<string, unknown> }>).find((p) => p.name === 'limit');
    expect(limit?.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 200 });
    const org = (document.paths['/v1/orgs/{org}'].get.parameters as Array<{ name: string; schema?: Record<string, unknown> }>).find((p) => p.name === 'org');
    expect(org?.schema).toEqual({ type: 'string', format: 'uuid' });
  });

  it('documents POST /v1/sessions as the 201 it answers', async () => {
    expect(Object.keys(document.paths['/v1/sessions'].post.responses ?? {}).filter((status) => /^2/.test(status))).toEqual(['201']);
  });
});
