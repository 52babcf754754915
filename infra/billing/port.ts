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
