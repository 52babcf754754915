import { Errors, ServerClient } from 'postmark';
import Stripe from 'stripe';
import { startFakePostmark, type FakePostmark } from '../support/fake-postmark';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe';

describe('test rig: fake Postmark, through the real postmark client', () => {
  let postmark: FakePostmark;
  let client: ServerClient;
  beforeEach(async () => {
    postmark = await startFakePostmark();
    client = new ServerClient(postmark.serverToken, postmark.clientOptions);
  });
  afterEach(() => postmark.close());

  it('records a plain email and answers like Postmark', async () => {
    const response = await client.sendEmail({ From: 'noreply@gatehouse.test', To: 'alice@example.com', Subject: 'Welcome', TextBody: 'Hello', MessageStream: 'outbound' });

    expect(response).toEqual({ To: 'alice@example.com', SubmittedAt: expect.any(String), MessageID: expect.stringMatching(/^[0-9a-f-]{36}$/), ErrorCode: 0, Message: 'OK' });
    expect(postmark.sent).toEqual([
      expect.objectContaining({
        endpoint: '/email',
        messageId: response.MessageID,
        body: expect.objectContaining({ To: 'alice@example.com', Subject: 'Welcome', TextBody: 'Hello' }),
        headers: expect.objectContaining({ 'x-postmark-server-token': postmark.serverToken }),
      }),
    ]);
  });

  it('records a template email by alias, with its model', async () => {
    await client.sendEmailWithTemplate({ From: 'noreply@gatehouse.test', To: 'bob@example.com', TemplateAlias: 'invitation', TemplateModel: { link: 'https://x/accept' } });

    expect(postmark.sent.map((e) => [e.endpoint, e.body.TemplateAlias, e.body.TemplateModel])).toEqual([['/email/withTemplate', 'invitation', { link: 'https://x/accept' }]]);
  });

  it('answers a batch message by message; a bad one fails alone', async () => {
    const results = await client.sendEmailBatch([
      { From: 'noreply@gatehouse.test', To: 'a@example.com', Subject: 'A', TextBody: 'a' },
      { From: 'noreply@gatehouse.test', To: 'not-an-address', Subject: 'B', TextBody: 'b' },
    ]);

    expect(results.map((r) => r.ErrorCode)).toEqual([0, 300]);
    expect(postmark.sent.map((e) => e.body.To)).toEqual(['a@example.com']);
  });

  it('a wrong server token is refused with ErrorCode 10, which the client raises as InvalidAPIKeyError', async () => {
    const wrong = new ServerClient('not-the-token', postmark.clientOptions);

    await expect(wrong.sendEmail({ From: 'noreply@gatehouse.test', To: 'a@example.com', Subject: 'x', TextBody: 'x' })).rejects.toMatchObject({ constructor: Errors.InvalidAPIKeyError, code: 10, statusCode: 401 });
    expect(postmark.sent).toEqual([]);
  });

  it('an invalid message is a 422 with ErrorCode 300', async () => {
    await expect(client.sendEmail({ From: 'noreply@gatehouse.test', To: 'a@example.com', Subject: 'no body' })).rejects.toMatchObject({ constructor: Errors.InvalidEmailRequestError, code: 300, statusCode: 422 });
  });

  it('failNext makes the next sends fail the way Postmark does, then sending works again', async () => {
    postmark.failNext(1);
    postmark.failNext(1, 422, 406);
    const email = { From: 'noreply@gatehouse.test', To: 'gone@example.com', Subject: 'x', TextBody: 'x' };

    await expect(client.sendEmail(email)).rejects.toMatchObject({ constructor: Errors.InternalServerError, statusCode: 500 });
    await expect(client.sendEmail(email)).rejects.toMatchObject({ constructor: Errors.InactiveRecipientsError, code: 406, recipients: ['gone@example.com'] });
    await expect(client.sendEmail(email)).resolves.toMatchObject({ ErrorCode: 0 });
    expect(postmark.sent).toHaveLength(1);
    expect(postmark.requests.map((r) => r.status)).toEqual([500, 422, 200]);
  });
});

