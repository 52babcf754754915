/** Seats on a subscription (R-BILL-1): Stripe in production; off without a key. */
export interface SeatBilling {
  /** False when no Stripe key is configured: seat changes are skipped with a log line. */
  readonly enabled: boolean;
  /** Sets the subscription item's quantity, prorated. The same key twice changes it once. */
  setSeats(subscriptionItemId: string, quantity: number, idempotencyKey: string): Promise<void>;
}

export const SEAT_BILLING = Symbol('SeatBilling');

export const noSeatBilling: SeatBilling = {
  enabled: false,
  setSeats: async () => undefined,
};

/** A Stripe customer's balance (R-BILL-2): Stripe in production; off without a key. */
export interface CustomerBalances {
  readonly enabled: boolean;
  /** Stripe's sign: negative is credit the customer holds. */
  balance(customerId: string): Promise<{ balanceCents: number; currency: string }>;
  /** Creates a balance transaction of `amountCents` (Stripe's sign). The same key twice creates one. */
  adjust(customerId: string, amountCents: number, description: string, idempotencyKey: string): Promise<{ transactionId: string; endingBalanceCents: number }>;
}

export const CUSTOMER_BALANCES = Symbol('CustomerBalances');

export const noCustomerBalances: CustomerBalances = {
  enabled: false,
  balance: async () => {
    throw new Error('no Stripe key configured');
  },
  adjust: async () => {
    throw new Error('no Stripe key configured');
  },
};
