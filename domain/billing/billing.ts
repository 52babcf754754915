import type { DomainEvent } from '../shared/decider';

/** An org's billing history: what its Stripe subscription was set to, and why. */
export const billingStream = (orgId: string) => `billing-${orgId}`;

/**
 * R-BILL-1: the seat quantity Stripe holds now, set because of `causedBy` (the
 * event that added or removed a member, or linked the subscription).
 */
export type BillingEvent = DomainEvent<
  'SeatQuantityUpdated',
  { orgId: string; subscriptionItemId: string; quantity: number; previousQuantity: number | null; causedBy: string }
>;
