import { connect, createServer, type AddressInfo } from 'node:net';
import type { EventStore } from '../../infra/eventstore/port';
import { InvalidConfiguration, loadSettings } from '../../src/config/config';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

/** Waits until the log stops moving: what consumers append after creating the org is not counted against a refusal. */
async function quiet(store: EventStore): Promise<void> {
  for (let still = 0, last = await store.headPosition(), tries = 0; still < 3 && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = await store.headPosition();
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

/** Nested arrays `depth` levels deep around `inner`. */
const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);

describe('input hardening over HTTP (R-SEC-5): every refusal a 4xx with a code, nothing reaches an event', () => {
  let t: TestApp;
  let store: EventStore;
  let org: OrgSession;

  beforeAll(async () => {
    t = await startApp();
    store = t.app.get(EVENT_STORE);
    org = await createOrg(t);
    await quiet(store);
  });
  afterAll(() => t.close());

  /** Runs `send` and expects it to append nothing to the log. */
  async function appendsNothing<T>(send: () => Promise<T>): Promise<T> {
    const before = await store.headPosition();
    const result = await send();
    expect(await store.headPosition()).toBe(before);
    return result;
  }

  const member = (user = org.ownerId) => `/v1/orgs/${org.orgId}/members/${user}`;

  describe('JSON nested deeper than 32 levels', () => {
    it('R-SEC-5 R-SEC-3 is refused with 400 too_deep on public routes, 2 500 levels included (was a 500: the validation pipe overflowed the stack)', async () => {
      for (const url of ['/v1/sessions', '/v1/magic-links', '/v1/password-resets', '/v1/orgs', '/v1/invitations/accept']) {
        for (const payload of [nested(2_500), `{"email":${nested(33)}}`, nested(100_000)]) {
          const answer = await appendsNothing(() => t.request('POST', url, { payload }));
          expect({ url, status: answer.status, code: answer.body?.code }).toEqual({ url, status: 400, code: 'too_deep' });
        }
      }
    });

    it('R-SEC-5 is refused with 400 too_deep on an authenticated route too, and brackets inside strings do not count', async () => {
      const deep = await appendsNothing(() => t.request('PATCH', member(), { token: org.token, payload: `{"bio":"x","notes":${nested(40, '{}')}}` }));
      expect(deep).toMatchObject({ status: 400, body: { code: 'too_deep', details: { maxDepth: 32 } } });
      const bracketsInAString = await t.request('PATCH', member(), { token: org.token, body: { bio: '['.repeat(100) + '{'.repeat(100) + '"\\[' } });
      expect(bracketsInAString.status).toBe(200);
    });

    it('R-SEC-5 32 levels is still parsed and answered by validation (validation_failed), not refused as too deep', async () => {
      const answer = await appendsNothing(() => t.request('POST', '/v1/sessions', { payload: `{"email":${nested(31)},"password":"x"}` }));
      expect(answer).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    });
  });

  describe('strings are well-formed Unicode', () => {
    const loneSurrogate = '{"email":"\\ud800@example.test","password":"correct horse battery"}';

    it('R-SEC-5 R-SEC-3 a lone surrogate in an email answers 400 malformed_unicode on the public routes (was a 500: URIError in the email validator)', async () => {
      for (const url of ['/v1/sessions', '/v1/magic-links', '/v1/password-resets']) {
        const answer = await appendsNothing(() => t.request('POST', url, { payload: loneSurrogate }));
        expect({ url, status: answer.status, code: answer.body?.code }).toEqual({ url, status: 400, code: 'malformed_unicode' });
      }
    });

    it('R-SEC-5 a lone surrogate anywhere (a nested field, a key, a low surrogate alone) answers 400 malformed_unicode on authenticated routes', async () => {
      const bodies = [
        [`/v1/orgs/${org.orgId}/invitations`, '{"email":"a\\udc00b@example.test"}'],
        [`/v1/orgs/${org.orgId}/members`, '{"email":"new@example.test","firstName":"A","lastName":"\\ud83d","mode":"setup-email"}'],
        [`/v1/orgs/${org.orgId}/locations`, '{"name":"ok","\\udfff":1}'],
        ['/v1/orgs', '{"name":"Acme","owner":{"email":"\\ud800@example.test","firstName":"A","lastName":"B","password":"correct horse battery"}}'],
      ];
      for (const [url, payload] of bodies) {
        const answer = await appendsNothing(() => t.request('POST', url, { token: org.token, payload }));
        expect({ url, status: answer.status, code: answer.body?.code }).toEqual({ url, status: 400, code: 'malformed_unicode' });
      }
    });

    it('R-SEC-5 bytes that are not UTF-8 answer 400 malformed_unicode; a surrogate pair (an emoji) is accepted', async () => {
      const invalid = await appendsNothing(() =>
        t.app.inject({ method: 'POST', url: '/v1/sessions', headers: { 'content-type': 'application/json' }, payload: Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xc3, 0x28]), Buffer.from('@example.test","password":"x"}')]) }),
      );
      expect({ status: invalid.statusCode, code: invalid.json().code }).toEqual({ status: 400, code: 'malformed_unicode' });
      const emoji = await t.request('PATCH', member(), { token: org.token, payload: '{"bio":"\\ud83d\\ude00 hello"}' });
      expect(emoji.status).toBe(200);
    });
  });

  describe('names and emails hold no control, bidirectional or invisible characters', () => {
    const unsafe = { NUL: '\u0000', 'a newline': '\n', 'RTL override': '\u202e', 'LTR mark': '\u200e', 'first strong isolate': '\u2068', 'zero-width space': '\u200b', 'zero-width joiner': '\u200d', 'word joiner': '\u2060', BOM: '\ufeff', DEL: '\u007f', 'a C1 control': '\u0085' };

    it.each(Object.entries(unsafe))('R-SEC-5 %s in a first or last name is refused with 400 validation_failed naming the field, nothing recorded', async (_name, char) => {
      for (const field of ['firstName', 'lastName']) {
        const answer = await appendsNothing(() => t.request('PATCH', member(), { token: org.token, body: { [field]: `Eve${char}gnp` } }));
        expect(answer).toMatchObject({ status: 400, body: { code: 'validation_failed', details: { fields: [expect.objectContaining({ field })] } } });
      }
    });

    it.each(Object.entries(unsafe))('R-SEC-5 %s in an email is refused with 400 validation_failed, on public and admin routes alike', async (_name, char) => {
      const email = `eve${char}@example.test`;
      const asked = [
        t.request('POST', '/v1/magic-links', { body: { email } }),
        t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email } }),
        t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email, firstName: 'Eve', lastName: 'Adams', mode: 'setup-email' } }),
      ];
      const before = await store.headPosition();
      for (const answer of await Promise.all(asked)) expect(answer).toMatchObject({ status: 400, body: { code: 'validation_failed', details: { fields: [expect.objectContaining({ field: 'email' })] } } });
      expect(await store.headPosition()).toBe(before);
    });

    it('R-SEC-5 org, location, role and service-key names are plain text too; accented and non-Latin names are fine', async () => {
      const refused = [
        t.request('POST', '/v1/orgs', { body: { name: 'Acme\u202e', owner: { email: 'fresh-owner@example.test', firstName: 'Ada', lastName: 'Lovelace', password: 'correct horse battery' } } }),
        t.request('POST', `/v1/orgs/${org.orgId}/locations`, { token: org.token, body: { name: 'North\u0000' } }),
        t.request('POST', `/v1/orgs/${org.orgId}/roles`, { token: org.token, body: { name: 'Desk\u200b', color: '#0891b2', description: '', permissions: [] } }),
        t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: org.token, body: { name: 'bot\u2066', permissions: [] } }),
      ];
      const before = await store.headPosition();
      for (const answer of await Promise.all(refused)) expect(answer).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
      expect(await store.headPosition()).toBe(before);
      const fine = await t.request('PATCH', member(), { token: org.token, body: { firstName: 'Zoë', lastName: 'Ōtani-محمد 李' } });
      expect(fine.status).toBe(200);
    });
  });

  describe('null never passes for a field that may only be left out', () => {
    it('R-SEC-5 PATCH {"lastName": null} and {"username": null} answer 400 validation_failed and record nothing (were 200 with a null name, and 500)', async () => {
      for (const field of ['lastName', 'firstName', 'username', 'phone', 'bio', 'notes']) {
        const answer = await appendsNothing(() => t.request('PATCH', member(), { token: org.token, body: { [field]: null } }));
        expect({ field, status: answer.status, code: answer.body?.code }).toEqual({ field, status: 400, code: 'validation_failed' });
        expect(answer.body.details.fields).toEqual([expect.objectContaining({ field })]);
      }
    });

    it('R-SEC-5 null for optional fields of other routes answers 400 validation_failed too', async () => {
      const asked = [
        t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'nulls@example.test', role: null } }),
        t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'nulls@example.test', firstName: 'N', lastName: 'U', mode: 'setup-email', locations: null } }),
        t.request('PATCH', `/v1/orgs/${org.orgId}/policy`, { token: org.token, body: { invitationExpiryHours: null } }),
        t.request('POST', '/v1/orgs', { body: { name: 'Nulls', preset: null, owner: { email: 'nulls-owner@example.test', firstName: 'N', lastName: 'U', password: 'correct horse battery' } } }),
        t.request('POST', '/v1/invitations/accept', { body: { token: 'x'.repeat(40), firstName: null } }),
      ];
      const before = await store.headPosition();
      for (const answer of await Promise.all(asked)) expect(answer).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
      expect(await store.headPosition()).toBe(before);
    });

    it('R-SEC-5 after a refused null the members list still follows a valid change', async () => {
      await t.request('PATCH', member(), { token: org.token, body: { lastName: null } });
      const changed = await t.request('PATCH', member(), { token: org.token, body: { lastName: 'Afterwards' } });
      expect(changed.status).toBe(200);
      const list = await t.request('GET', `/v1/orgs/${org.orgId}/members`, { token: org.token, headers: { 'gatehouse-min-position': changed.body.position } });
      expect(list.status).toBe(200);
      expect(list.body.items.map((m: unknown) => JSON.stringify(m))).toEqual([expect.stringContaining('Afterwards')]);
    });
  });

  describe('a body is a JSON object', () => {
    it('R-SEC-5 null, an array, a string or a number as the whole body answers 400 validation_failed (null passed as {}: PATCH answered 200)', async () => {
      for (const payload of ['null', '[]', '[{"lastName":"X"}]', '"text"', '42', 'true']) {
        const answer = await appendsNothing(() => t.request('PATCH', member(), { token: org.token, payload }));
        expect({ payload, status: answer.status, code: answer.body?.code }).toEqual({ payload, status: 400, code: 'validation_failed' });
      }
    });
  });

  describe('JSON is UTF-8 without a byte-order mark', () => {
    const body = '{"email":"someone@example.test","password":"correct horse battery"}';

    it('R-SEC-5 a byte-order mark before JSON answers 400 malformed_json', async () => {
      const answer = await appendsNothing(() => t.request('POST', '/v1/sessions', { payload: `\ufeff${body}` }));
      expect(answer).toMatchObject({ status: 400, body: { code: 'malformed_json' } });
    });

    it.each(['utf-16', 'UTF-16LE', '"iso-8859-1"', 'latin1'])('R-SEC-5 content-type application/json; charset=%s answers 415 unsupported_media_type', async (charset) => {
      const answer = await appendsNothing(() => t.request('POST', '/v1/sessions', { payload: body, headers: { 'content-type': `application/json; charset=${charset}` } }));
      expect(answer).toMatchObject({ status: 415, body: { code: 'unsupported_media_type' } });
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml'])('R-SEC-5 a body of type %s answers 415 unsupported_media_type', async (contentType) => {
      const answer = await appendsNothing(() => t.request('PATCH', member(), { token: org.token, payload: 'lastName=x', headers: { 'content-type': contentType } }));
      expect(answer).toMatchObject({ status: 415, body: { code: 'unsupported_media_type' } });
    });

    it('R-SEC-5 charset=utf-8 (any case, quoted) and no charset are accepted', async () => {
      for (const contentType of ['application/json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) {
        const answer = await t.request('POST', '/v1/sessions', { payload: body, headers: { 'content-type': contentType } });
        expect({ contentType, code: answer.body.code }).toEqual({ contentType, code: 'invalid_credentials' });
      }
    });
  });

  describe("Fastify's own refusals are in the API's error shape", () => {
    const shape = { code: expect.stringMatching(/^[a-z_]+$/), message: expect.any(String) };

    it('R-SEC-5 a path parameter over the length limit answers 414 uri_too_long, not FST_ERR_MAX_PARAM_LENGTH', async () => {
      const answer = await t.request('GET', `/v1/orgs/${'a'.repeat(500)}`, { token: org.token });
      expect(answer).toMatchObject({ status: 414, body: { ...shape, code: 'uri_too_long' } });
      expect(JSON.stringify(answer.body)).not.toMatch(/FST_|statusCode/);
    });

    it('R-SEC-5 a URL that does not decode answers 400 malformed_url', async () => {
      const answer = await t.request('GET', `/v1/orgs/%E0%A4%A`, { token: org.token });
      expect(answer).toMatchObject({ status: 400, body: { ...shape, code: 'malformed_url' } });
      expect(JSON.stringify(answer.body)).not.toMatch(/FST_|statusCode/);
    });

    it('R-SEC-5 headers over the size limit answer 431 headers_too_large on a real socket', async () => {
      await t.app.listen(0, '127.0.0.1');
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(`GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${'a'.repeat(40_000)}\r\n\r\n`));
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString()));
        socket.on('close', () => resolve(text));
        socket.on('error', (error) => (text ? resolve(text) : reject(error)));
      });
      const [head, json] = raw.split('\r\n\r\n');
      expect(head).toMatch(/^HTTP\/1\.1 431 /);
      expect(JSON.parse(json)).toEqual({ code: 'headers_too_large', message: expect.any(String) });
    });
  });
});

