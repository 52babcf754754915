import Stripe from 'stripe';
import { isPermanentStatus, PermanentFailure } from '../permanent-failure';
import type { SeatBilling } from './port';

/** Stripe's subscription items: quantity with proration, and Stripe's own idempotency keys. */
export class StripeSeatBilling implements SeatBilling {
  readonly enabled = true;
  private readonly stripe: Stripe;

  constructor(secretKey: string, apiUrl?: string) {
    const url = apiUrl ? new URL(apiUrl) : undefined;
    this.stripe = new Stripe(secretKey, {
      // The consumer retries with its own backoff, then dead-letters (R-BILL-3).
      maxNetworkRetries: 0,
      telemetry: false,
      timeout: 30_000,
      ...(url ? { host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)), protocol: url.protocol === 'https:' ? 'https' : 'http' } : {}),
    });
  }

  async setSeats(subscriptionItemId: string, quantity: number, idempotencyKey: string): Promise<void> {
    try {
      await this.stripe.subscriptionItems.update(subscriptionItemId, { quantity, proration_behavior: 'create_prorations' }, { idempotencyKey });
    } catch (error) {
      const { statusCode, code, message } = error as { statusCode?: number; code?: string; message?: string };
      // 409: the same key is still being processed (a concurrent retry); it will settle.
      if (statusCode !== 409 && isPermanentStatus(statusCode)) throw new PermanentFailure(message ?? 'Stripe refused the request', statusCode, code);
      throw error;
    }
  }
}
