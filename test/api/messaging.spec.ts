import type { EventStore } from '../../infra/eventstore/port';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, linkTokenFor, startApp, type OrgSession, type TestApp } from '../support/app';
import { startFakePostmark, type FakePostmark } from '../support/fake-postmark';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe';

const PASSWORD = 'a long passphrase 7';

/** An app whose system-admin org exists (R-SYS-1), with `env` on top. */
async function startWithSystemOrg(env: Record<string, string>): Promise<{ t: TestApp; system: OrgSession }> {
  const first = await startApp(env);
  const system = await createOrg(first, { name: 'Operators' });
  await first.close({ keepData: true });
  return { t: await startApp({ ...env, SYSTEM_ADMIN_ORG: system.orgId }, { dataDir: first.dataDir }), system };
}

async function addMember(t: TestApp, org: OrgSession, email: string, role = 'member'): Promise<string> {
  const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email, firstName: 'Sam', lastName: 'Seat', mode: 'set-password', password: PASSWORD, role } });
  expect(created.status).toBe(201);
  return created.body.userId;
}

describe('emails leave from the log (SPEC 3.2, R-PREF-3)', () => {
  it('an accepted command’s email is sent after a restart when the process stopped before sending it', async () => {
    // CONSUMERS=off stands for a process that died right after the commit.
    const first = await startApp({ CONSUMERS: 'off' });
    const org = await createOrg(first);
    expect((await first.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'late@example.com' } })).status).toBe(201);
    expect(first.mailbox()).toEqual([]);
    await first.close({ keepData: true });

    const second = await startApp({}, { dataDir: first.dataDir });
    try {
      await second.request('POST', '/v1/magic-links', { body: { email: 'nobody@example.com' } }); // any command: waits for the consumers
      const token = linkTokenFor(second, 'late@example.com');
      const accepted = await second.request('POST', '/v1/invitations/accept', { body: { token, firstName: 'Lee', lastName: 'Late', password: PASSWORD } });
      expect(accepted.status).toBe(200);
      // Sent once: a later restart does not send it again.
      await second.close({ keepData: true });
      const third = await startApp({}, { dataDir: first.dataDir });
      await third.request('POST', '/v1/magic-links', { body: { email: 'nobody@example.com' } });
      expect(third.mailbox().filter((m) => m.to === 'late@example.com')).toHaveLength(1);
      await third.close();
    } catch (error) {
      await second.close().catch(() => undefined);
      throw error;
    }
  });

  it('events hold the link token sealed, never in clear (R-SEC-2)', async () => {
    const t = await startApp();
    try {
      const org = await createOrg(t);
      await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'sealed@example.com' } });
      const token = linkTokenFor(t, 'sealed@example.com');
      const store = t.app.get(EVENT_STORE) as EventStore;
      const { events } = await store.readAll(0n, { limit: 10_000 });
      const requested = events.filter((e) => e.type === 'LinkEmailRequested');
      expect(requested).toHaveLength(1);
      expect(requested[0].data).toMatchObject({ purpose: 'invitation', to: 'sealed@example.com', sealedToken: expect.stringMatching(/^v1\./) });
      expect(JSON.stringify(events, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(token);
      const health = await t.request('GET', '/health');
      expect(health.body.consumers.map((c: { consumer: string; behind: boolean }) => [c.consumer, c.behind])).toEqual([['email', false], ['seats', false], ['link-requests', false]]);
      expect(health.body.kafka).toEqual({ enabled: false });
    } finally {
      await t.close();
    }
  });
});

