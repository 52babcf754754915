import type { EventStore } from '../../infra/eventstore/port';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';

/** Consent per person and per org (SPEC 5.4). */
describe('consent (R-PREF, SPEC 5.4)', () => {
  let t: TestApp;
  let org: OrgSession;
  let other: OrgSession;
  let member: { userId: string; token: string };

  beforeAll(async () => {
    t = await startApp({ PUBLIC_URL: 'https://gatehouse.example.com' });
    org = await createOrg(t, { name: 'Consent Climbing' });
    other = await createOrg(t, { name: 'Other Sender' });
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'mara@example.com', firstName: 'Mara', lastName: 'Kettle', phone: '+14155550199', mode: 'set-password', password: PASSWORD } });
    await t.request('POST', `/v1/orgs/${other.orgId}/members`, { token: other.token, body: { email: 'mara@example.com', firstName: 'Mara', lastName: 'Kettle', mode: 'setup-email' } });
    member = { userId: created.body.userId, token: (await t.request('POST', '/v1/sessions', { body: { email: 'mara@example.com', password: PASSWORD } })).body.token };
  });
  afterAll(() => t.close());

  const mine = async () => (await t.request('GET', '/v1/me/preferences', { token: member.token, headers: { 'gatehouse-min-position': String(await t.app.get<EventStore>(EVENT_STORE).headPosition()) } })).body.items as Array<Record<string, any>>;
  const inOrg = async () => (await mine()).find((i) => i.orgId === org.orgId)!;

  it('R-PREF-1 email marketing is opt-out and SMS opt-in, per org; each change is logged with its source and time', async () => {
    const items = await mine();
    expect(items.map((i) => i.orgName).sort()).toEqual(['Consent Climbing', 'Other Sender']);
    for (const item of items) expect(item).toMatchObject({ emailMarketing: true, smsMarketing: false, log: [] });

    const put = await t.request('PUT', '/v1/me/preferences', { token: member.token, body: { orgId: org.orgId, emailMarketing: false, smsMarketing: true } });
    expect(put).toMatchObject({ status: 200, body: { orgId: org.orgId, emailMarketing: false, smsMarketing: true } });
    const item = await inOrg();
    expect(item.log).toEqual([
      { channel: 'email', subscribed: false, source: 'preferences-page', at: expect.any(String) },
      { channel: 'sms', subscribed: true, source: 'preferences-page', at: expect.any(String) },
    ]);
    // The other org is another sender: untouched.
    expect((await mine()).find((i) => i.orgId === other.orgId)).toMatchObject({ emailMarketing: true, smsMarketing: false, log: [] });
    // The same again records nothing; an org one is not in is not there.
    await t.request('PUT', '/v1/me/preferences', { token: member.token, body: { orgId: org.orgId, emailMarketing: false } });
    expect((await inOrg()).log).toHaveLength(2);
    const stranger = await createOrg(t);
    expect(await t.request('PUT', '/v1/me/preferences', { token: member.token, body: { orgId: stranger.orgId, emailMarketing: false } })).toMatchObject({ status: 404 });
    expect(await t.request('PUT', '/v1/me/preferences', { token: member.token, body: { orgId: org.orgId, emailMarketing: 'no' } })).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it('R-PREF-4 staff with users.update.any see a member’s consent read-only, with a signed unsubscribe link; others may not', async () => {
    const shown = await t.request('GET', `/v1/orgs/${org.orgId}/members/${member.userId}/preferences`, { token: org.token });
    expect(shown).toMatchObject({ status: 200, body: { orgId: org.orgId, orgName: 'Consent Climbing', emailMarketing: false, unsubscribeUrl: expect.stringMatching(/^https:\/\/gatehouse\.example\.com\/v1\/unsubscribe\?token=/) } });
    expect(await t.request('GET', `/v1/orgs/${org.orgId}/members/${member.userId}/preferences`, { token: member.token })).toMatchObject({ status: 403 });
    expect(await t.request('GET', `/v1/orgs/${org.orgId}/members/${member.userId}/preferences`, { token: other.token })).toMatchObject({ status: 404 });
    expect(await t.request('PUT', `/v1/orgs/${org.orgId}/members/${member.userId}/preferences`, { token: org.token, body: { emailMarketing: true } })).toMatchObject({ status: 404 });
  });

  it('R-PREF-2 an unsubscribe link works without signing in, once or many times; a forged one is refused', async () => {
    const url = new URL((await t.request('GET', `/v1/orgs/${other.orgId}/members/${member.userId}/preferences`, { token: other.token })).body.unsubscribeUrl);
    const token = url.searchParams.get('token')!;
    const path = `/v1/unsubscribe?token=${encodeURIComponent(token)}`;
    expect(await t.request('GET', path)).toMatchObject({ status: 200, body: { orgId: other.orgId, orgName: 'Other Sender', channel: 'email', emailMarketing: true } });
    expect(await t.request('POST', path)).toMatchObject({ status: 200, body: { orgId: other.orgId, emailMarketing: false } });
    expect(await t.request('POST', path)).toMatchObject({ status: 200, body: { emailMarketing: false } });
    const item = (await mine()).find((i) => i.orgId === other.orgId)!;
    expect(item).toMatchObject({ emailMarketing: false, log: [{ channel: 'email', subscribed: false, source: 'unsubscribe-link', at: expect.any(String) }] });

    const [orgId, userId, signature] = token.split('.');
    const forged = [`${orgId}.${org.ownerId}.${signature}`, `${orgId}.${userId}.${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`, `${orgId}.${userId}`, 'nonsense'];
    for (const bad of forged) {
      expect(await t.request('POST', `/v1/unsubscribe?token=${encodeURIComponent(bad)}`)).toMatchObject({ status: 400, body: { code: 'link_invalid' } });
      expect(await t.request('GET', `/v1/unsubscribe?token=${encodeURIComponent(bad)}`)).toMatchObject({ status: 400, body: { code: 'link_invalid' } });
    }
  });

  it('R-PREF-2 inbound SMS keywords from the gateway’s service key: STOP and its kin turn SMS off, START on, anything else nothing', async () => {
    const key = (await t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: org.token, body: { name: 'sms-gateway', permissions: ['users.update.any'] } })).body.key as string;
    const weak = (await t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: org.token, body: { name: 'reader', permissions: ['users.list.any'] } })).body.key as string;
    const sms = (body: string, token = key, from = '+14155550199') => t.request('POST', `/v1/orgs/${org.orgId}/sms/inbound`, { token, body: { from, body } });
    expect((await inOrg()).smsMarketing).toBe(true);
    expect(await sms(' stop ')).toMatchObject({ status: 200, body: { action: 'stop', matched: 1 } });
    expect((await inOrg()).smsMarketing).toBe(false);
    for (const word of ['STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']) expect(await sms(word)).toMatchObject({ status: 200, body: { action: 'stop', matched: 1 } });
    expect(await sms('Hello there')).toMatchObject({ status: 200, body: { action: 'none', matched: 0 } });
    expect(await sms('UNSTOP')).toMatchObject({ status: 200, body: { action: 'start', matched: 1 } });
    expect((await inOrg()).smsMarketing).toBe(true);
    expect(await sms('START', key, '+14155550000')).toMatchObject({ status: 200, body: { action: 'start', matched: 0 } });
    expect((await inOrg()).log.filter((e: { channel: string }) => e.channel === 'sms').map((e: { source: string }) => e.source)).toEqual(['preferences-page', 'sms-stop', 'sms-start']);
    expect(await sms('STOP', weak)).toMatchObject({ status: 403 });
    expect(await sms('STOP', key, '555')).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it('R-PREF-3 transactional mail still goes to someone who opted out of marketing email', async () => {
    expect((await inOrg()).emailMarketing).toBe(false);
    const before = t.mailbox().filter((m) => m.to === 'mara@example.com').length;
    expect((await t.request('POST', '/v1/password-resets', { body: { email: 'mara@example.com' } })).status).toBe(202);
    const mail = t.mailbox().filter((m) => m.to === 'mara@example.com');
    expect(mail.length).toBe(before + 1);
    expect(mail[mail.length - 1].template).toBe('password-reset');
  });
});
