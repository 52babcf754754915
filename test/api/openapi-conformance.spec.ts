import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { Secret, TOTP } from 'otpauth';
import { linkTokenFor, startWithSystemOrg, type OrgSession, type TestApp } from '../support/app';

type Json = any;

/**
 * The document says what the API answers (issue 18): every answer of a walk through the API, success or error,
 * is checked against the schema the OpenAPI document gives for its operation and status — with undocumented
 * properties refused — and its status must be one the operation lists.
 */
describe('the OpenAPI document matches what the API answers', () => {
  let t: TestApp;
  let system: OrgSession;
  let document: Json;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const seen = new Set<string>();
  const mismatches: string[] = [];

  /** Every object schema with properties refuses others: an answer with a field the document does not name fails. */
  const closed = (schema: Json): Json => {
    if (Array.isArray(schema)) return schema.map(closed);
    if (!schema || typeof schema !== 'object') return schema;
    const copy: Json = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closed(v)]));
    if (copy.properties && copy.additionalProperties === undefined) copy.additionalProperties = false;
    // OpenAPI 3.0's `nullable` beside an allOf/$ref, in JSON Schema: the value, or null.
    if (copy.nullable === true) {
      delete copy.nullable;
      return { anyOf: [copy, { enum: [null] }] };
    }
    return copy;
  };

  const routes: Array<{ pattern: RegExp; path: string }> = [];
  const validators = new Map<string, ValidateFunction>();

  beforeAll(async () => {
    ({ t, system } = await startWithSystemOrg());
    document = (await t.request('GET', '/docs/openapi.json')).body;
    ajv.addSchema({ components: { schemas: closed(document.components.schemas) } }, 'openapi.json');
    for (const path of Object.keys(document.paths)) routes.push({ path, pattern: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`) });
    // Literal paths first: /members/search is not /members/{user}.
    routes.sort((a, b) => (a.path.match(/\{/g)?.length ?? 0) - (b.path.match(/\{/g)?.length ?? 0));
  });
  afterAll(() => t.close());

  /** A request through the API, its answer checked against the document. */
  async function call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, options: Parameters<TestApp['request']>[2] = {}) {
    const response = await t.request(method, url, options);
    const path = url.split('?')[0];
    const route = routes.find((r) => r.pattern.test(path));
    const operation = route && document.paths[route.path][method.toLowerCase()];
    const where = `${method} ${route?.path ?? path} → ${response.status}`;
    if (!operation) {
      mismatches.push(`${where}: no such operation in the document`);
      return response;
    }
    seen.add(`${method} ${route!.path}`);
    const documented = operation.responses[String(response.status)];
    if (!documented) mismatches.push(`${where}: status not documented (${Object.keys(operation.responses).join(', ')})`);
    const described = documented ?? operation.responses.default;
    const schema = (described?.$ref ? document.components.responses[described.$ref.split('/').pop()] : described)?.content?.['application/json']?.schema;
    if (!schema) return response;
    const key = `${where}`;
    if (!validators.has(key)) validators.set(key, ajv.compile(rebase(closed(schema))));
    const validate = validators.get(key)!;
    if (!validate(response.body)) mismatches.push(`${where}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(response.body).slice(0, 400)}`);
    return response;
  }

  /** `#/components/…` inside an operation's schema points into the schemas added as openapi.json. */
  const rebase = (schema: Json): Json => JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"openapi.json#/components/'));

  it('holds for a walk through every area of the API, answers and errors alike', async () => {
    const created = await call('POST', '/v1/orgs', { body: { name: 'Conformance', preset: 'team', owner: { email: 'olive@example.com', firstName: 'Olive', lastName: 'Owner', password: 'correct horse battery' } } });
    const { orgId, token, ownerId } = created.body;
    const org = `/v1/orgs/${orgId}`;
    const as = (tok: string) => ({ token: tok });
    await call('GET', org, as(token));
    await call('GET', `${org}/roles`, as(token));
    const role = await call('POST', `${org}/roles`, { token, body: { name: 'Front desk', color: '#0891b2', description: 'Checks people in', permissions: ['users.list.any'] } });
    await call('PATCH', `${org}/roles/${role.body.roleId}`, { token, body: { description: 'Front of house' } });
    const location = await call('POST', `${org}/locations`, { token, body: { name: 'North' } });
    await call('PATCH', `${org}/policy`, { token, body: { invitationExpiryHours: 48 } });

    // Invitations, accepted from the mailbox link.
    const invited = await call('POST', `${org}/invitations`, { token, body: { email: 'grace@example.com', role: 'member' } });
    await call('GET', `${org}/invitations`, as(token));
    await call('POST', `${org}/invitations/${invited.body.invitationId}/resend`, as(token));
    const accepted = await call('POST', '/v1/invitations/accept', { body: { token: linkTokenFor(t, 'grace@example.com'), password: 'a long enough passphrase', firstName: 'Grace', lastName: 'Hopper' } });
    const grace = accepted.body.userId;
    const other = await call('POST', `${org}/invitations`, { token, body: { email: 'ivy@example.com' } });
    await call('DELETE', `${org}/invitations/${other.body.invitationId}`, as(token));
    await call('POST', '/v1/invitations/accept', { body: { token: linkTokenFor(t, 'ivy@example.com') } }); // revoked: 410

    // Members: create, list, detail, every action.
    const made = await call('POST', `${org}/members`, { token, body: { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', mode: 'temporary-password', role: 'member' } });
    const ada = made.body.userId;
    await call('POST', `${org}/members`, { token, body: { email: 'not an email', firstName: 'X', mode: 'setup-email' } }); // 400
    const member = `${org}/members/${ada}`;
    await call('GET', `${org}/members?sort=-joined&limit=1`, { token, headers: { 'gatehouse-min-position': made.body.position } }).then(async (page) => {
      if (page.body.nextCursor) await call('GET', `${org}/members?sort=-joined&limit=1&cursor=${page.body.nextCursor}`, as(token));
    });
    await call('GET', `${org}/members/search?q=ada`, as(token));
    await call('PATCH', member, { token, body: { notes: 'met at the door', phone: '+14155550123' } });
    await call('PUT', `${member}/role`, { token, body: { role: role.body.roleId, locations: [location.body.locationId] } });
    await call('PUT', `${member}/role`, { token, body: { role: 'owner' } }); // refused
    for (const action of ['disable', 'enable', 'pending', 'approve', 'ban', 'unban']) await call('POST', `${member}/${action}`, as(token));
    const grant = await call('POST', `${member}/grants`, { token, body: { permission: 'credits.adjust.any', reason: 'cover', expiresAt: new Date(Date.now() + 86_400_000).toISOString() } });
    await call('GET', member, as(token));
    await call('DELETE', `${member}/grants/${grant.body.grantId}`, as(token));
    await call('PUT', `${member}/access-code`, { token, body: { code: '480215' } });
    await call('PUT', `${member}/availability`, { token, body: { availability: 'on-call' } });
    await call('POST', `${member}/setup-link`, as(token));
    await call('POST', `${member}/password-reset`, as(token));
    await call('POST', `${member}/mfa-reset`, as(token));
    const temporary = await call('POST', `${member}/temporary-password`, as(token));
    await call('PUT', `${member}/password`, { token, body: { password: 'another long passphrase', mustChange: false } });
    await call('GET', `${member}/login-activity`, as(token));
    await call('GET', `${member}/permission-history`, as(token));
    await call('GET', `${member}/capabilities?at=${new Date().toISOString()}`, as(token));
    await call('GET', `${member}/capabilities?at=2999-01-01T00:00:00Z`, as(token)); // 422 at_in_future
    await call('GET', `${member}/preferences`, as(token));
    await call('GET', `${member}/stripe-balance`, as(token)); // 503 billing_not_configured
    const customer = await call('POST', `${org}/service-keys`, { token, body: { name: 'purchases', permissions: ['billing.manage.any'] } });
    await call('PUT', `${member}/stripe-customer`, { token: customer.body.key, body: { customerId: 'cus_NffrFeUfNV2Hib' } });
    await call('POST', `${member}/stripe-balance`, { token, body: { direction: 'credit', amountCents: 500, reason: 'goodwill', preview: true } }); // 503 billing_not_configured
    const leaving = await call('POST', `${org}/members`, { token, body: { email: 'leo@example.com', firstName: 'Leo', mode: 'setup-email' } });
    await call('DELETE', `${org}/members/${leaving.body.userId}`, as(token));
    // SPEC 5.6: a bulk import and its report (one good row, one refused).
    const job = await call('POST', `${org}/imports?mode=silent`, { token, payload: 'email,firstName,lastName,role\nbulk@example.com,Bo,Bulk,member\nnot-an-email,X,Y,member\n', headers: { 'content-type': 'text/csv' } });
    for (let tries = 0; tries < 50; tries++) {
      const report = await call('GET', `${org}/imports/${job.body.jobId}`, as(token));
      if (['done', 'failed'].includes(report.body.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // SPEC 5.1: every line of the history export is a HistoryLineDto.
    const history = await t.request('GET', `${org}/history`, as(token));
    seen.add('GET /v1/orgs/{org}/history');
    const line = ajv.compile(rebase(closed({ $ref: '#/components/schemas/HistoryLineDto' })));
    for (const text of (typeof history.body === 'string' ? history.body : JSON.stringify(history.body)).trim().split('\n')) if (!line(JSON.parse(text))) mismatches.push(`history line: ${ajv.errorsText(line.errors)} in ${text.slice(0, 300)}`);
    expect(history.status).toBe(200);
    await call('POST', `${org}/authorize`, { token, body: { principal: ada, permission: 'users.list.any' } });
    await call('GET', `${org}/members/${crypto.randomUUID()}`, as(token)); // 404
    expect(temporary.body.temporaryPassword).toEqual(expect.any(String));

    // Sign-in, sessions, MFA, the person's own account.
    const signedIn = await call('POST', '/v1/sessions', { body: { email: 'grace@example.com', password: 'a long enough passphrase' } });
    await call('POST', '/v1/sessions', { body: { email: 'grace@example.com', password: 'wrong' } }); // 401
    const me = signedIn.body.token;
    await call('GET', '/v1/me', as(me));
    await call('PATCH', '/v1/me', { token: me, body: { bio: 'Compilers' } });
    await call('GET', '/v1/me/sessions', as(me));
    await call('GET', '/v1/me/preferences', as(me));
    await call('PUT', '/v1/me/preferences', { token: me, body: { orgId, smsMarketing: true } });
    const enrollment = await call('POST', '/v1/me/mfa/totp', as(me));
    const verified = await call('POST', '/v1/me/mfa/totp/verify', { token: me, body: { code: new TOTP({ secret: Secret.fromBase32(enrollment.body.secret) }).generate() } });
    const challenge = await call('POST', '/v1/sessions', { body: { email: 'grace@example.com', password: 'a long enough passphrase' } });
    await call('POST', '/v1/sessions/mfa', { body: { challenge: challenge.body.challenge, code: verified.body.backupCodes[0] } });
    await call('POST', '/v1/sessions/mfa', { body: { challenge: challenge.body.challenge, code: verified.body.backupCodes[0] } }); // 401: used
    await call('PUT', '/v1/me/password', { token: me, body: { currentPassword: 'a long enough passphrase', newPassword: 'yet another passphrase' } });
    const again = await call('POST', '/v1/sessions', { body: { email: 'ada@example.com', password: 'another long passphrase' } });
    const sessions = await call('GET', '/v1/me/sessions', as(again.body.token));
    await call('DELETE', `/v1/me/sessions/${sessions.body.items[0].sessionId}`, as(again.body.token));
    await call('POST', '/v1/magic-links', { body: { email: 'ada@example.com' } });
    await call('POST', '/v1/magic-links/redeem', { body: { token: linkTokenFor(t, 'ada@example.com', 'magic-link') } });
    await call('POST', '/v1/password-resets', { body: { email: 'ada@example.com' } });
    await call('POST', '/v1/password-resets/redeem', { body: { token: linkTokenFor(t, 'ada@example.com', 'password-reset'), newPassword: 'the newest passphrase here' } });
    await call('DELETE', '/v1/me/sessions', as(me)); // 401 after: every session ended
    await call('GET', '/v1/me', as(me));

    // Consent links and the SMS gateway, service keys.
    const preferences = await call('GET', `${member}/preferences`, as(token));
    const unsubscribe = new URL(preferences.body.unsubscribeUrl);
    await call('GET', `/v1/unsubscribe${unsubscribe.search}`);
    await call('POST', `/v1/unsubscribe${unsubscribe.search}`);
    await call('GET', '/v1/unsubscribe?token=forged.token.here'); // 400 link_invalid
    const key = await call('POST', `${org}/service-keys`, { token, body: { name: 'sms gateway', permissions: ['users.update.any'] } });
    await call('POST', `${org}/sms/inbound`, { token: key.body.key, body: { from: '+14155550123', body: 'STOP' } });
    await call('POST', `${org}/sms/inbound`, { token: key.body.key, body: { from: '+14155550123', body: 'hello' } });
    await call('DELETE', `${org}/service-keys/${key.body.keyId}`, as(token));

    // Impersonation, ownership.
    const impersonating = await call('POST', `${member}/impersonation`, as(token));
    await call('DELETE', '/v1/impersonation', as(impersonating.body.token));
    await call('POST', `${org}/owner-transfer`, { token, body: { toUserId: grace } });
    const graceAgain = (await call('POST', '/v1/sessions', { body: { email: 'grace@example.com', password: 'yet another passphrase' } })).body;
    expect(graceAgain.mfaRequired).toBe(true);

    // Partners.
    const partner = await call('POST', '/v1/partners', { token, body: { name: 'Studio Partners' } });
    const p = `/v1/partners/${partner.body.partnerId}`;
    const partnerOrg = await call('POST', `${p}/orgs`, { token, body: { name: 'Client One' } });
    await call('GET', `${p}/orgs`, as(token));
    await call('POST', `${p}/users`, { token, body: { email: 'pat@example.com', firstName: 'Pat', lastName: 'Partner', mode: 'setup-email', orgs: [{ orgId: partnerOrg.body.orgId, role: 'org-user' }] } });

    // System administration, erasure.
    const admin = system.token;
    await call('GET', '/v1/system/orgs?q=conf', as(admin));
    await call('GET', '/v1/system/orgs', as(token)); // 403
    await call('POST', `/v1/system/orgs/${partnerOrg.body.orgId}/suspend`, { token: admin, body: { reason: 'unpaid' } });
    await call('POST', `/v1/system/orgs/${partnerOrg.body.orgId}/reactivate`, as(admin));
    await call('PUT', `/v1/system/orgs/${partnerOrg.body.orgId}/plan`, { token: admin, body: { plan: 'business', stripe: null } });
    await call('GET', '/v1/system/dead-letters', as(admin));
    await call('POST', '/v1/system/dead-letters/consumer:00000000-0000-0000-0000-000000000000/redrive', as(admin)); // 404
    await call('DELETE', `/v1/system/orgs/${partnerOrg.body.orgId}`, { token: admin, body: { confirmName: 'Client One' } });
    await call('POST', `/v1/system/users/${ada}/erase`, as(admin));
    const ivy = await call('POST', `${org}/members`, { token: graceAgain.token ?? token, body: { email: 'ivy2@example.com', firstName: 'Ivy', mode: 'set-password', password: 'ivy has a long passphrase' } });
    const ivySession = await call('POST', '/v1/sessions', { body: { email: 'ivy2@example.com', password: 'ivy has a long passphrase' } });
    await call('POST', '/v1/me/erase', { token: ivySession.body.token, body: { password: 'ivy has a long passphrase' } });
    expect(ivy.status).toBeLessThan(500);
    await call('GET', '/health/live');
    await call('GET', '/health');
    await call('POST', '/v1/identities/verified', { body: { provider: 'google', subject: 's', email: 'grace@example.com', emailVerified: true } }); // 401: no gateway key
    expect(ownerId).toEqual(expect.any(String));

    expect(mismatches).toEqual([]);
  }, 60_000);

  it('walked every operation of the document', () => {
    const all = Object.entries(document.paths).flatMap(([path, methods]: [string, Json]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    const unwalked = all.filter((op) => !seen.has(op));
    expect(unwalked).toEqual([]);
  });
});