describe('Postmark: emails through the real SDK, at a local server that answers like Postmark', () => {
  let postmark: FakePostmark;
  let t: TestApp;
  let org: OrgSession;

  beforeAll(async () => {
    postmark = await startFakePostmark();
    t = await startApp({ POSTMARK_SERVER_TOKEN: postmark.serverToken, POSTMARK_API_URL: `http://${postmark.requestHost}`, MAIL_FROM: 'Gatehouse <no-reply@example.com>', CONSUMER_MAX_TRIES: '3', CONSUMER_RETRY_MS: '10' });
    org = await createOrg(t);
  });
  afterAll(async () => {
    await t.close();
    await postmark.close();
  });

  it('R-PREF-3 an invitation goes out through the invitation template, and its link works', async () => {
    await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'pm@example.com' } });
    const sent = postmark.sent.filter((m) => m.body.To === 'pm@example.com');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ endpoint: '/email/withTemplate', body: { From: 'Gatehouse <no-reply@example.com>', TemplateAlias: 'invitation', MessageStream: 'outbound' } });
    const link = new URL(sent[0].body.TemplateModel.link);
    expect(link.pathname).toBe('/invitations/accept');
    const accepted = await t.request('POST', '/v1/invitations/accept', { body: { token: link.searchParams.get('token'), firstName: 'Pat', lastName: 'Mark', password: PASSWORD } });
    expect(accepted.status).toBe(200);
    expect(t.mailbox()).toEqual([]); // Postmark configured: nothing in the local folder
  });

  it('R-CRED-3 R-SEC-4 an admin-sent reset goes to the member; the actor gets a confirmation that carries no link', async () => {
    const userId = await addMember(t, org, 'reset-pm@example.com');
    expect((await t.request('POST', `/v1/orgs/${org.orgId}/members/${userId}/password-reset`, { token: org.token })).status).toBe(200);
    const [sent] = postmark.sent.filter((m) => m.body.To === 'reset-pm@example.com');
    expect(sent.body).toMatchObject({ TemplateAlias: 'password-reset' });
    expect(sent.body.Bcc).toBeUndefined();
    const [copy] = postmark.sent.filter((m) => m.body.To === org.ownerEmail.toLowerCase() && m.body.TemplateAlias === 'sent-confirmation');
    expect(copy.body.TemplateModel).not.toHaveProperty('link');
    expect(JSON.stringify(copy.body)).not.toContain(String(sent.body.TemplateModel.link));
  });

  it('R-BILL-3 a failing Postmark is retried with backoff and the email still goes out once', async () => {
    postmark.failNext(2, 500);
    await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'flaky@example.com' } });
    expect(postmark.sent.filter((m) => m.body.To === 'flaky@example.com')).toHaveLength(1);
    expect(postmark.requests.filter((r) => r.status === 500).length).toBeGreaterThanOrEqual(2);
  });

  it('R-BILL-3 a message Postmark refuses lands in the dead letters at once and does not stop the consumer', async () => {
    postmark.failNext(1, 422, 300);
    await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'refused@example.com' } });
    await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'after@example.com' } });
    expect(postmark.sent.filter((m) => m.body.To === 'refused@example.com')).toHaveLength(0);
    expect(postmark.sent.filter((m) => m.body.To === 'after@example.com')).toHaveLength(1);
    const { ConsumerRunner } = await import('../../src/messaging/consumer-runner');
    const letters = await t.app.get(ConsumerRunner).list();
    expect(letters).toEqual([expect.objectContaining({ consumer: 'email', eventType: 'LinkEmailRequested', tries: 1, status: 'dead', reason: expect.stringContaining('HTTP 422') })]);
  });
});

