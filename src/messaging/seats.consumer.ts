import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { billingStream, type BillingEvent } from '../../domain/billing/billing';
import type { StripeSubscription } from '../../domain/organization/organization';
import { CUSTOMER_BALANCES, SEAT_BILLING, type CustomerBalances, type SeatBilling } from '../../infra/billing/port';
import { customerBalance, customerBalanceStream, signedAmount } from '../../domain/billing/customer-balance';
import { WrongExpectedVersion, type EventStore, type NewEvent } from '../../infra/eventstore/port';
import type { Recorded } from '../../domain/events';
import type { Doc } from '../../projections/projection';
import { EVENT_STORE } from '../shared/tokens';
import { derivedEventId, TableConsumer, type ConsumerHandlers, type ConsumerScope, type Effect } from './consumer';

export const SEATS = 'billing_seats';

/** What the seat consumer knows of an org: its member count and where its seats are billed. */
export interface SeatsDoc extends Doc {
  orgId: string;
  members: number;
  stripe: StripeSubscription | null;
  /** The quantity last set in Stripe (null before the first). */
  billed: number | null;
}

/**
 * The Stripe consumer. R-BILL-1: keeps each org's Stripe seat quantity equal to its member count.
 * Every change is set with the causing event's id as Stripe's idempotency key, so
 * a repeat (a crash after the call, a redelivery) never changes seats twice; then
 * `SeatQuantityUpdated` is recorded (its id derived from the same event), which
 * the email consumer turns into notices to Owners and Admins.
 */
@Injectable()
export class SeatConsumer extends TableConsumer {
  readonly name = 'seats';
  private readonly logger = new Logger('seats');

  constructor(
    @Inject(SEAT_BILLING) private readonly billing: SeatBilling,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CUSTOMER_BALANCES) private readonly balances: CustomerBalances,
  ) {
    super();
  }

  protected readonly on: ConsumerHandlers = {
    MemberAdded: (event, scope, redrive) => this.count(event, event.data.orgId, { members: +1 }, scope, redrive),
    MemberRemoved: (event, scope, redrive) => this.count(event, event.data.orgId, { members: -1 }, scope, redrive),
    PlanChanged: (event, scope, redrive) => this.count(event, event.data.orgId, { members: 0, stripe: event.data.stripe }, scope, redrive),
    // R-BILL-2: the balance transaction staff asked for, created once (the request's id is Stripe's idempotency key), then recorded once.
    StripeBalanceAdjustmentRequested: async (event) => {
      const request = event.data;
      if (!this.balances.enabled) {
        this.logger.log({ message: 'balance adjustment not sent: no Stripe key configured', orgId: request.orgId, eventId: event.eventId });
        return undefined;
      }
      return async () => {
        const { transactionId } = await this.balances.adjust(request.customerId, signedAmount(request.direction, request.amountCents), request.reason, `balance:${event.eventId}`);
        const stream = customerBalanceStream(request.orgId, request.userId);
        const state = (await this.store.readStream(stream)).reduce((s, e) => customerBalance.evolve(s, e as never), customerBalance.initialState());
        const [adjusted] = customerBalance.decide(state, { type: 'RecordAdjustment', adjustment: request, transactionId }, { now: new Date(), actor: event.actor });
        if (!adjusted) return;
        const eventId = derivedEventId(createHash('sha256').update(`balance:${event.eventId}`).digest('hex'));
        // Recorded with the actor who asked (R-BILL-2), caused by the request.
        const metadata = { actor: event.actor, ...(event.realActor ? { realActor: event.realActor } : {}), orgId: request.orgId, correlationId: event.correlationId, causationId: event.eventId };
        await this.recordOnce(stream, { eventId, type: adjusted.type, data: adjusted.data, metadata });
      };
    },
  };

  /** Folds a change of the member count (or of where seats are billed) and says whether Stripe must hear of it. */
  private async count(event: Recorded, orgId: string, change: { members: number; stripe?: StripeSubscription | null }, scope: ConsumerScope, redrive: boolean): Promise<Effect | undefined> {
    const current = (await scope.get<SeatsDoc>(SEATS, orgId)) ?? { id: orgId, orgId, members: 0, stripe: null, billed: null };
    if (redrive) {
      // Folded already; what is right now is the quantity for today's count.
      return this.setSeats(current, event, `${event.eventId}:redrive:${current.members}`, scope, false);
    }
    if (scope.holds(current)) return undefined;
    const next: SeatsDoc = { ...current, members: Math.max(0, current.members + change.members) };
    if (change.stripe !== undefined) next.stripe = change.stripe;
    const linked = change.stripe !== undefined && next.stripe && next.stripe.subscriptionItemId !== current.stripe?.subscriptionItemId;
    if (!next.stripe || (!linked && next.members === current.members)) {
      scope.put(SEATS, next);
      return undefined;
    }
    return this.setSeats(next, event, event.eventId, scope, true);
  }

  private setSeats(doc: SeatsDoc, event: Recorded, key: string, scope: ConsumerScope, fold: boolean): Effect | undefined {
    const stripe = doc.stripe;
    if (!stripe) return undefined;
    const quantity = doc.members;
    if (fold) scope.put(SEATS, { ...doc, billed: this.billing.enabled ? quantity : doc.billed });
    if (!this.billing.enabled) {
      this.logger.log({ message: 'seat change not sent: no Stripe key configured', orgId: doc.orgId, eventId: event.eventId, quantity });
      return undefined;
    }
    return async () => {
      await this.billing.setSeats(stripe.subscriptionItemId, quantity, `seats:${key}`);
      if (!fold) scope.put(SEATS, { ...doc, billed: quantity });
      const recorded: BillingEvent = { type: 'SeatQuantityUpdated', data: { orgId: doc.orgId, subscriptionItemId: stripe.subscriptionItemId, quantity, previousQuantity: doc.billed, causedBy: event.eventId } };
      // The id is derived from the cause: recording it again after a crash is the same append, not a second one.
      const eventId = derivedEventId(createHash('sha256').update(`seats:${key}`).digest('hex'));
      const metadata = { actor: { kind: 'system' as const, id: 'seats' }, orgId: doc.orgId, correlationId: event.correlationId, causationId: event.eventId };
      await this.recordOnce(billingStream(doc.orgId), { eventId, type: recorded.type, data: recorded.data, metadata });
    };
  }

  /**
   * Appends against the stream's exact version, and on a conflict looks for the
   * event's id before trying again: a retry after a crash is recognised on every
   * store, not only where the store remembers ids appended with `any` (issue 14).
   */
  private async recordOnce(stream: string, event: NewEvent): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const existing = await this.store.readStream(stream);
      if (existing.some((e) => e.eventId === event.eventId)) return;
      try {
        await this.store.append(stream, [event], existing.length === 0 ? 'no_stream' : existing[existing.length - 1].streamVersion);
        return;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersion) || attempt >= 5) throw error;
      }
    }
  }
}
