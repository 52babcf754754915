import { Secret, TOTP } from 'otpauth';
import type { EventStore } from '../../infra/eventstore/port';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, manualClock, startApp, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';

describe('R-CRED-8 MFA over HTTP', () => {
  const clock = manualClock(new Date('2026-11-25T10:00:00.000Z'));
  let t: TestApp;
  let store: EventStore;
  beforeAll(async () => {
    t = await startApp({}, { clock });
    store = t.app.get(EVENT_STORE);
  });
  afterAll(() => t.close());

  const codeFor = (secret: string) => new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: clock().getTime() });
  const signIn = (email: string) => t.request('POST', '/v1/sessions', { body: { email, password: PASSWORD } });

  it('enrolls TOTP with a verification code, gives 10 single-use backup codes, then requires a second step at sign-in', async () => {
    const org = await createOrg(t);
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'mfa@example.com', firstName: 'Em', lastName: 'Fa', mode: 'set-password', password: PASSWORD } });
    const token = (await signIn('mfa@example.com')).body.token;

    const started = await t.request('POST', '/v1/me/mfa/totp', { token });
    expect(started).toMatchObject({ status: 201, body: { secret: expect.stringMatching(/^[A-Z2-7]{32}$/), otpauthUri: expect.stringContaining('otpauth://totp/') } });
    const secret = started.body.secret as string;
    expect(await t.request('POST', '/v1/me/mfa/totp/verify', { token, body: { code: '000000' } })).toMatchObject({ status: 401, body: { code: 'invalid_mfa_code' } });
    const verified = await t.request('POST', '/v1/me/mfa/totp/verify', { token, body: { code: codeFor(secret) } });
    expect(verified.status).toBe(200);
    const backupCodes = verified.body.backupCodes as string[];
    expect(new Set(backupCodes).size).toBe(10);

    // Password alone is no longer enough.
    clock.advance(30_000);
    const first = await signIn('mfa@example.com');
    expect(first.body).toEqual({ mfaRequired: true, challenge: expect.any(String), expiresAt: expect.any(String) });
    expect(await t.request('POST', '/v1/sessions/mfa', { body: { challenge: first.body.challenge, code: '123456' } })).toMatchObject({ status: 401, body: { code: 'invalid_mfa_code' } });
    const code = codeFor(secret);
    const second = await t.request('POST', '/v1/sessions/mfa', { body: { challenge: first.body.challenge, code } });
    expect(second).toMatchObject({ status: 201, body: { userId: created.body.userId, token: expect.any(String) } });
    // The challenge and the code each work once.
    expect((await t.request('POST', '/v1/sessions/mfa', { body: { challenge: first.body.challenge, code } })).status).toBe(410);
    const again = await signIn('mfa@example.com');
    expect((await t.request('POST', '/v1/sessions/mfa', { body: { challenge: again.body.challenge, code } })).status).toBe(401);

    // A backup code works once.
    expect((await t.request('POST', '/v1/sessions/mfa', { body: { challenge: again.body.challenge, code: backupCodes[3].toUpperCase() } })).status).toBe(201);
    const third = await signIn('mfa@example.com');
    expect((await t.request('POST', '/v1/sessions/mfa', { body: { challenge: third.body.challenge, code: backupCodes[3] } })).status).toBe(401);

    // R-CRED-1: neither the secret nor a backup code is in any event in clear.
    const all = JSON.stringify((await store.readAll(0n, { limit: 100_000 })).events.map((e) => e.data));
    expect(all).not.toContain(secret);
    for (const backup of backupCodes) expect(all).not.toContain(backup);

    // An admin's reset clears MFA and ends every session.
    const session = second.body.token;
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${created.body.userId}/mfa-reset`, { token: org.token })).status).toBe(200);
    expect((await t.request('GET', '/v1/me', { token: session })).status).toBe(401);
    clock.advance(1000);
    const plain = await signIn('mfa@example.com');
    expect(plain.body).toMatchObject({ token: expect.any(String), userId: created.body.userId });
    expect((await t.request('GET', '/v1/me', { token: plain.body.token })).body.mfaEnabled).toBe(false);
  });

  it('MfaReset needs users.credentials.any', async () => {
    const org = await createOrg(t);
    const m = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'plain-m@example.com', firstName: 'P', lastName: 'M', mode: 'set-password', password: PASSWORD } });
    const token = (await signIn('plain-m@example.com')).body.token;
    expect(await t.request('POST', `/v1/orgs/${org.orgId}/members/${org.ownerId}/mfa-reset`, { token })).toMatchObject({ status: 403, body: { details: { permission: 'users.credentials.any' } } });
    expect(m.status).toBe(201);
  });
});
