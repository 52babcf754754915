import Stripe from 'stripe';
import { isPermanentStatus, PermanentFailure } from '../permanent-failure';
import type { CustomerBalances, SeatBilling } from './port';

/** The real SDK, pointed at `apiUrl` when given (the test rig's Stripe), retrying nothing by itself. */
function stripeClient(secretKey: string, apiUrl?: string): Stripe {
  const url = apiUrl ? new URL(apiUrl) : undefined;
  return new Stripe(secretKey, {
    // The consumer retries with its own backoff, then dead-letters (R-BILL-3).
    maxNetworkRetries: 0,
    telemetry: false,
    timeout: 30_000,
    ...(url ? { host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)), protocol: url.protocol === 'https:' ? 'https' : 'http' } : {}),
  });
}

/** A refusal that no retry changes becomes a PermanentFailure (dead-lettered at once); 409, a key still in flight, settles. */
function stripeFailure(error: unknown): unknown {
  const { statusCode, code, message } = error as { statusCode?: number; code?: string; message?: string };
  if (statusCode !== 409 && isPermanentStatus(statusCode)) return new PermanentFailure(message ?? 'Stripe refused the request', statusCode, code);
  return error;
}

/** Stripe's subscription items: quantity with proration, and Stripe's own idempotency keys. */
export class StripeSeatBilling implements SeatBilling {
  readonly enabled = true;
  private readonly stripe: Stripe;

  constructor(secretKey: string, apiUrl?: string) {
    this.stripe = stripeClient(secretKey, apiUrl);
  }

  async setSeats(subscriptionItemId: string, quantity: number, idempotencyKey: string): Promise<void> {
    try {
      await this.stripe.subscriptionItems.update(subscriptionItemId, { quantity, proration_behavior: 'create_prorations' }, { idempotencyKey });
    } catch (error) {
      throw stripeFailure(error);
    }
  }
}

/** Stripe's customer balance transactions (R-BILL-2), with Stripe's own idempotency keys. */
export class StripeCustomerBalances implements CustomerBalances {
  readonly enabled = true;
  private readonly stripe: Stripe;

  constructor(secretKey: string, apiUrl?: string) {
    this.stripe = stripeClient(secretKey, apiUrl);
  }

  async balance(customerId: string): Promise<{ balanceCents: number; currency: string }> {
    try {
      const customer = await this.stripe.customers.retrieve(customerId);
      if (customer.deleted) throw new PermanentFailure('the Stripe customer was deleted', 404, 'resource_missing');
      return { balanceCents: customer.balance, currency: customer.currency ?? 'usd' };
    } catch (error) {
      throw stripeFailure(error);
    }
  }

  async adjust(customerId: string, amountCents: number, description: string, idempotencyKey: string): Promise<{ transactionId: string; endingBalanceCents: number }> {
    try {
      const { currency } = await this.balance(customerId);
      const transaction = await this.stripe.customers.createBalanceTransaction(customerId, { amount: amountCents, currency, description }, { idempotencyKey });
      return { transactionId: transaction.id, endingBalanceCents: transaction.ending_balance };
    } catch (error) {
      throw stripeFailure(error);
    }
  }
}
