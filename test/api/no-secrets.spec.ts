import { Secret, TOTP } from 'otpauth';
import type { EventStore } from '../../infra/eventstore/port';
import type { ReadStore } from '../../infra/readstore/port';
import { PROJECTIONS, ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE, READ_STORE } from '../../src/shared/tokens';
import { createOrg, linkTokenFor, startApp, type TestApp } from '../support/app';
import { CapturingLogger } from '../support/logger';


/**
 * R-CRED-1, R-SEC-2: after a scenario that uses every kind of secret, none of
 * them appears in clear in the event store, the read models or the logs.
 */
describe('no secret in clear anywhere', () => {
  const logger = new CapturingLogger();
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({}, { logger });
  });
  afterAll(() => t.close());

  it('R-CRED-1 R-SEC-2 scans events, read models and logs for every password, token, TOTP secret and backup code used', async () => {
    const secrets: string[] = [];
    const org = await createOrg(t);
    secrets.push('correct horse battery', org.token);
    const password = 'a long passphrase 7';
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'sec@example.com', firstName: 'Se', lastName: 'Cret', mode: 'set-password', password } });
    secrets.push(password);
    const temp = await t.request('POST', `/v1/orgs/${org.orgId}/members/${created.body.userId}/temporary-password`, { token: org.token });
    secrets.push(temp.body.temporaryPassword);
    const session = await t.request('POST', '/v1/sessions', { body: { email: 'sec@example.com', password: temp.body.temporaryPassword } });
    secrets.push(session.body.token);
    const ownPassword = 'my own new phrase 14';
    await t.request('PUT', '/v1/me/password', { token: session.body.token, body: { currentPassword: temp.body.temporaryPassword, newPassword: ownPassword } });
    secrets.push(ownPassword);
    const mfa = await t.request('POST', '/v1/me/mfa/totp', { token: session.body.token });
    secrets.push(mfa.body.secret);
    const verified = await t.request('POST', '/v1/me/mfa/totp/verify', { token: session.body.token, body: { code: new TOTP({ secret: Secret.fromBase32(mfa.body.secret) }).generate() } });
    secrets.push(...verified.body.backupCodes);
    await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'inv-sec@example.com' } });
    secrets.push(linkTokenFor(t, 'inv-sec@example.com'));
    await t.request('POST', '/v1/password-resets', { body: { email: org.ownerEmail } });
    secrets.push(linkTokenFor(t, org.ownerEmail, 'password-reset'));
    await t.request('POST', '/v1/magic-links', { body: { email: org.ownerEmail } });
    secrets.push(linkTokenFor(t, org.ownerEmail, 'magic-link'));
    const key = await t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: org.token, body: { name: 'svc', permissions: ['users.list.any'] } });
    secrets.push(key.body.key, key.body.key.split('.')[2]);
    const challenge = (await t.request('POST', '/v1/sessions', { body: { email: 'sec@example.com', password: ownPassword } })).body.challenge;
    secrets.push(challenge);
    await t.request('POST', '/v1/sessions', { body: { email: 'sec@example.com', password: 'a wrong guess here' } });
    secrets.push('a wrong guess here');
    expect(secrets.every((s) => typeof s === 'string' && s.length >= 10)).toBe(true);

    const events: EventStore = t.app.get(EVENT_STORE);
    const runner = t.app.get(ProjectionRunner);
    await runner.waitFor(await events.headPosition(), 5000);
    const readStore: ReadStore = t.app.get(READ_STORE);
    const everything = [
      JSON.stringify((await events.readAll(0n, { limit: 1_000_000 })).events, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
      ...(await Promise.all(PROJECTIONS.flatMap((p) => p.collections.map(async (c) => JSON.stringify(await readStore.find({ collection: runner.collection(c), where: {}, orderBy: [['id', 'asc']], limit: 1_000_000 })))))),
      ...logger.lines,
    ].join('\n');
    expect(everything.length).toBeGreaterThan(10_000);
    expect(logger.lines.length).toBeGreaterThan(10);
    expect(everything).toContain('sec@example.com'); // the scan does read the data it checks
    for (const secret of secrets) expect({ secret, found: everything.includes(secret) }).toEqual({ secret, found: false });
  });
});
