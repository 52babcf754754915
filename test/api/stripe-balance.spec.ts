import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe';
import { ConsumerRunner } from '../../src/messaging/consumer-runner';

const PASSWORD = 'a long passphrase 7';

/** R-BILL-2, SPEC 5.5: a member's Stripe customer balance, through the real stripe SDK against the rig's Stripe. */
describe('R-BILL-2 Stripe customer balance (SPEC 5.5)', () => {
  let stripe: FakeStripe;
  let t: TestApp;
  let org: OrgSession;
  let memberId: string;
  let memberToken: string;
  let customerId: string;

  beforeAll(async () => {
    stripe = await startFakeStripe();
    t = await startApp({ STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_API_URL: `http://127.0.0.1:${stripe.port}`, CONSUMER_MAX_TRIES: '4', CONSUMER_RETRY_MS: '100' });
    org = await createOrg(t, { name: 'Balance Studio' });
    const created = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: 'buyer@example.com', firstName: 'Bea', lastName: 'Buyer', mode: 'set-password', password: PASSWORD } });
    memberId = created.body.userId;
    memberToken = (await t.request('POST', '/v1/sessions', { body: { email: 'buyer@example.com', password: PASSWORD } })).body.token;
    customerId = stripe.addCustomer({ email: 'buyer@example.com', balance: 0, currency: 'usd' });
  });
  afterAll(async () => {
    await t?.close();
    await stripe?.close();
  });

  const url = (path: string, user = memberId) => `/v1/orgs/${org.orgId}/members/${user}/${path}`;
  const adjust = (body: Record<string, unknown>, token = org.token) => t.request('POST', url('stripe-balance'), { token, body });
  const applied = () => stripe.requests.filter((r) => r.method === 'POST' && r.path === `/v1/customers/${customerId}/balance_transactions` && !r.replayed && r.status === 200);

  it('R-BILL-2 only a member with a Stripe customer, linked by the purchase service with billing.manage.any', async () => {
    expect(await adjust({ direction: 'credit', amountCents: 500, reason: 'goodwill' })).toMatchObject({ status: 409, body: { code: 'no_stripe_customer' } });
    expect(await t.request('GET', url('stripe-balance'), { token: org.token })).toMatchObject({ status: 409, body: { code: 'no_stripe_customer' } });
    const purchase = (await t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: org.token, body: { name: 'purchases', permissions: ['billing.manage.any'] } })).body.key as string;
    const reader = (await t.request('POST', `/v1/orgs/${org.orgId}/service-keys`, { token: org.token, body: { name: 'reader', permissions: ['users.list.any'] } })).body.key as string;
    expect(await t.request('PUT', url('stripe-customer'), { token: reader, body: { customerId } })).toMatchObject({ status: 403 });
    expect(await t.request('PUT', url('stripe-customer'), { token: purchase, body: { customerId: 'not-a-customer' } })).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    expect(await t.request('PUT', url('stripe-customer'), { token: purchase, body: { customerId } })).toMatchObject({ status: 200, body: { customerId } });
    expect(await t.request('GET', url('stripe-balance'), { token: org.token })).toMatchObject({ status: 200, body: { customerId, balanceCents: 0, currency: 'usd' } });
  });

  it('R-BILL-2 staff preview, then credit with a reason: one balance transaction, and an event naming who did it', async () => {
    expect(await adjust({ direction: 'credit', amountCents: 500, reason: 'goodwill', preview: true })).toMatchObject({ status: 200, body: { currentBalanceCents: 0, newBalanceCents: -500 } });
    expect(applied()).toHaveLength(0);
    const credited = await adjust({ direction: 'credit', amountCents: 500, reason: 'goodwill' });
    expect(credited).toMatchObject({ status: 200, body: { status: 'done', transactionId: expect.stringMatching(/^cbtxn_/), direction: 'credit', amountCents: 500 } });
    expect(stripe.customers.get(customerId)!.balance).toBe(-500);
    expect(applied()).toHaveLength(1);
    expect(applied()[0].idempotencyKey).toMatch(/^balance:/);
    expect(await t.request('GET', url('stripe-balance'), { token: org.token })).toMatchObject({ body: { balanceCents: -500 } });

    const history = await t.app.inject({ method: 'GET', url: `/v1/orgs/${org.orgId}/history?types=StripeBalanceAdjusted`, headers: { authorization: `Bearer ${org.token}` } });
    const [line] = history.body.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(line).toMatchObject({ actor: { kind: 'user', id: org.ownerId }, data: { direction: 'credit', amountCents: 500, reason: 'goodwill', transactionId: credited.body.transactionId, customerId } });
  });

  it('R-BILL-2 R-BILL-3 a failing or lost Stripe answer is retried with the same key: the debit happens once; past the last try it is dead-lettered', async () => {
    stripe.failNext(1);
    stripe.dropNext(1);
    const debited = await adjust({ direction: 'debit', amountCents: 200, reason: 'late fee' });
    expect(debited).toMatchObject({ status: 200, body: { status: 'done' } });
    expect(stripe.customers.get(customerId)!.balance).toBe(-300);
    expect(applied()).toHaveLength(2);

    stripe.failNext(1000);
    const stuck = await adjust({ direction: 'credit', amountCents: 100, reason: 'apology' });
    expect(stuck).toMatchObject({ status: 200, body: { status: 'pending', adjustmentId: expect.any(String) } });
    await t.app.get(ConsumerRunner).settled(20_000);
    expect(await t.app.get(ConsumerRunner).list()).toEqual(expect.arrayContaining([expect.objectContaining({ consumer: 'seats', eventType: 'StripeBalanceAdjustmentRequested', status: 'dead' })]));
    expect(stripe.customers.get(customerId)!.balance).toBe(-300);
  });

  it('R-BILL-2 needs credits.adjust.any; another org sees no such member; no Stripe key answers 503', async () => {
    expect(await adjust({ direction: 'credit', amountCents: 100, reason: 'self-service' }, memberToken)).toMatchObject({ status: 403 });
    expect(await adjust({ direction: 'credit', amountCents: 0, reason: 'zero' })).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
    const other = await createOrg(t);
    expect(await t.request('GET', `/v1/orgs/${other.orgId}/members/${memberId}/stripe-balance`, { token: other.token })).toMatchObject({ status: 404 });
    const unconfigured = await startApp();
    try {
      const own = await createOrg(unconfigured);
      expect(await unconfigured.request('GET', `/v1/orgs/${own.orgId}/members/${own.ownerId}/stripe-balance`, { token: own.token })).toMatchObject({ status: 503, body: { code: 'billing_not_configured' } });
    } finally {
      await unconfigured.close();
    }
  });
});
