import { startApp, type TestApp } from '../support/app';

/** A browser UI on another origin (issue 18, SPEC 3.1): CORS for the origins CORS_ORIGINS names, and no other. */
describe('CORS for a console on another origin', () => {
  let t: TestApp;
  let closed: TestApp;
  beforeAll(async () => {
    t = await startApp({ CORS_ORIGINS: 'https://console.example.com,http://localhost:5173' });
    closed = await startApp();
  });
  afterAll(async () => {
    await t.close();
    await closed.close();
  });

  const preflight = (app: TestApp, origin: string) =>
    app.app.inject({ method: 'OPTIONS', url: '/v1/orgs', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' } });

  it('answers a named origin’s preflight with the headers SPEC 3.1 uses, and exposes Gatehouse-Position', async () => {
    const answer = await preflight(t, 'https://console.example.com');
    expect(answer.statusCode).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe('https://console.example.com');
    expect(String(answer.headers['access-control-allow-headers'])).toContain('idempotency-key');
    const read = await t.app.inject({ method: 'GET', url: '/health/live', headers: { origin: 'http://localhost:5173' } });
    expect(read.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(String(read.headers['access-control-expose-headers'])).toContain('gatehouse-position');
  });

  it('gives another origin, or a deployment with no CORS_ORIGINS, no CORS header at all', async () => {
    expect((await preflight(t, 'https://evil.example.com')).headers['access-control-allow-origin']).toBeUndefined();
    expect((await preflight(closed, 'https://console.example.com')).headers['access-control-allow-origin']).toBeUndefined();
    await expect(startApp({ CORS_ORIGINS: '*' })).rejects.toThrow(/CORS_ORIGINS must be origins/);
  });
});
