import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Secret, TOTP } from 'otpauth';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createOrg, startWithSystemOrg, type OrgSession, type TestApp } from '../support/app';

/**
 * Issue 18: the console and the pages behind emailed links, in a real browser
 * (Debian's Chromium driven by playwright-core) against a listening Gatehouse.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PASSWORD = 'a long passphrase 7';
/** Screenshots of each main screen, kept by CI as artifacts (git-ignored; README, "The console"). */
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'console');

/** A refusal of the API that a test provokes on purpose: Chromium logs every 4xx answer as a console error. */
interface Refusal {
  status: number;
  path: RegExp;
}
/** The console asks GET /v1/system/orgs whether the person is a system admin (no other route says so): 403 for everyone else. */
const ALWAYS: Refusal[] = [{ status: 403, path: /^\/v1\/system\/orgs$/ }];

describe('the console in a browser (issue 18)', () => {
  let t: TestApp;
  let org: OrgSession;
  let system: OrgSession;
  let url: string;
  let browser: Browser;
  const people: Array<{ userId: string; email: string; firstName: string; lastName: string }> = [];
  /** Console errors and uncaught exceptions in any page of the current test: each test fails on them. */
  const problems: string[] = [];
  let refusals: Refusal[] = [];
  /** The API refusals the current test provokes on purpose (each still has to be one of these). */
  const expectRefusals = (...expected: Refusal[]) => void refusals.push(...expected);

  async function newPage(): Promise<Page> {
    const page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const status = /status of (\d{3})/.exec(message.text())?.[1];
      const path = message.location().url ? new URL(message.location().url).pathname : '';
      if (status && [...ALWAYS, ...refusals].some((r) => r.status === Number(status) && r.path.test(path))) return;
      problems.push(`${message.text()} (${path || 'no location'})`);
    });
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    return page;
  }
  afterEach(() => {
    const seen = problems.splice(0);
    refusals = [];
    expect(seen).toEqual([]);
  });

  /** A full-page screenshot under test-artifacts/console/. */
  const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH`);
    // The console as npm start serves it: built by Vite into dist/console (type-checked first).
    execFileSync('npm', ['run', '--silent', 'build:console'], { stdio: 'inherit' });
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    ({ t, system } = await startWithSystemOrg());
    const app = t.app as NestFastifyApplication;
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    org = await createOrg(t, { name: 'Boulder Barn', preset: 'studio' });
    for (let n = 0; n < 23; n++) {
      const person = { email: `climber${n}@example.com`, firstName: `Climber${String(n).padStart(2, '0')}`, lastName: n % 2 ? 'Alpha' : 'Beta' };
      const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { ...person, role: n === 0 ? 'staff' : 'user', mode: 'set-password', password: PASSWORD } });
      expect(created.status).toBe(201);
      people.push({ ...person, userId: created.body.userId });
    }
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${people[5].userId}/disable`, { token: org.token })).status).toBe(200);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'] });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function signIn(email: string, password: string): Promise<Page> {
    const page = await newPage();
    await page.goto(`${url}/console/`);
    await page.getByLabel('Email or username').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('combobox', { name: 'Organization' }).waitFor();
    return page;
  }

  async function signInToList(email: string, password: string): Promise<Page> {
    const page = await signIn(email, password);
    await page.locator('tbody tr').first().waitFor();
    return page;
  }

  /** Waits until the table shows exactly `n` rows (asked from here: the pages' CSP allows no evaluated script). */
  async function rows(page: Page, n: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (let seen = await page.locator('tbody tr').count(); seen !== n; seen = await page.locator('tbody tr').count()) {
      if (Date.now() > deadline) throw new Error(`the table shows ${seen} rows, not ${n}`);
      await page.waitForTimeout(50);
    }
  }
  const names = (page: Page) => page.locator('tbody tr td:first-child').allInnerTexts();

  it('R-LIST-2 an admin signs in and pages the members list by cursor, filters it, and enables a disabled member; the list shows the write at once (R-LIST-5)', async () => {
    const page = await signInToList(org.ownerEmail, 'correct horse battery');
    // 24 members (the Owner and 23), 20 a page, by name.
    const first = await names(page);
    expect(first).toHaveLength(20);
    await shot(page, 'members-list');
    expect(first).toEqual([...first].sort((a, b) => a.localeCompare(b)));
    await page.getByRole('button', { name: 'Next page' }).click();
    await rows(page, 4);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);

    await page.getByLabel('Status').selectOption('disabled');
    await rows(page, 1);
    const row = page.locator(`tr[data-user="${people[5].userId}"]`);
    expect(await row.locator('.status').innerText()).toBe('disabled');
    await row.getByRole('button', { name: 'Enable' }).click();
    // Read again after the write's position: the disabled filter now finds nobody.
    await rows(page, 0);
    await page.getByLabel('Status').selectOption('active');
    await page.locator(`tr[data-user="${people[5].userId}"] button`, { hasText: 'Disable' }).waitFor();
    const member = await t.request('GET', `/v1/orgs/${org.orgId}/members/${people[5].userId}`, { token: org.token });
    expect(member.body.status).toBe('active');
    await page.close();
  });

  it('R-LIST-3 Ctrl+K opens quick search from anywhere; picking a person narrows the list to them', async () => {
    const page = await signInToList(org.ownerEmail, 'correct horse battery');
    await page.keyboard.press('Control+k');
    await page.getByPlaceholder('Search people…').fill('climber07');
    await page.getByRole('dialog').getByRole('button', { name: /Climber07/ }).waitFor();
    await shot(page, 'quick-search');
    await page.getByRole('dialog').getByRole('button', { name: /Climber07/ }).click();
    await rows(page, 1);
    expect(await names(page)).toEqual(['Climber07 Alpha']);
    await page.close();
  });

  it('R-ROLE-1 actions the person may not take are not offered: Staff list members but neither disable them nor change roles', async () => {
    const page = await signInToList(people[0].email, PASSWORD);
    expect(await page.locator('tbody tr').count()).toBe(20);
    expect(await page.getByRole('button', { name: 'Disable' }).count()).toBe(0);
    expect(await page.locator('td select').count()).toBe(0);
    await page.close();
  });

  it('R-INV-1 the link in an invitation email opens a page that accepts it with a password and lands in the console', async () => {
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'newcomer@example.com', firstName: 'Nova' } })).status).toBe(201);
    const mail = t.mailbox().find((m) => m.to === 'newcomer@example.com' && m.template === 'invitation')!;
    const link = new URL(mail.link!);
    expect(link.pathname).toBe('/invitations/accept');
    const page = await newPage();
    const response = await page.goto(`${url}${link.pathname}${link.search}`);
    expect(response!.headers()['referrer-policy']).toBe('no-referrer');
    await page.getByLabel('Last name').waitFor();
    await shot(page, 'public-accept-invitation');
    await page.getByLabel('Last name').fill('Newcomer');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Accept and set password' }).click();
    await page.waitForURL(`${url}/console/`);
    await page.getByRole('combobox', { name: 'Organization' }).waitFor();
    expect(await page.getByRole('combobox', { name: 'Organization' }).innerText()).toContain('Boulder Barn');
    // A used link says so, with the API's code.
    expectRefusals({ status: 400, path: /^\/v1\/invitations\/accept$/ }, { status: 409, path: /^\/v1\/invitations\/accept$/ }, { status: 410, path: /^\/v1\/invitations\/accept$/ }, { status: 422, path: /^\/v1\/invitations\/accept$/ });
    const again = await newPage();
    await again.goto(`${url}${link.pathname}${link.search}`);
    await again.getByLabel('Password').fill(PASSWORD);
    await again.getByRole('button', { name: 'Accept and set password' }).click();
    expect(await again.getByRole('alert').innerText()).toMatch(/\((link_used|invitation_accepted|link_invalid)\)/);
    await page.close();
    await again.close();
  });

  it('R-INV-2 R-CRT-1 an admin invites from the console, sees the pending invitation and revokes it; creates a member with a temporary password shown once', async () => {
    const page = await signInToList(org.ownerEmail, 'correct horse battery');
    await page.getByLabel('Email', { exact: true }).fill('invited.from.console@example.com');
    await page.getByRole('button', { name: 'Invite' }).click();
    const pending = page.getByRole('table', { name: 'Pending invitations' });
    await pending.getByText('invited.from.console@example.com').waitFor();
    expect(t.mailbox().filter((m) => m.to === 'invited.from.console@example.com')).toHaveLength(1);
    await pending.locator('tr', { hasText: 'invited.from.console@example.com' }).getByRole('button', { name: 'Revoke' }).click();
    await pending.getByText('invited.from.console@example.com').waitFor({ state: 'detached' });

    await page.getByLabel('How').selectOption('temporary-password');
    await page.getByLabel('Email', { exact: true }).fill('temp.from.console@example.com');
    await page.getByLabel('First name').fill('Tempo');
    await page.getByRole('button', { name: 'Create' }).click();
    const shown = await page.getByRole('status').locator('code').innerText();
    expect(shown).toMatch(/^[A-Za-z0-9]{16}$/);
    // The temporary password works, once changed at first sign-in (R-CRED-4).
    expect((await t.request('POST', '/v1/sessions', { body: { email: 'temp.from.console@example.com', password: shown } })).body).toMatchObject({ mustChangePassword: true });
    await page.close();
  });

  it('R-LIST-4 R-ROLE-4 a member\'s detail shows profile and login activity, and a grant given there with an expiry appears in it and in the permission history', async () => {
    const target = people[9];
    expect((await t.request('POST', '/v1/sessions', { body: { email: target.email, password: PASSWORD } })).status).toBe(201);
    const page = await signInToList(org.ownerEmail, 'correct horse battery');
    await page.getByLabel('Search').fill(target.email);
    await page.getByRole('button', { name: `${target.firstName} ${target.lastName}` }).click();
    const detail = page.getByRole('complementary', { name: 'Member detail' });
    await detail.getByText(target.email).waitFor();
    await shot(page, 'member-detail-profile');
    await detail.getByRole('button', { name: 'Activity' }).click();
    await detail.getByRole('table', { name: 'Login activity' }).getByText('signed in').first().waitFor();
    await shot(page, 'member-detail-activity');
    await detail.getByRole('button', { name: 'Security' }).click();
    await detail.getByLabel('Permission').fill('credits.adjust.any');
    await detail.getByLabel('Reason').fill('covering the front desk');
    await detail.getByLabel('Until').fill('2099-01-01T12:00');
    await detail.getByRole('button', { name: 'Grant' }).click();
    await detail.getByText(/credits\.adjust\.any — covering the front desk/).waitFor();
    await shot(page, 'member-detail-security');
    await detail.getByRole('button', { name: 'Permission history' }).click();
    await detail.getByRole('list', { name: 'Permission history' }).getByText(/grant-given: credits\.adjust\.any/).waitFor();
    await shot(page, 'member-detail-permission-history');
    await page.close();
  });

  it('R-CRED-8 a person turns on two-step sign-in from My account (backup codes shown once), and the console then asks for the code at sign-in', async () => {
    const person = people[11];
    const page = await signIn(person.email, PASSWORD);
    await page.getByText('managing its people is for its admins').waitFor();
    await page.getByRole('button', { name: 'My account' }).click();
    await page.getByRole('button', { name: 'Set up two-step sign-in' }).click();
    const secret = await page.getByLabel('Secret').innerText();
    await page.getByLabel('The 6-digit code it shows').fill(new TOTP({ secret: Secret.fromBase32(secret) }).generate());
    await page.getByRole('button', { name: 'Turn on' }).click();
    const codes = await page.getByRole('list', { name: 'Backup codes' }).locator('code').allInnerTexts();
    expect(codes).toHaveLength(10);
    await shot(page, 'my-account-mfa');
    await page.close();

    const again = await newPage();
    await again.goto(`${url}/console/`);
    await again.getByLabel('Email or username').fill(person.email);
    await again.getByLabel('Password').fill(PASSWORD);
    await again.getByRole('button', { name: 'Sign in' }).click();
    await again.getByLabel('Code from your authenticator, or a backup code').fill(codes[0]);
    await again.getByRole('button', { name: 'Verify' }).click();
    await again.getByRole('combobox', { name: 'Organization' }).waitFor();
    await again.close();
  });

  it('R-PREF-2 the unsubscribe link opens a page in a browser, which unsubscribes on a click; an API client still gets the JSON preview', async () => {
    const person = people[12];
    const staffView = await t.request('GET', `/v1/orgs/${org.orgId}/members/${person.userId}/preferences`, { token: org.token });
    const link = new URL(staffView.body.unsubscribeUrl);
    const json = await fetch(`${url}${link.pathname}${link.search}`, { headers: { accept: 'application/json' } });
    expect(await json.json()).toMatchObject({ orgId: org.orgId, orgName: 'Boulder Barn', emailMarketing: true });
    const page = await newPage();
    await page.goto(`${url}${link.pathname}${link.search}`);
    await page.getByText('Stop marketing email from').waitFor();
    await shot(page, 'public-unsubscribe');
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/members/${person.userId}/preferences`, { token: org.token })).body.emailMarketing).toBe(true);
    await page.getByRole('button', { name: 'Unsubscribe' }).click();
    await page.getByRole('status').waitFor();
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/members/${person.userId}/preferences`, { token: org.token })).body.emailMarketing).toBe(false);
    await page.close();
  });

  it('R-ROLE-3 an admin makes a custom role with its color, description and permissions, then deactivates it', async () => {
    const page = await signInToList(org.ownerEmail, 'correct horse battery');
    await page.getByRole('button', { name: 'Roles' }).click();
    await page.getByRole('table', { name: 'Roles' }).getByText('Staff').waitFor();
    await page.getByLabel('Role name').fill('Route Setter');
    await page.getByLabel('Description', { exact: true }).fill('Sets the climbing routes');
    await page.getByLabel('Permissions').fill('users.list.any, schedules.manage.location');
    await page.getByRole('button', { name: 'Create role' }).click();
    const row = page.getByRole('table', { name: 'Roles' }).locator('tr', { hasText: 'Route Setter' });
    await row.getByText('users.list.any, schedules.manage.location').waitFor();
    await shot(page, 'roles');
    await row.getByRole('button', { name: 'Deactivate' }).click();
    await row.getByRole('button', { name: 'Activate' }).waitFor();
    const roles = await t.request('GET', `/v1/orgs/${org.orgId}/roles`, { token: org.token });
    expect(roles.body.items.find((r: { name: string }) => r.name === 'Route Setter')).toMatchObject({ active: false, description: 'Sets the climbing routes' });
    await page.close();
  });

  it('R-AUD-2 the audit view answers what a member could do at a past time, replayed: the role they held then, not now', async () => {
    const target = people[13];
    const before = new Date();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await t.request('PUT', `/v1/orgs/${org.orgId}/members/${target.userId}/role`, { token: org.token, body: { role: 'staff' } })).status).toBe(200);
    const page = await signInToList(org.ownerEmail, 'correct horse battery');
    await page.getByRole('button', { name: 'Audit' }).click();
    await page.getByLabel('User id').fill(target.userId);
    const local = new Date(before.getTime() - before.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    await page.getByLabel('At', { exact: true }).fill(local);
    await page.getByRole('button', { name: 'What could they do then?' }).click();
    await page.getByRole('region', { name: 'Capabilities' }).getByText(/Member: user, active/).waitFor();
    await shot(page, 'audit-capabilities');
    await page.close();
  });

  it('R-SYS-1 a system admin sees every org in the System view and suspends one; people without that standing get no System view', async () => {
    const other = await createOrg(t, { name: 'Crag Club' });
    const page = await signInToList(system.ownerEmail, 'correct horse battery');
    await page.getByRole('button', { name: 'System' }).click();
    const row = page.getByRole('table', { name: 'Organizations' }).locator(`tr[data-org="${other.orgId}"]`);
    await row.getByRole('button', { name: 'Suspend' }).click();
    await row.getByRole('button', { name: 'Reactivate' }).waitFor();
    await shot(page, 'system');
    expect((await t.request('GET', `/v1/system/orgs`, { token: system.token })).body.items.find((o: { orgId: string }) => o.orgId === other.orgId).status).toBe('suspended');
    await page.close();
    const owner = await signInToList(org.ownerEmail, 'correct horse battery');
    await owner.getByRole('button', { name: 'Roles' }).waitFor();
    expect(await owner.getByRole('button', { name: 'System' }).count()).toBe(0);
    await owner.close();
  });

  it('R-CRED-6 the sign-in page emails a sign-in link; the link\'s page signs in on a click', async () => {
    const person = people[14];
    const page = await newPage();
    await page.goto(`${url}/console/`);
    await page.getByLabel('Email or username').waitFor();
    await shot(page, 'sign-in');
    await page.getByLabel('Email or username').fill(person.email);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByRole('status').waitFor();
    let mail: { link?: string } | undefined;
    for (const deadline = Date.now() + 10_000; !mail && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) mail = t.mailbox().find((m) => m.to === person.email && m.template === 'magic-link');
    const link = new URL(mail!.link!);
    expect(link.pathname).toBe('/sign-in');
    await page.goto(`${url}${link.pathname}${link.search}`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await shot(page, 'public-magic-link');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${url}/console/`);
    await page.getByRole('combobox', { name: 'Organization' }).waitFor();
    await page.close();
  });

  it('the Owner adds a location, issues a service key shown once, and turns on door access codes in Settings', async () => {
    const page = await signInToList(org.ownerEmail, 'correct horse battery');
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('New location').fill('North Wall');
    await page.getByRole('button', { name: 'Add location' }).click();
    await page.getByRole('region', { name: 'Locations' }).getByText('North Wall').waitFor();
    await page.getByLabel('Key name').fill('purchase service');
    await page.getByLabel('Key permissions').fill('billing.manage.any');
    await page.getByRole('button', { name: 'Issue key' }).click();
    const key = await page.getByRole('region', { name: 'Service keys' }).getByRole('status').locator('code').innerText();
    expect(key.length).toBeGreaterThan(20);
    await page.getByLabel('Door access codes').check();
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      if ((await t.request('GET', `/v1/orgs/${org.orgId}`, { token: org.token })).body.policy.doorAccess) break;
    }
    expect((await t.request('GET', `/v1/orgs/${org.orgId}`, { token: org.token })).body).toMatchObject({ policy: { doorAccess: true }, locations: expect.arrayContaining([expect.objectContaining({ name: 'North Wall' })]) });
    await shot(page, 'settings');
    await page.close();
  });

  it('serves only the files of the build: unknown assets are 404, console routes fall back to the page', async () => {
    const missing = await fetch(`${url}/console/assets/../../package.json`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${url}/console/assets/nope.js`)).status).toBe(404);
    const deep = await fetch(`${url}/console/members/anything`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await deep.text()).toContain('<div id="root"></div>');
  });
});