describe('Stripe seats (R-BILL-1, R-BILL-3) through the real SDK, at a local server that answers like Stripe', () => {
  let stripe: FakeStripe;
  let t: TestApp;
  let system: OrgSession;

  beforeAll(async () => {
    stripe = await startFakeStripe();
    ({ t, system } = await startWithSystemOrg({ STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_API_URL: `http://127.0.0.1:${stripe.port}`, CONSUMER_MAX_TRIES: '3', CONSUMER_RETRY_MS: '10' }));
  });
  afterAll(async () => {
    await t.close();
    await stripe.close();
  });

  const seatUpdates = (itemId: string) => stripe.requests.filter((r) => r.method === 'POST' && r.path === `/v1/subscription_items/${itemId}` && !r.replayed && r.status === 200);

  async function subscribedOrg(): Promise<{ org: OrgSession; itemId: string }> {
    const org = await createOrg(t, { name: 'Seats Co' });
    const { subscriptionId, itemId } = stripe.addSubscriptionItem(1);
    const plan = await t.request('PUT', `/v1/system/orgs/${org.orgId}/plan`, { token: system.token, body: { plan: 'business', stripe: { customerId: 'cus_Seats1', subscriptionId, subscriptionItemId: itemId } } });
    expect(plan.status).toBe(200);
    return { org, itemId };
  }

  it('R-SYS-1 only system admins change a plan, with valid Stripe ids', async () => {
    const org = await createOrg(t);
    expect(await t.request('PUT', `/v1/system/orgs/${org.orgId}/plan`, { token: org.token, body: { plan: 'business' } })).toMatchObject({ status: 403 });
    expect(await t.request('PUT', `/v1/system/orgs/${org.orgId}/plan`, { token: system.token, body: { plan: 'business', stripe: { customerId: 'nope', subscriptionId: 'sub_x1234', subscriptionItemId: 'si_x1234' } } })).toMatchObject({ status: 400 });
  });

  it('R-BILL-1 seats follow the member count, prorated, each change once with its event as idempotency key, and Owners and Admins are emailed', async () => {
    const { org, itemId } = await subscribedOrg();
    expect(stripe.subscriptionItems.get(itemId)!.quantity).toBe(1); // the Owner, set when the subscription was linked
    await addMember(t, org, 'admin-seat@example.com', 'admin');
    const member = await addMember(t, org, 'member-seat@example.com');
    expect(stripe.subscriptionItems.get(itemId)!.quantity).toBe(3);
    expect((await t.request('DELETE', `/v1/orgs/${org.orgId}/members/${member}`, { token: org.token })).status).toBe(200);
    expect(stripe.subscriptionItems.get(itemId)!.quantity).toBe(2);

    const updates = seatUpdates(itemId);
    expect(updates.map((r) => r.body.quantity)).toEqual(['1', '2', '3', '2']);
    expect(updates.every((r) => r.body.proration_behavior === 'create_prorations')).toBe(true);
    expect(new Set(updates.map((r) => r.idempotencyKey)).size).toBe(4);
    expect(updates.every((r) => /^seats:[0-9a-f-]{36}$/.test(r.idempotencyKey!))).toBe(true);

    const store = t.app.get(EVENT_STORE) as EventStore;
    const recorded = await store.readStream(`billing-${org.orgId}`);
    expect(recorded.map((e) => (e.data as { quantity: number }).quantity)).toEqual([1, 2, 3, 2]);
    // The last notice went to the Owner and the Admin, not to the plain member.
    const notices = t.mailbox().filter((m) => m.template === 'seat-change' && m.text.includes('from 3 to 2'));
    expect(notices.map((m) => m.to).sort()).toEqual(['admin-seat@example.com', org.ownerEmail.toLowerCase()].sort());
  });

  it('R-BILL-1 a response lost on the way back is retried with the same key: Stripe changes the seats once', async () => {
    const { org, itemId } = await subscribedOrg();
    stripe.dropNext(2); // the SDK's own retry and the consumer's first try both lose their answer
    await addMember(t, org, 'dropped@example.com');
    expect(stripe.subscriptionItems.get(itemId)!.quantity).toBe(2);
    const forKey = stripe.requests.filter((r) => r.path === `/v1/subscription_items/${itemId}` && r.body.quantity === '2');
    expect(forKey.length).toBeGreaterThanOrEqual(2);
    expect(new Set(forKey.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(forKey.filter((r) => !r.replayed)).toHaveLength(1); // applied once; every other try was a replay
  });

  it('R-BILL-3 a change Stripe fails every try goes to the dead letters, later changes go on, and an operator re-drives it', async () => {
    const { org, itemId } = await subscribedOrg();
    stripe.failNext(3, 503);
    await addMember(t, org, 'dead-1@example.com');
    expect(stripe.subscriptionItems.get(itemId)!.quantity).toBe(1); // not changed
    await addMember(t, org, 'after-dead@example.com');
    expect(stripe.subscriptionItems.get(itemId)!.quantity).toBe(3); // the count, not a delta: the next change is right

    const listed = await t.request('GET', '/v1/system/dead-letters', { token: system.token });
    expect(listed.status).toBe(200);
    const letter = listed.body.items.find((l: { consumer: string; orgId?: string }) => l.consumer === 'seats' && l.orgId === org.orgId);
    expect(letter).toMatchObject({ eventType: 'MemberAdded', tries: 3, status: 'dead', reason: expect.stringContaining('HTTP 503') });
    expect(await t.request('GET', '/v1/system/dead-letters', { token: org.token })).toMatchObject({ status: 403 });

    const redriven = await t.request('POST', `/v1/system/dead-letters/${letter.id}/redrive`, { token: system.token });
    expect(redriven).toMatchObject({ status: 200, body: { status: 'redriven' } });
    expect(stripe.subscriptionItems.get(itemId)!.quantity).toBe(3);
    const after = await t.request('GET', '/v1/system/dead-letters', { token: system.token });
    expect(after.body.items.find((l: { id: string }) => l.id === letter.id)).toBeUndefined();
    expect(await t.request('POST', `/v1/system/dead-letters/seats:00000000-0000-4000-8000-000000000000/redrive`, { token: system.token })).toMatchObject({ status: 404 });
  });
});

describe('without a Stripe key', () => {
  it('seat changes are skipped with a log line, and nothing is recorded as billed', async () => {
    const lines: string[] = [];
    const logger = { log: (m: unknown) => lines.push(JSON.stringify(m)), error: () => undefined, warn: () => undefined, debug: () => undefined, verbose: () => undefined };
    const first = await startApp();
    const system = await createOrg(first, { name: 'Operators' });
    await first.close({ keepData: true });
    const t = await startApp({ SYSTEM_ADMIN_ORG: system.orgId }, { dataDir: first.dataDir, logger });
    try {
      const org = await createOrg(t);
      await t.request('PUT', `/v1/system/orgs/${org.orgId}/plan`, { token: system.token, body: { plan: 'business', stripe: { customerId: 'cus_None1', subscriptionId: 'sub_None1', subscriptionItemId: 'si_None1' } } });
      await addMember(t, org, 'free-seat@example.com');
      expect(lines.filter((l) => l.includes('no Stripe key configured'))).toHaveLength(2);
      const store = t.app.get(EVENT_STORE) as EventStore;
      expect(await store.readStream(`billing-${org.orgId}`)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
