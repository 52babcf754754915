import { HTTP_ONLY, KafkaCommands } from '../../src/messaging/kafka-commands';
import { startApp, type TestApp } from '../support/app';

/**
 * SPEC 5.7: every command the HTTP API offers is also a command type on
 * gatehouse.commands (and so is `authorize`), so internal services never need HTTP.
 * Walks the OpenAPI document's routes: a new HTTP command with no Kafka type (no `@CommandType`
 * on its controller method) fails here.
 */
describe('every HTTP command is a Kafka command type (SPEC 5.7)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('SPEC 5.7 each non-GET route has a command type on gatehouse.commands, or says why not; each type names a real route', async () => {
    const document = (await t.request('GET', '/docs/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const http = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).filter((m) => m !== 'get').map((m) => `${m.toUpperCase()} ${path}`));
    expect(http.length).toBeGreaterThan(50);
    const routes = t.app.get(KafkaCommands).routes;
    const kafka = new Set(Object.values(routes).map((r) => `${r.method} ${r.path.split('?')[0]}`));
    expect(http.filter((route) => !kafka.has(route) && !HTTP_ONLY[route])).toEqual([]);
    expect([...kafka].filter((route) => !http.includes(route))).toEqual([]);
    expect(routes.authorize).toEqual({ method: 'POST', path: '/v1/orgs/{org}/authorize' });
  });
});
