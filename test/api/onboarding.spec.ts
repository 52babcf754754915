import { createOrg, linkTokenFor, startWithSystemOrg, type OrgSession, type TestApp } from '../support/app';

const PASSWORD = 'a long passphrase 7';

/** SPEC 5.7: onboarding and access details from the seeds (000–003). */
describe('onboarding and access details (SPEC 5.7)', () => {
  let t: TestApp;
  let system: OrgSession;
  let org: OrgSession;

  beforeAll(async () => {
    ({ t, system } = await startWithSystemOrg());
    org = await createOrg(t, { name: 'Onboarding Gym' });
  });
  afterAll(() => t.close());

  const signIn = (body: Record<string, string>) => t.request('POST', '/v1/sessions', { body });
  const invite = async (email: string, target = org) => {
    expect((await t.request('POST', `/v1/orgs/${target.orgId}/invitations`, { token: target.token, body: { email } })).status).toBe(201);
    return linkTokenFor(t, email);
  };

  it('R-INV-4 an invitation accepted with no password makes an account without one, which sets its first password with no current one', async () => {
    const accepted = await t.request('POST', '/v1/invitations/accept', { body: { token: await invite('keyless@example.com'), firstName: 'Nora', lastName: 'Keyless' } });
    expect(accepted.status).toBe(200);
    const token = accepted.body.token as string;
    expect((await t.request('GET', '/v1/me', { token })).status).toBe(200);
    expect(await signIn({ email: 'keyless@example.com', password: PASSWORD })).toMatchObject({ status: 401, body: { code: 'invalid_credentials' } });
    expect((await t.request('PUT', '/v1/me/password', { token, body: { newPassword: PASSWORD } })).status).toBe(200);
    expect((await signIn({ email: 'keyless@example.com', password: PASSWORD })).status).toBe(201);
    // Once there is a password, changing it needs it.
    expect(await t.request('PUT', '/v1/me/password', { token, body: { newPassword: 'another long phrase 8' } })).toMatchObject({ status: 401, body: { code: 'invalid_credentials' } });
  });

  it('R-INV-4 an invitation to a suspended org cannot be accepted', async () => {
    const other = await createOrg(t, { name: 'Suspended Gym' });
    const token = await invite('to-suspended@example.com', other);
    expect((await t.request('POST', `/v1/system/orgs/${other.orgId}/suspend`, { token: system.token, body: { reason: 'unpaid' } })).status).toBe(200);
    expect(await t.request('POST', '/v1/invitations/accept', { body: { token, password: PASSWORD } })).toMatchObject({ body: { code: 'org_suspended' } });
    expect(await signIn({ email: 'to-suspended@example.com', password: PASSWORD })).toMatchObject({ status: 401 });
  });

  it('seed 003: signs in with a username as well as an email; one of them, not both', async () => {
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'joe@example.com', username: 'Climber.Joe', firstName: 'Joe', lastName: 'Climber', mode: 'set-password', password: PASSWORD } });
    expect(created.status).toBe(201);
    expect(await signIn({ username: 'climber.joe', password: PASSWORD })).toMatchObject({ status: 201, body: { userId: created.body.userId } });
    expect(await signIn({ username: 'climber.joe', password: 'not the password' })).toMatchObject({ status: 401, body: { code: 'invalid_credentials' } });
    expect(await signIn({ username: 'nobody.here', password: PASSWORD })).toMatchObject({ status: 401, body: { code: 'invalid_credentials' } });
    expect(await signIn({ username: 'climber.joe', email: 'joe@example.com', password: PASSWORD })).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    expect(await signIn({ password: PASSWORD })).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it('seed 001: a member made with one "Full Name" field needs no last name; seed 000: a staff-made account shows when it was asked in', async () => {
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'cher@example.com', firstName: 'Cher Sarkisian', mode: 'setup-email' } });
    expect(created.status).toBe(201);
    const detail = await t.request('GET', `/v1/orgs/${org.orgId}/members/${created.body.userId}`, { token: org.token, headers: { 'gatehouse-min-position': String(created.body.position) } });
    expect(detail.body).toMatchObject({ firstName: 'Cher Sarkisian', lastName: '' });
    expect(detail.body.invitedAt).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT/));
  });

  it('R-CODE-1 turning door access on gives every existing member a generated code, unique in the org', async () => {
    const gym = await createOrg(t, { name: 'Door Gym' });
    const ids: string[] = [gym.ownerId];
    for (const n of [1, 2, 3]) ids.push((await t.request('POST', `/v1/orgs/${gym.orgId}/members`, { token: gym.token, body: { email: `door${n}@example.com`, firstName: `Door${n}`, mode: 'setup-email' } })).body.userId);
    const on = await t.request('PATCH', `/v1/orgs/${gym.orgId}/policy`, { token: gym.token, body: { doorAccess: true } });
    expect(on.status).toBe(200);
    const codes = await Promise.all(ids.map(async (id) => (await t.request('GET', `/v1/orgs/${gym.orgId}/members/${id}`, { token: gym.token, headers: { 'gatehouse-min-position': String(on.body.position) } })).body.accessCode as string));
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    expect(new Set(codes).size).toBe(codes.length);
    // Turning it on again changes nothing: everyone has a code already.
    await t.request('PATCH', `/v1/orgs/${gym.orgId}/policy`, { token: gym.token, body: { doorAccess: false } });
    const again = await t.request('PATCH', `/v1/orgs/${gym.orgId}/policy`, { token: gym.token, body: { doorAccess: true } });
    const after = await Promise.all(ids.map(async (id) => (await t.request('GET', `/v1/orgs/${gym.orgId}/members/${id}`, { token: gym.token, headers: { 'gatehouse-min-position': String(again.body.position) } })).body.accessCode as string));
    expect(after).toEqual(codes);
  });

  it('seed 000: studio Staff resend a customer’s setup email ("Resend Invite") with their own permission, and set no passwords', async () => {
    const studio = await createOrg(t, { name: 'Resend Studio', preset: 'studio' });
    await t.request('POST', `/v1/orgs/${studio.orgId}/members`, { token: studio.token, body: { email: 'desk@example.com', firstName: 'Desk', lastName: 'Staff', role: 'staff', mode: 'set-password', password: PASSWORD } });
    const staff = (await signIn({ email: 'desk@example.com', password: PASSWORD })).body.token as string;
    const customer = await t.request('POST', `/v1/orgs/${studio.orgId}/members`, { token: studio.token, body: { email: 'lost.link@example.com', firstName: 'Lost', lastName: 'Link', role: 'user', mode: 'setup-email' } });
    const before = t.mailbox().filter((m) => m.to === 'lost.link@example.com' && m.template === 'setup').length;
    expect((await t.request('POST', `/v1/orgs/${studio.orgId}/members/${customer.body.userId}/setup-link`, { token: staff })).status).toBe(200);
    expect(t.mailbox().filter((m) => m.to === 'lost.link@example.com' && m.template === 'setup')).toHaveLength(before + 1);
    expect(await t.request('PUT', `/v1/orgs/${studio.orgId}/members/${customer.body.userId}/password`, { token: staff, body: { password: 'another long phrase 9' } })).toMatchObject({ status: 403 });
  });

  it('seed 001: a person edits their own name, phone and bio', async () => {
    await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'self.edit@example.com', firstName: 'Sel', lastName: 'Edit', mode: 'set-password', password: PASSWORD } });
    const token = (await signIn({ email: 'self.edit@example.com', password: PASSWORD })).body.token;
    const patched = await t.request('PATCH', '/v1/me', { token, body: { firstName: 'Selma', phone: '+14155550123', bio: 'Route setter' } });
    expect(patched.status).toBe(200);
    expect((await t.request('GET', '/v1/me', { token })).body).toMatchObject({ firstName: 'Selma', lastName: 'Edit', phone: '+14155550123', bio: 'Route setter' });
    expect(await t.request('PATCH', '/v1/me', { token, body: { phone: '555' } })).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    expect(await t.request('PATCH', '/v1/me', { token, body: { email: 'sneaky@example.com' } })).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it("seed 001: an admin changes a member's email, unique as at creation; the old one is free again; only the Owner edits the Owner", async () => {
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'old.address@example.com', firstName: 'Mo', lastName: 'Ved', mode: 'set-password', password: PASSWORD } });
    const userId = created.body.userId as string;
    await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'taken.address@example.com', firstName: 'Ta', lastName: 'Ken', mode: 'set-password', password: PASSWORD } });
    expect(await t.request('PATCH', `/v1/orgs/${org.orgId}/members/${userId}`, { token: org.token, body: { email: 'taken.address@example.com' } })).toMatchObject({ status: 409, body: { code: 'email_taken' } });
    const changed = await t.request('PATCH', `/v1/orgs/${org.orgId}/members/${userId}`, { token: org.token, body: { email: 'New.Address@example.com' } });
    expect(changed.status).toBe(200);
    expect((await signIn({ email: 'new.address@example.com', password: PASSWORD })).status).toBe(201);
    expect((await signIn({ email: 'old.address@example.com', password: PASSWORD })).status).toBe(401);
    const detail = await t.request('GET', `/v1/orgs/${org.orgId}/members/${userId}`, { token: org.token, headers: { 'gatehouse-min-position': String(changed.body.position) } });
    expect(detail.body.email).toBe('new.address@example.com');
    const reused = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'old.address@example.com', firstName: 'Fresh', lastName: 'Person', mode: 'set-password', password: PASSWORD } });
    expect(reused.status).toBe(201);
    expect(reused.body.userId).not.toBe(userId);

    const admin = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'an.admin@example.com', firstName: 'An', lastName: 'Admin', role: 'admin', mode: 'set-password', password: PASSWORD } });
    expect(admin.status).toBe(201);
    const adminToken = (await signIn({ email: 'an.admin@example.com', password: PASSWORD })).body.token;
    expect(await t.request('PATCH', `/v1/orgs/${org.orgId}/members/${org.ownerId}`, { token: adminToken, body: { email: 'hijack@example.com' } })).toMatchObject({ status: 403, body: { code: 'owner_protected' } });
    expect(await t.request('PATCH', `/v1/orgs/${org.orgId}/members/${org.ownerId}`, { token: adminToken, body: { firstName: 'Hijacked' } })).toMatchObject({ status: 403, body: { code: 'owner_protected' } });
  });
});
