import type { LoggerService } from '@nestjs/common';
import { createOrg, startApp, type TestApp } from '../support/app';

/** Keeps every line as the app writes it: pino's JSON for requests, Nest's own messages as given. */
class Lines implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown) { this.lines.push(typeof message === 'string' ? message : JSON.stringify(message)); }
  error(message: unknown) { this.log(message); }
  warn(message: unknown) { this.log(message); }
}

describe('logs: one line per request, with its ids, and nothing secret or personal', () => {
  const logger = new Lines();
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({}, { logger });
  });
  afterAll(() => t.close());

  const requestLines = () => logger.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.req);

  it('a request line carries the request id and the correlation id the answer echoes', async () => {
    const answer = await t.request('GET', '/health', { headers: { 'x-correlation-id': 'corr-given-42' } });
    expect(answer.headers['x-correlation-id']).toBe('corr-given-42');
    const line = requestLines().find((l) => l.correlationId === 'corr-given-42');
    expect(line).toMatchObject({ level: expect.any(Number), req: { id: answer.headers['x-request-id'], method: 'GET', url: '/health' }, res: { statusCode: expect.any(Number) } });
    expect(line!.req.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('without X-Correlation-Id one is made up and echoed; an unusable one is replaced', async () => {
    const made = await t.request('GET', '/health');
    expect(made.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestLines().some((l) => l.correlationId === made.headers['x-correlation-id'])).toBe(true);
    const odd = await t.request('GET', '/health', { headers: { 'x-correlation-id': 'has spaces <and> more' } });
    expect(odd.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the events of a request name the correlation id its answer echoes', async () => {
    const org = await createOrg(t);
    const answer = await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'corr-invite@example.com' }, headers: { 'x-correlation-id': 'corr-invite-7' } });
    expect(answer.headers['x-correlation-id']).toBe('corr-invite-7');
    expect(requestLines().some((l) => l.correlationId === 'corr-invite-7' && l.req.method === 'POST')).toBe(true);
  });

  it("a sign-in's password, an authorization header and an email in the body never appear in the logs", async () => {
    const org = await createOrg(t);
    const password = 'correct horse battery'; // createOrg's Owner
    const session = await t.request('POST', '/v1/sessions', { body: { email: org.ownerEmail, password } });
    expect(session.status).toBe(201);
    await t.request('POST', '/v1/sessions', { body: { email: 'logged-not@example.com', password: 'a wrong guess 55' } });
    await t.request('GET', `/v1/orgs/${org.orgId}/members?search=${encodeURIComponent(org.ownerEmail)}`, { token: session.body.token });
    const all = logger.lines.join('\n');
    expect(requestLines().length).toBeGreaterThan(5);
    expect(all).toContain('/v1/sessions'); // the scan does read the sign-in's lines
    for (const secret of [password, 'a wrong guess 55', 'logged-not@example.com', org.ownerEmail, encodeURIComponent(org.ownerEmail), session.body.token, org.token, 'Bearer ']) {
      expect({ secret, found: all.includes(secret) }).toEqual({ secret, found: false });
    }
  });
});

describe('LOG_LEVEL and LOG_FORMAT', () => {
  it('LOG_LEVEL=warn keeps the 4xx line and drops the 200 one; LOG_FORMAT=text writes plain lines with the same ids', async () => {
    const logger = new Lines();
    const t = await startApp({ LOG_LEVEL: 'warn', LOG_FORMAT: 'text' }, { logger });
    try {
      await t.request('GET', '/health/live', { headers: { 'x-correlation-id': 'quiet-ok' } });
      const refused = await t.request('GET', '/v1/me', { headers: { 'x-correlation-id': 'loud-401', authorization: 'Bearer not-a-token-at-all' } });
      expect(refused.status).toBe(401);
      const all = logger.lines.join('\n');
      expect(all).not.toContain('quiet-ok');
      const line = logger.lines.find((l) => l.includes('correlationId=loud-401'));
      expect(line).toMatch(/^\S+Z WARN request completed reqId=[0-9a-f-]{36} /);
      expect(all).not.toContain('not-a-token-at-all');
    } finally {
      await t.close();
    }
  });
});
