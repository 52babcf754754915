import { createOrg, linkTokenFor, startApp, type TestApp } from '../support/app';

/**
 * Seed 001's Members tab, end to end over HTTP: create an org, invite, accept,
 * create with a temporary password, change a role, try to assign Owner (rejected),
 * disable self (rejected), disable another, enable, remove.
 */
describe("seed 001: the Members tab story", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('walks the whole story', async () => {
    const org = await createOrg(t, { name: 'Incident Co', preset: 'team' });
    const owner = org.token;
    const members = `/v1/orgs/${org.orgId}/members`;

    // Invite, and the invitee accepts by following the emailed link.
    const invited = await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: owner, body: { email: 'ines@example.com', role: 'admin', firstName: 'Ines' } });
    expect(invited.status).toBe(201);
    const accepted = await t.request('POST', '/v1/invitations/accept', { body: { token: linkTokenFor(t, 'ines@example.com'), password: 'a long passphrase 7', lastName: 'Ibarra' } });
    expect(accepted.status).toBe(200);
    const ines = accepted.body as { userId: string; token: string };
    expect((await t.request('GET', `${members}/${ines.userId}`, { token: owner })).body).toMatchObject({ email: 'ines@example.com', firstName: 'Ines', lastName: 'Ibarra', role: 'admin', status: 'active', approval: 'approved' });

    // Create directly with a temporary password, shown once.
    const created = await t.request('POST', members, { token: ines.token, body: { email: 'tom@example.com', firstName: 'Tom', lastName: 'Tran', mode: 'temporary-password' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ userId: expect.any(String), addedExisting: false, temporaryPassword: expect.stringMatching(/^[A-Za-z0-9]{16}$/) });
    const tom = created.body.userId as string;
    const signIn = await t.request('POST', '/v1/sessions', { body: { email: 'tom@example.com', password: created.body.temporaryPassword } });
    expect(signIn).toMatchObject({ status: 201, body: { userId: tom, mustChangePassword: true } });
    expect(t.mailbox().filter((m) => m.to === 'tom@example.com')).toEqual([]); // never emailed
    // The temporary password must be changed before anything else.
    expect((await t.request('PUT', '/v1/me/password', { token: signIn.body.token, body: { currentPassword: created.body.temporaryPassword, newPassword: 'toms own phrase 12' } })).status).toBe(200);

    // Change a role.
    expect((await t.request('PUT', `${members}/${tom}/role`, { token: ines.token, body: { role: 'admin' } })).status).toBe(200);
    expect((await t.request('GET', `${members}/${tom}`, { token: owner })).body.role).toBe('admin');

    // Assigning Owner is rejected.
    expect(await t.request('PUT', `${members}/${tom}/role`, { token: owner, body: { role: 'owner' } })).toMatchObject({ status: 422, body: { code: 'owner_not_assignable' } });

    // Disabling oneself is rejected.
    expect(await t.request('POST', `${members}/${ines.userId}/disable`, { token: ines.token })).toMatchObject({ status: 403, body: { code: 'cannot_disable_self' } });

    // Disable another: Tom loses access to the org at once (R-ROLE-8 / R-ACC-1).
    expect((await t.request('POST', `${members}/${tom}/disable`, { token: ines.token })).status).toBe(200);
    expect((await t.request('GET', `${members}/${tom}`, { token: owner })).body.status).toBe('disabled');
    expect(await t.request('GET', `${members}/${ines.userId}`, { token: signIn.body.token })).toMatchObject({ status: 403, body: { code: 'access_disabled' } });

    // Enable restores it.
    expect((await t.request('POST', `${members}/${tom}/enable`, { token: ines.token })).status).toBe(200);
    expect((await t.request('GET', `${members}/${ines.userId}`, { token: signIn.body.token })).status).toBe(200);

    // Remove: the membership ends; the org is then invisible to Tom (R-SEC-1).
    expect((await t.request('DELETE', `${members}/${tom}`, { token: ines.token })).status).toBe(200);
    expect(await t.request('GET', `${members}/${tom}`, { token: owner })).toMatchObject({ status: 404 });
    expect(await t.request('GET', `/v1/orgs/${org.orgId}`, { token: signIn.body.token })).toMatchObject({ status: 404 });
  });
});
