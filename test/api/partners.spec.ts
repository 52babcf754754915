import { createOrg, startApp, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';

describe('R-SYS-2 partners manage several orgs; a partner user holds different roles in different orgs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('walks seed 003: a partner, its orgs, a partner user in two orgs in one command, a partner admin', async () => {
    const founder = await createOrg(t); // any signed-in person may start a partner when SIGNUP=open
    const partner = await t.request('POST', '/v1/partners', { token: founder.token, body: { name: 'Studio Partners' } });
    expect(partner.status).toBe(201);
    const p = partner.body.partnerId as string;
    const o1 = await t.request('POST', `/v1/partners/${p}/orgs`, { token: founder.token, body: { name: 'Client One' } });
    const o2 = await t.request('POST', `/v1/partners/${p}/orgs`, { token: founder.token, body: { name: 'Client Two' } });
    expect([o1.status, o2.status]).toEqual([201, 201]);
    const [org1, org2] = [o1.body.orgId as string, o2.body.orgId as string];
    const listed = await t.request('GET', `/v1/partners/${p}/orgs`, { token: founder.token });
    expect(listed.body.items.map((o: { name: string; ownerId: string }) => [o.name, o.ownerId])).toEqual([['Client One', founder.ownerId], ['Client Two', founder.ownerId]]);

    // One command: a person with Org Admin in one org and Org User in the other.
    const user = await t.request('POST', `/v1/partners/${p}/users`, {
      token: founder.token,
      body: { email: 'pat@example.com', firstName: 'Pat', lastName: 'Partner', phone: '+14155550123', username: 'pat', mode: 'set-password', password: PASSWORD, mustChangePassword: true, orgs: [{ orgId: org1, role: 'org-admin' }, { orgId: org2, role: 'org-user' }] },
    });
    expect(user).toMatchObject({ status: 201, body: { addedExisting: false } });
    const pat = user.body.userId as string;
    expect((await t.request('GET', `/v1/orgs/${org1}/members/${pat}`, { token: founder.token })).body).toMatchObject({ role: 'org-admin', phone: '+14155550123', username: 'pat' });
    expect((await t.request('GET', `/v1/orgs/${org2}/members/${pat}`, { token: founder.token })).body.role).toBe('org-user');

    const session = await t.request('POST', '/v1/sessions', { body: { email: 'pat@example.com', password: PASSWORD } });
    expect(session.body.mustChangePassword).toBe(true);
    const patToken = session.body.token as string;
    expect((await t.request('PUT', '/v1/me/password', { token: patToken, body: { currentPassword: PASSWORD, newPassword: 'pats own phrase 13' } })).status).toBe(200);
    expect((await t.request('POST', `/v1/orgs/${org1}/invitations`, { token: patToken, body: { email: 'c1@example.com' } })).status).toBe(201);
    expect(await t.request('POST', `/v1/orgs/${org2}/invitations`, { token: patToken, body: { email: 'c2@example.com' } })).toMatchObject({ status: 403, body: { details: { permission: 'members.invite.any' } } });

    // Pat is no partner admin: the partner answers as if it did not exist, like a random id (R-SEC-1: no probing).
    expect((await t.request('GET', `/v1/partners/${p}/orgs`, { token: patToken })).status).toBe(404);
    expect((await t.request('POST', `/v1/partners/${p}/orgs`, { token: patToken, body: { name: 'Nope' } })).status).toBe(404);

    // A partner admin manages every org of the partner, even one it is no member of.
    const admin = await t.request('POST', `/v1/partners/${p}/users`, { token: founder.token, body: { email: 'ada@example.com', firstName: 'Ada', lastName: 'Admin', mode: 'set-password', password: PASSWORD, orgs: [{ orgId: org1, role: 'org-user' }], partnerAdmin: true } });
    expect(admin.status).toBe(201);
    const adaToken = (await t.request('POST', '/v1/sessions', { body: { email: 'ada@example.com', password: PASSWORD } })).body.token;
    expect((await t.request('GET', `/v1/orgs/${org2}`, { token: adaToken })).status).toBe(200);
    expect((await t.request('POST', `/v1/orgs/${org2}/invitations`, { token: adaToken, body: { email: 'c3@example.com' } })).status).toBe(201);
    expect((await t.request('GET', `/v1/partners/${p}/orgs`, { token: adaToken })).status).toBe(200);

    // An org outside the partner answers 404 (R-SEC-1); a role above the actor's is refused (R-ROLE-2).
    const outsider = await createOrg(t);
    expect(await t.request('POST', `/v1/partners/${p}/users`, { token: founder.token, body: { email: 'x@example.com', firstName: 'X', lastName: 'Y', mode: 'setup-email', orgs: [{ orgId: outsider.orgId }] } })).toMatchObject({ status: 404 });
    expect(await t.request('POST', `/v1/partners/${p}/users`, { token: patToken, body: { email: 'y@example.com', firstName: 'X', lastName: 'Y', mode: 'setup-email', orgs: [{ orgId: org1 }] } })).toMatchObject({ status: 404 });
  });
});
