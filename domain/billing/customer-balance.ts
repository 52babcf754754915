import type { Decider, DomainEvent } from '../shared/decider';
import { DomainError } from '../shared/errors';

/** One member's Stripe customer in one org, and the credit adjustments made to its balance (R-BILL-2). */
export const customerBalanceStream = (orgId: string, userId: string) => `stripe-customer-${orgId}-${userId}`;

export type BalanceDirection = 'credit' | 'debit';

interface Adjustment {
  orgId: string;
  userId: string;
  customerId: string;
  /** Named at the edge: what the answer and the recorded outcome are matched by. */
  adjustmentId: string;
  direction: BalanceDirection;
  amountCents: number;
  reason: string;
}

export type CustomerBalanceEvent =
  /** The purchase service made the member's Stripe customer. */
  | DomainEvent<'StripeCustomerLinked', { orgId: string; userId: string; customerId: string }>
  /** Staff asked for a credit or debit: the Stripe consumer creates its balance transaction, once (the event id is Stripe's idempotency key). */
  | DomainEvent<'StripeBalanceAdjustmentRequested', Adjustment>
  /** R-BILL-2, SPEC 5.5: the balance transaction exists in Stripe; the envelope names the actor who asked. */
  | DomainEvent<'StripeBalanceAdjusted', Adjustment & { transactionId: string }>;

export type CustomerBalanceCommand =
  | { type: 'LinkCustomer'; orgId: string; userId: string; customerId: string }
  | ({ type: 'RequestAdjustment' } & Omit<Adjustment, 'orgId' | 'userId' | 'customerId'>)
  | { type: 'RecordAdjustment'; adjustment: Adjustment; transactionId: string };

export interface CustomerBalance {
  orgId: string;
  userId: string;
  customerId?: string;
  /** Adjustments whose transaction is recorded. */
  recorded: string[];
}

export const customerBalance: Decider<CustomerBalance, CustomerBalanceCommand, CustomerBalanceEvent> = {
  initialState: () => ({ orgId: '', userId: '', recorded: [] }),
  decide(state, command) {
    switch (command.type) {
      case 'LinkCustomer':
        if (state.customerId === command.customerId) return [];
        return [{ type: 'StripeCustomerLinked', data: { orgId: command.orgId, userId: command.userId, customerId: command.customerId } }];
      case 'RequestAdjustment': {
        if (!state.customerId) throw new DomainError('no_stripe_customer', 'this member has no Stripe customer yet');
        const { type: _t, ...adjustment } = command;
        return [{ type: 'StripeBalanceAdjustmentRequested', data: { ...adjustment, orgId: state.orgId, userId: state.userId, customerId: state.customerId } }];
      }
      case 'RecordAdjustment':
        // Recorded once, whatever retries the consumer makes.
        if (state.recorded.includes(command.adjustment.adjustmentId)) return [];
        return [{ type: 'StripeBalanceAdjusted', data: { ...command.adjustment, transactionId: command.transactionId } }];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'StripeCustomerLinked':
        return { ...state, orgId: event.data.orgId, userId: event.data.userId, customerId: event.data.customerId };
      case 'StripeBalanceAdjustmentRequested':
        return state;
      case 'StripeBalanceAdjusted':
        return { ...state, recorded: [...state.recorded, event.data.adjustmentId] };
    }
  },
};

/** Stripe's sign: a credit the customer can spend is a negative amount. */
export const signedAmount = (direction: BalanceDirection, amountCents: number) => (direction === 'credit' ? -amountCents : amountCents);
