import type { LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app';
import { loadSettings } from '../../src/config/config';
import { ConsumerRunner } from '../../src/messaging/consumer-runner';

export interface TestApp {
  app: NestFastifyApplication;
  dataDir: string;
  request(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, options?: { token?: string; body?: unknown; payload?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  mailbox(): Array<{ to: string; template: string; subject: string; text: string; link?: string; sentAt: string }>;
  /** Stops the app; the data folder is removed unless kept (to start another app on it). */
  close(options?: { keepData?: boolean }): Promise<void>;
}

/** A whole Gatehouse over Fastify's inject, on a fresh data folder (and the given environment). */
export async function startApp(env: Record<string, string> = {}, options: { clock?: () => Date; logger?: LoggerService; dataDir?: string } = {}): Promise<TestApp> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'gatehouse-app-'));
  const settings = loadSettings({ DATA_DIR: dataDir, SQLITE_SYNCHRONOUS: 'normal', CONSUMER_RETRY_MS: '20', ...env });
  const app = await createApp({ settings, logger: options.logger ?? false, clock: options.clock });
  return {
    app,
    dataDir,
    async request(method, url, options = {}) {
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const payload = options.payload ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      if (payload !== undefined) headers['content-type'] ??= 'application/json';
      const response = await app.inject({ method, url, headers, payload });
      // Emails go out from the log, after the answer: a test reads the mailbox once they have.
      if (method !== 'GET') await app.get(ConsumerRunner).settled();
      const text = response.body;
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON: keep the text */
      }
      return { status: response.statusCode, body, headers: response.headers };
    },
    mailbox() {
      const folder = join(dataDir, 'mailbox');
      let files: string[] = [];
      try {
        files = readdirSync(folder).filter((f) => f.endsWith('.json')).sort();
      } catch {
        return [];
      }
      return files.map((f) => JSON.parse(readFileSync(join(folder, f), 'utf8')));
    },
    async close({ keepData = false } = {}) {
      await app.close();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let counter = 0;
/** A valid org-creation body with a unique owner email. */
export function newOrgBody(overrides: Record<string, unknown> = {}) {
  counter++;
  return {
    name: `Org ${counter}`,
    preset: 'team',
    owner: { email: `owner${counter}-${process.pid}@example.com`, firstName: 'Olive', lastName: 'Owner', password: 'correct horse battery' },
    ...overrides,
  };
}

export interface OrgSession {
  orgId: string;
  ownerId: string;
  token: string;
  ownerEmail: string;
}

/** Creates an org through the API and returns its Owner's session. */
export async function createOrg(t: TestApp, overrides: Record<string, unknown> = {}): Promise<OrgSession> {
  const body = newOrgBody(overrides);
  const created = await t.request('POST', '/v1/orgs', { body });
  if (created.status !== 201) throw new Error(`org creation failed: ${JSON.stringify(created.body)}`);
  return { ...created.body, ownerEmail: (body.owner as { email: string }).email };
}

/** The token of the newest email of `template` sent to `to`. */
export function linkTokenFor(t: TestApp, to: string, template = 'invitation'): string {
  const mail = t.mailbox().filter((m) => m.to === to.toLowerCase() && m.template === template);
  if (mail.length === 0) throw new Error(`no ${template} email to ${to}`);
  return new URL(mail[mail.length - 1].link!).searchParams.get('token')!;
}

/** A clock a test moves by hand. */
export function manualClock(start = new Date()) {
  let now = start.getTime();
  const clock = () => new Date(now);
  clock.advance = (ms: number) => {
    now += ms;
  };
  return clock;
}

/**
 * An app whose SYSTEM_ADMIN_ORG is an org made first (an ordinary org, named by the
 * setting when the service starts, as an operator would do it): the app and that
 * org's Owner, a system admin.
 */
export async function startWithSystemOrg(env: Record<string, string> = {}, options: Parameters<typeof startApp>[1] = {}): Promise<{ t: TestApp; system: OrgSession }> {
  const first = await startApp({}, { clock: options.clock, dataDir: options.dataDir });
  const system = await createOrg(first, { name: 'Gatehouse operators' });
  await first.close({ keepData: true });
  return { t: await startApp({ ...env, SYSTEM_ADMIN_ORG: system.orgId }, { ...options, dataDir: first.dataDir }), system };
}
