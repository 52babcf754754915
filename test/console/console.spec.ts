import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
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

const ROOT = join(__dirname, '..', '..');
/** What the console's build is made from: its sources, the typed client, its Vite config, and the locked dependencies. */
const CONSOLE_SOURCES = [join(ROOT, 'src', 'console', 'web'), join(ROOT, 'src', 'client'), join(ROOT, 'src', 'console', 'vite.config.ts'), join(ROOT, 'package-lock.json')];
const newest = (path: string): number => (statSync(path).isDirectory() ? Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name)))) : statSync(path).mtimeMs);
/** The build in dist/console is newer than everything it is made from (a build costs ~20 s of CPU: not done twice for nothing). */
function consoleBuildIsCurrent(): boolean {
  const built = join(ROOT, 'dist', 'console', 'index.html');
  return existsSync(built) && statSync(built).mtimeMs > Math.max(...CONSOLE_SOURCES.map(newest));
}

/** A refusal of the API that a test provokes on purpose: Chromium logs every 4xx answer as a console error. */
interface Refusal {
  status: number;
  path: RegExp;
}

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
      if (status && refusals.some((r) => r.status === Number(status) && r.path.test(path))) return;
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
    // The console as npm start serves it: built by Vite into dist/console (type-checked first), unless that build is current.
    if (!consoleBuildIsCurrent()) execFileSync('npm', ['run', '--silent', 'build:console'], { stdio: 'inherit' });
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
    for (let seen = await page.locator('tr[data-user]').count(); seen !== n; seen = await page.locator('tr[data-user]').count()) {
      if (Date.now() > deadline) throw new Error(`the table shows ${seen} rows, not ${n}`);
      await page.waitForTimeout(50);
    }
  }
  const names = (page: Page) => page.locator('tr[data-user] td:first-child').allInnerTexts();

  /** Reloads until `selector` shows: for another person's write (an accepted invitation), which this page did not make. */
  async function afterReloads(page: Page, selector: string): Promise<void> {
    for (let tries = 0; ; tries++) {
      try {
        await page.locator(selector).first().waitFor({ timeout: 1_000 });
        return;
      } catch (error) {
        if (tries === 10) throw error;
        await page.reload();
      }
    }
  }
  /** The newest email of `template` to `to`, once the log has sent it. */
  async function mailTo(to: string, template: string): Promise<{ link?: string }> {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const mail = t.mailbox().filter((m) => m.to === to && m.template === template);
      if (mail.length) return mail[mail.length - 1];
    }
    throw new Error(`no ${template} email to ${to}`);
  }
  /** A datetime-local value (the browser's zone is this process's) `ms` from now. */
  const localIn = (ms: number) => {
    const at = new Date(Date.now() + ms);
    return new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  };

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

  it('R-ROLE-1 R-ROLE-2 actions the person may not take are not offered: Staff list members but neither disable, ban, remove nor change roles; they create members only with roles within their own permissions, and see no audit tabs', async () => {
    const page = await signInToList(people[0].email, PASSWORD);
    expect(await page.locator('tbody tr').count()).toBe(20);
    expect(await page.getByRole('button', { name: 'Disable' }).count()).toBe(0);
    expect(await page.locator('td select').count()).toBe(0);
    // Seed 000: Staff approve but do not ban; nor do they remove anyone.
    expect(await page.getByRole('button', { name: 'Ban', exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Remove' }).count()).toBe(0);
    // R-ROLE-2: Staff may create members, with no role carrying a permission they lack (Admin's), as the server answers.
    const options = page.getByLabel("New member's role").locator('option');
    await options.filter({ hasText: 'Staff' }).waitFor({ state: 'attached' });
    expect(await options.allInnerTexts()).toEqual(['Default role', 'Staff', 'User']);
    expect(await page.getByLabel('How').inputValue()).toBe('setup-email');
    expect(await page.getByRole('button', { name: 'Invite' }).count()).toBe(0);
    const staff = (await t.request('POST', '/v1/sessions', { body: { email: people[0].email, password: PASSWORD } })).body.token;
    const refused = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: staff, body: { email: 'would.be.admin@example.com', firstName: 'Would', role: 'admin', mode: 'temporary-password' } });
    expect(refused.status).toBe(403);
    // Their view of a member: no login activity or permission history (audit.read.any), no credentials or grants; preferences read-only.
    await page.getByRole('button', { name: `${people[1].firstName} ${people[1].lastName}` }).click();
    const detail = page.getByRole('complementary', { name: 'Member detail' });
    await detail.getByText(people[1].email).waitFor();
    expect(await detail.locator('nav button').allInnerTexts()).toEqual(['Profile', 'Security', 'Access codes', 'Preferences']);
    await detail.getByRole('button', { name: 'Security' }).click();
    await detail.getByText('Role ').first().waitFor();
    // Seed 000: Staff resend a setup email (users.resend-setup.any), nothing more over credentials or grants.
    expect(await detail.locator('form').count()).toBe(0);
    expect(await detail.locator('p button').allInnerTexts()).toEqual(['Resend setup email']);
    await detail.getByRole('button', { name: 'Access codes' }).click();
    expect(await detail.getByLabel('Custom code').count()).toBe(0);
    await shot(page, 'member-detail-as-staff');
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
    expectRefusals({ status: 400, path: /^\/v1\/invitations\/accept$/ }, { status: 410, path: /^\/v1\/invitations\/accept$/ });
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

  it('R-LIST-4 R-ROLE-4 a member\'s detail shows profile and login activity, and a grant given there with an expiry appears in it and in the permission history; the role changed and the grant revoked there', async () => {
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
    // Seed 001: the role changed from the detail's Security tab (the Owner role not offered there either); the grant revoked.
    await detail.getByRole('button', { name: 'Security' }).click();
    expect(await detail.getByLabel('Change role').locator('option').allInnerTexts()).toEqual(['Admin', 'Staff', 'User']);
    await detail.getByLabel('Change role').selectOption('staff');
    await detail.getByRole('button', { name: 'Update' }).click();
    await detail.getByText('Role staff, across the org', { exact: false }).waitFor();
    await detail.locator('li', { hasText: 'credits.adjust.any' }).getByRole('button', { name: 'Revoke' }).click();
    await detail.locator('li', { hasText: 'credits.adjust.any' }).waitFor({ state: 'detached' });
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/members/${target.userId}`, { token: org.token })).body).toMatchObject({ role: 'staff', grants: [] });
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
    // The history (SPEC 5.1), streamed as NDJSON and shown as a table: about this person, of one type, then from a later time.
    const history = page.getByRole('region', { name: 'History' });
    await history.getByLabel('About user').fill(target.userId);
    await history.getByLabel('Event types').fill('RoleChanged, AccessDisabled');
    await history.getByRole('button', { name: 'Show history' }).click();
    await history.getByRole('status').getByText('1 event.').waitFor();
    const line = history.getByRole('table', { name: 'Events' }).locator('tbody tr');
    expect(await line.locator('td').nth(2).innerText()).toBe('RoleChanged');
    expect(await line.locator('td').nth(5).innerText()).toContain('roleId: staff');
    await shot(page, 'audit-history');
    await history.getByLabel('From').fill(localIn(60_000));
    await history.getByRole('button', { name: 'Show history' }).click();
    await history.getByRole('status').getByText('No events match.').waitFor();
    await page.close();
  });

  it('R-SYS-1 a system admin sees every org in the System view and suspends one; people without that standing get no System view', async () => {
    const other = await createOrg(t, { name: 'Crag Club' });
    const page = await signInToList(system.ownerEmail, 'correct horse battery');
    await page.getByRole('button', { name: 'System' }).click();
    const row = page.getByRole('table', { name: 'Organizations' }).locator(`tr[data-org="${other.orgId}"]`);
    await row.getByRole('button', { name: 'Suspend' }).click();
    await row.getByRole('button', { name: 'Reactivate' }).waitFor();
    const plan = page.getByRole('region', { name: 'Plan' });
    await plan.getByLabel('Organization for the plan').selectOption(other.orgId);
    await plan.getByLabel('Plan', { exact: true }).fill('business');
    await plan.getByRole('button', { name: 'Change plan' }).click();
    await plan.getByRole('status').getByText('Crag Club is on the business plan, with no Stripe subscription.').waitFor();
    await shot(page, 'system');
    const changes = await fetch(`${url}/v1/orgs/${other.orgId}/history?types=PlanChanged`, { headers: { authorization: `Bearer ${system.token}` } });
    expect((await changes.text()).trim().split('\n').map((l) => JSON.parse(l).data.plan)).toEqual(['business']);
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

  it('seed 001, the Members tab by clicks: invite, accept from the mailbox link, create with a temporary password, change role (Owner never offered), edit a profile, disable, enable, remove (R-INV-1, R-CRT-1, R-ROLE-1, R-ACC-1, R-ACC-3)', async () => {
    const team = await createOrg(t, { name: 'Seed One Team', preset: 'team' });
    const page = await signInToList(team.ownerEmail, 'correct horse battery');
    // The Owner's own row offers nothing (R-ACC-2, R-ROLE-3), and the Owner role is never offered for a newcomer (R-ROLE-1).
    await rows(page, 1);
    expect(await page.locator('tr[data-user]').first().locator('button, select').count()).toBe(1); // the name, which opens the detail
    expect(await page.getByLabel("New member's role").locator('option').allInnerTexts()).toEqual(['Default role', 'Admin', 'Member']);

    await page.getByLabel('Email', { exact: true }).fill('ivy@example.com');
    await page.getByLabel('First name').fill('Ivy');
    await page.getByRole('button', { name: 'Invite' }).click();
    await page.getByRole('table', { name: 'Pending invitations' }).getByText('ivy@example.com').waitFor();
    const invited = new URL((await mailTo('ivy@example.com', 'invitation')).link!);
    const ivy = await newPage();
    await ivy.goto(`${url}${invited.pathname}${invited.search}`);
    await ivy.getByLabel('Last name').fill('Invited');
    await ivy.getByLabel('Password').fill(PASSWORD);
    await ivy.getByRole('button', { name: 'Accept and set password' }).click();
    await ivy.getByRole('combobox', { name: 'Organization' }).waitFor();
    await ivy.close();

    await page.getByLabel('How').selectOption('temporary-password');
    await page.getByLabel('Email', { exact: true }).fill('tom@example.com');
    await page.getByLabel('First name').fill('Tom');
    await page.getByRole('button', { name: 'Create' }).click();
    expect(await page.getByRole('status').locator('code').innerText()).toMatch(/^[A-Za-z0-9]{16}$/);

    await afterReloads(page, 'tr[data-user]:has-text("ivy@example.com")');
    const row = page.locator('tr[data-user]', { hasText: 'ivy@example.com' });
    const role = row.getByLabel('Role of ivy@example.com');
    expect(await role.locator('option').allInnerTexts()).toEqual(['Admin', 'Member']);
    await role.selectOption('admin');
    const ivyId = (await row.getAttribute('data-user'))!;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      if ((await t.request('GET', `/v1/orgs/${team.orgId}/members/${ivyId}`, { token: team.token })).body.role === 'admin') break;
    }
    expect((await t.request('GET', `/v1/orgs/${team.orgId}/members/${ivyId}`, { token: team.token })).body.role).toBe('admin');
    await rows(page, 3);
    await shot(page, 'members-seed-001');

    // Edit Profile: name, phone and internal notes, from the member's detail.
    await page.locator('tr[data-user]', { hasText: 'tom@example.com' }).getByRole('button', { name: /^Tom/ }).click();
    const detail = page.getByRole('complementary', { name: 'Member detail' });
    await detail.getByRole('button', { name: 'Edit profile' }).click();
    await detail.getByLabel('Last name').fill('Thumb');
    await detail.getByLabel('Phone (+E.164)').fill('+15555550123');
    await detail.getByLabel('Notes (admins only)').fill('prefers mornings');
    await detail.getByRole('button', { name: 'Save profile' }).click();
    await detail.getByText('prefers mornings').waitFor();
    expect(await detail.getByText('+15555550123').count()).toBe(1);
    await detail.getByRole('button', { name: 'Close' }).click();
    await page.locator('tr[data-user]', { hasText: 'Tom Thumb' }).waitFor();

    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByRole('button', { name: 'Enable' }).click();
    await row.getByRole('button', { name: 'Disable' }).waitFor();
    await row.getByRole('button', { name: 'Remove' }).click();
    await row.getByRole('button', { name: 'Confirm removal' }).click();
    await row.waitFor({ state: 'detached' });
    await rows(page, 2);
    expect((await t.request('GET', `/v1/orgs/${team.orgId}/members/${ivyId}`, { token: team.token })).status).toBe(404);
    await page.close();
  });

  it('seed 000 by clicks: approve a pending member from the Approval filter, ban them, set a custom access code (a run of digits refused by name), resend the setup email, give a grant that expires (R-ACC-4, R-ACC-5, R-CODE-2, R-CRT-4, R-ROLE-6)', async () => {
    const target = people[15];
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${target.userId}/pending`, { token: org.token })).status).toBe(200);
    const page = await signInToList(org.ownerEmail, 'correct horse battery');
    await page.getByLabel('Approval').selectOption('pending');
    await rows(page, 1);
    await page.locator(`tr[data-user="${target.userId}"]`).getByRole('button', { name: 'Approve' }).click();
    await rows(page, 0);
    await page.getByLabel('Approval').selectOption('');
    await page.getByLabel('Search').fill(target.email);
    await rows(page, 1);
    const row = page.locator(`tr[data-user="${target.userId}"]`);
    await row.getByRole('button', { name: 'Ban', exact: true }).click();
    await row.getByRole('button', { name: 'Unban' }).waitFor();
    expect(await row.locator('.status').innerText()).toBe('active, banned');
    expect((await t.request('GET', `/v1/orgs/${org.orgId}/members/${target.userId}`, { token: org.token })).body).toMatchObject({ approval: 'approved', banned: true });

    await row.getByRole('button', { name: `${target.firstName} ${target.lastName}` }).click();
    const detail = page.getByRole('complementary', { name: 'Member detail' });
    await detail.getByRole('button', { name: 'Access codes' }).click();
    expectRefusals({ status: 422, path: /\/access-code$/ });
    await detail.getByLabel('Custom code').fill('345678');
    await detail.getByRole('button', { name: 'Set custom code' }).click();
    expect(await detail.getByRole('alert').innerText()).toContain('(accesscode_sequential)');
    await detail.getByLabel('Custom code').fill('480215');
    await detail.getByRole('button', { name: 'Set custom code' }).click();
    await detail.locator('.code', { hasText: '480215' }).waitFor();
    await shot(page, 'member-detail-access-codes');

    await detail.getByRole('button', { name: 'Preferences' }).click();
    await detail.getByRole('region', { name: 'Preferences' }).getByText('subscribed').first().waitFor();
    await shot(page, 'member-detail-preferences');

    // Seed 000, R-CRT-4: resend the setup email.
    await detail.getByRole('button', { name: 'Security' }).click();
    await detail.getByRole('button', { name: 'Resend setup email' }).click();
    await detail.getByRole('status').getByText(`A setup email is on its way to ${target.email}.`).waitFor();
    await mailTo(target.email, 'setup');

    // A grant until a few seconds from now: it works, then stops working at its time, with no job run (R-ROLE-6).
    await detail.getByRole('button', { name: 'Security' }).click();
    await detail.getByLabel('Permission').fill('billing.manage.any');
    await detail.getByLabel('Reason').fill('one invoice run');
    await detail.getByLabel('Until').fill(localIn(3_000));
    await detail.getByRole('button', { name: 'Grant' }).click();
    await detail.getByText(/billing\.manage\.any — one invoice run \(until/).waitFor();
    const may = async () => (await t.request('POST', `/v1/orgs/${org.orgId}/authorize`, { token: org.token, body: { principal: target.userId, permission: 'billing.manage.any' } })).body.allowed;
    expect(await may()).toBe(true);
    await new Promise((r) => setTimeout(r, 3_100));
    expect(await may()).toBe(false);
    await detail.getByRole('button', { name: 'Close' }).click();
    await row.getByRole('button', { name: `${target.firstName} ${target.lastName}` }).click();
    await detail.getByRole('button', { name: 'Security' }).click();
    await detail.getByText(/billing\.manage\.any — one invoice run \(until .*, expired\)/).waitFor();
    await page.close();
  });

  it('R-ACC-1 a disabled member\'s console refuses them: their open console says so and offers nothing of that org, and signing in again is refused (access_disabled)', async () => {
    const person = people[16];
    const page = await signIn(person.email, PASSWORD);
    await page.getByText('managing its people is for its admins').waitFor();
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${person.userId}/disable`, { token: org.token })).status).toBe(200);
    // The org refuses them from now on (403 access_disabled on every route of it); asked once, if /v1/me had not caught up.
    expectRefusals({ status: 403, path: /\/authorize$/ }, { status: 403, path: /^\/v1\/sessions$/ });
    await page.reload();
    expect(await page.getByRole('alert').innerText()).toContain('Your access to Boulder Barn is disabled');
    expect(await page.getByRole('button', { name: 'Members' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Email or username').fill(person.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').innerText()).toContain('(access_disabled)');
    await shot(page, 'sign-in-refused');
    await page.close();
  });

  it('R-LIST-3 by keyboard alone: ⌘K or Ctrl+K opens the palette, Tab reaches the matches, Enter picks one, Escape closes it; a member\'s detail opens with focus in it and closes from the keyboard', async () => {
    const page = await signInToList(org.ownerEmail, 'correct horse battery');
    await page.keyboard.press('Meta+k');
    const palette = page.getByRole('dialog', { name: 'Quick search' });
    await page.keyboard.type('climber08');
    await palette.getByRole('button', { name: /Climber08/ }).waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await rows(page, 1);
    expect(await names(page)).toEqual(['Climber08 Beta']);
    // The detail opens from the keyboard, and focus is in it: its tabs are next, Enter on Close shuts it.
    await page.getByRole('button', { name: 'Climber08 Beta' }).focus();
    await page.keyboard.press('Enter');
    const detail = page.getByRole('complementary', { name: 'Member detail' });
    await detail.getByRole('button', { name: 'Close' }).waitFor();
    expect(await page.locator(':focus').innerText()).toBe('Close');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').innerText()).toBe('Security');
    await page.keyboard.press('Enter');
    await detail.getByText(/^Role /).waitFor();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await detail.waitFor({ state: 'detached' });
    await page.keyboard.press('Control+k');
    await palette.waitFor();
    await page.keyboard.press('Escape');
    await palette.waitFor({ state: 'detached' });
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