describe('test rig: fake Stripe, through the real stripe SDK', () => {
  let fake: FakeStripe;
  let stripe: Stripe;
  beforeEach(async () => {
    fake = await startFakeStripe();
    stripe = new Stripe(fake.secretKey, fake.sdkConfig);
  });
  afterEach(() => fake.close());

  it('updates a subscription item quantity, form-encoded, and reads it back', async () => {
    const { subscriptionId, itemId } = fake.addSubscriptionItem(3);

    const updated = await stripe.subscriptionItems.update(itemId, { quantity: 4, proration_behavior: 'none', metadata: { org: 'org_1' } });

    expect(updated).toMatchObject({ id: itemId, object: 'subscription_item', quantity: 4, subscription: subscriptionId, metadata: { org: 'org_1' } });
    expect(fake.subscriptionItems.get(itemId)).toMatchObject({ quantity: 4, subscription: subscriptionId });
    expect(fake.requests[0]).toMatchObject({ method: 'POST', path: `/v1/subscription_items/${itemId}`, body: { quantity: '4', proration_behavior: 'none', 'metadata[org]': 'org_1' }, stripeVersion: expect.any(String) });
    // The SDK keys every POST, even with retries off.
    expect(fake.requests[0].idempotencyKey).toMatch(/^stripe-node-retry-/);
    await expect(stripe.subscriptionItems.retrieve(itemId)).resolves.toMatchObject({ quantity: 4 });
  });

  it('a repeated idempotency key replays the first answer and applies the change once', async () => {
    const { itemId } = fake.addSubscriptionItem(3);

    const first = await stripe.subscriptionItems.update(itemId, { quantity: 5 }, { idempotencyKey: 'seat-change-1' });
    fake.subscriptionItems.get(itemId)!.quantity = 7; // someone else changed it since
    const again = await stripe.subscriptionItems.update(itemId, { quantity: 5 }, { idempotencyKey: 'seat-change-1' });

    expect(again.quantity).toBe(5);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(fake.subscriptionItems.get(itemId)!.quantity).toBe(7);
    expect(fake.requests.map((r) => [r.idempotencyKey, r.replayed])).toEqual([['seat-change-1', false], ['seat-change-1', true]]);
  });

  it('a key reused with other parameters is an idempotency_error', async () => {
    const { itemId } = fake.addSubscriptionItem(3);
    await stripe.subscriptionItems.update(itemId, { quantity: 5 }, { idempotencyKey: 'seat-change-2' });

    await expect(stripe.subscriptionItems.update(itemId, { quantity: 6 }, { idempotencyKey: 'seat-change-2' })).rejects.toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(fake.subscriptionItems.get(itemId)!.quantity).toBe(5);
  });

  it('a wrong secret key is refused: StripeAuthenticationError', async () => {
    const { itemId } = fake.addSubscriptionItem(3);
    const wrong = new Stripe('sk_test_wrong_key_0000', fake.sdkConfig);

    const error = await wrong.subscriptionItems.retrieve(itemId).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error).toMatchObject({ type: 'StripeAuthenticationError', statusCode: 401 });
  });

  it('an unknown subscription item is resource_missing', async () => {
    await expect(stripe.subscriptionItems.update('si_nope', { quantity: 1 })).rejects.toMatchObject({ type: 'StripeInvalidRequestError', code: 'resource_missing', statusCode: 404 });
  });

  it('failNext makes the SDK throw and changes nothing; a retry with the same key then runs', async () => {
    const { itemId } = fake.addSubscriptionItem(3);
    fake.failNext(1);
    fake.failNext(1, 429);

    await expect(stripe.subscriptionItems.update(itemId, { quantity: 8 }, { idempotencyKey: 'k' })).rejects.toBeInstanceOf(Stripe.errors.StripeAPIError);
    await expect(stripe.subscriptionItems.update(itemId, { quantity: 8 }, { idempotencyKey: 'k' })).rejects.toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(fake.subscriptionItems.get(itemId)!.quantity).toBe(3);
    await expect(stripe.subscriptionItems.update(itemId, { quantity: 8 }, { idempotencyKey: 'k' })).resolves.toMatchObject({ quantity: 8 });
  });

  it('an answer lost on the way back: the SDK retries a cut connection once, even with retries off, and gets the replay', async () => {
    const { itemId } = fake.addSubscriptionItem(3);
    fake.dropNext(1);

    const updated = await stripe.subscriptionItems.update(itemId, { quantity: 9 });

    expect(updated.quantity).toBe(9);
    expect(updated.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(fake.requests.map((r) => [r.dropped, r.replayed])).toEqual([[true, false], [false, true]]);
    expect(fake.requests[0].idempotencyKey).toBe(fake.requests[1].idempotencyKey);
  });

  it('a customer balance transaction moves the balance and reports the ending balance', async () => {
    const customerId = fake.addCustomer({ email: 'billing@example.com' });

    const credit = await stripe.customers.createBalanceTransaction(customerId, { amount: -1500, currency: 'usd', description: 'Seat refund' });

    expect(credit).toMatchObject({ object: 'customer_balance_transaction', amount: -1500, currency: 'usd', ending_balance: -1500, customer: customerId, description: 'Seat refund' });
    await expect(stripe.customers.retrieve(customerId)).resolves.toMatchObject({ id: customerId, object: 'customer', balance: -1500, currency: 'usd' });
    await expect(stripe.customers.createBalanceTransaction(customerId, { amount: 100, currency: 'eur' })).rejects.toMatchObject({ type: 'StripeInvalidRequestError', param: 'currency' });
  });
});