describe('/metrics is configurable (R-SEC-5: nothing public that need not be)', () => {
  const freePort = () =>
    new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });

  it('METRICS_TOKEN: /metrics answers 401 unauthenticated without the bearer token or with a wrong one, 200 with it', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const t = await startApp({ METRICS_TOKEN: token });
    try {
      expect(await t.request('GET', '/metrics')).toMatchObject({ status: 401, body: { code: 'unauthenticated' } });
      expect(await t.request('GET', '/metrics', { token: `${token}x` })).toMatchObject({ status: 401, body: { code: 'unauthenticated' } });
      const scraped = await t.request('GET', '/metrics', { token });
      expect(scraped.status).toBe(200);
      expect(scraped.body).toContain('gatehouse_projection_lag_seconds');
    } finally {
      await t.close();
    }
  });

  it('METRICS_PORT: /metrics is served on its own port (with the token when set) and is not on the API port', async () => {
    const port = await freePort();
    const token = 'metrics-token-0123456789abcdef';
    const t = await startApp({ METRICS_PORT: String(port), METRICS_TOKEN: token, HOST: '127.0.0.1' });
    try {
      expect(await t.request('GET', '/metrics', { token })).toMatchObject({ status: 404, body: { code: 'not_found' } });
      const scraped = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('gatehouse_projection_lag_seconds');
      const anonymous = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect({ status: anonymous.status, body: await anonymous.json() }).toEqual({ status: 401, body: { code: 'unauthenticated', message: expect.any(String) } });
      const elsewhere = await fetch(`http://127.0.0.1:${port}/v1/orgs`);
      expect({ status: elsewhere.status, code: ((await elsewhere.json()) as { code: string }).code }).toEqual({ status: 404, code: 'not_found' });
    } finally {
      await t.close();
    }
    // Closed with the app: the port is free again.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('a wrong METRICS_TOKEN or METRICS_PORT stops start-up with a message naming it, never printing the token', () => {
    const secret = 'short secret';
    let message = '';
    try {
      loadSettings({ METRICS_TOKEN: secret, METRICS_PORT: 'ninety' });
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfiguration);
      message = (error as Error).message;
    }
    expect(message).toContain('METRICS_TOKEN');
    expect(message).toContain('METRICS_PORT');
    expect(message).not.toContain(secret);
  });
});
