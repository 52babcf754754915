import { Body, Controller, Get, HttpCode, Inject, Post, Put, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { requirePermission } from '../../domain/access/access';
import { customerBalance, customerBalanceStream, signedAmount, type BalanceDirection } from '../../domain/billing/customer-balance';
import { membership, membershipStream } from '../../domain/membership/membership';
import { DomainError, NotFound } from '../../domain/shared/errors';
import { CUSTOMER_BALANCES, type CustomerBalances } from '../../infra/billing/port';
import { OrgAccess } from '../access/org-access.service';
import { SessionGuard } from '../auth/session.guard';
import { OrgId, UserId } from '../shared/params';
import { Meta, type GatehouseRequest } from '../shared/request-context';
import { Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';
import { IsPlainText, MayOmit } from '../shared/validators';
import { POSITION } from '../shared/responses';
import { CommandType } from '../messaging/command-type';

export class StripeCustomerDto {
  @ApiProperty({ example: 'cus_NffrFeUfNV2Hib' }) @Matches(/^cus_[A-Za-z0-9]{6,64}$/, { message: 'customerId must be a Stripe customer id (cus_…)' })
  customerId!: string;
}

export class BalanceAdjustmentDto {
  @ApiProperty({ enum: ['credit', 'debit'] }) @IsIn(['credit', 'debit'])
  direction!: BalanceDirection;

  @ApiProperty({ description: 'in the smallest currency unit, more than 0' }) @IsInt() @Min(1) @Max(100_000_000)
  amountCents!: number;

  @ApiProperty() @IsString() @Matches(/\S/, { message: 'reason must say why' }) @MaxLength(500) @IsPlainText()
  reason!: string;

  @ApiPropertyOptional({ description: 'true: answer what the balance would become, change nothing' }) @MayOmit() @IsBoolean()
  preview?: boolean;
}

// Answers (issue 18: the OpenAPI document a typed client is generated from).

export class StripeCustomerLinkedDto {
  @ApiProperty({ example: 'cus_NffrFeUfNV2Hib' }) customerId!: string;
  @ApiProperty(POSITION) position!: string;
}

export class StripeBalanceDto {
  @ApiProperty({ example: 'cus_NffrFeUfNV2Hib' }) customerId!: string;
  @ApiProperty({ type: 'integer', description: "Stripe's own sign: negative = credit the customer holds" }) balanceCents!: number;
  @ApiProperty({ example: 'usd' }) currency!: string;
}

/** `preview: true`: what the balance would become; nothing changes. */
export class BalancePreviewDto {
  @ApiProperty({ type: 'integer' }) currentBalanceCents!: number;
  @ApiProperty({ type: 'integer' }) newBalanceCents!: number;
}

/** The adjustment: `done` once Stripe's transaction is recorded (within a few seconds), else `pending` (the consumer retries, R-BILL-3). */
export class BalanceAdjustmentResultDto {
  @ApiProperty({ format: 'uuid' }) adjustmentId!: string;
  @ApiProperty({ enum: ['done', 'pending'] }) status!: string;
  @ApiPropertyOptional({ description: "Stripe's balance transaction, once done" }) transactionId?: string;
  @ApiProperty({ enum: ['credit', 'debit'] }) direction!: string;
  @ApiProperty({ type: 'integer' }) amountCents!: number;
  @ApiProperty(POSITION) position!: string;
}

/** How long an adjustment's answer waits for the Stripe consumer before saying it is pending. */
const ANSWER_WITHIN_MS = 5_000;

/**
 * R-BILL-2, SPEC 5.5: a member's Stripe customer balance. The purchase service
 * links the customer; staff with credits.adjust.any preview, then credit or
 * debit with a reason. The adjustment is an event; the Stripe consumer creates the
 * balance transaction once (the event's id is Stripe's idempotency key), retrying
 * and at last dead-lettering it (R-BILL-3), and records StripeBalanceAdjusted.
 */
@ApiTags('members')
@ApiBearerAuth()
@UseGuards(SessionGuard)
@Controller('v1/orgs/:org/members/:user')
export class StripeBalanceController {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
    @Inject(CUSTOMER_BALANCES) private readonly balances: CustomerBalances,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Put('stripe-customer')
  @ApiOperation({ operationId: 'setStripeCustomer', summary: "Record the member's Stripe customer (the purchase service, billing.manage.any)" })
  @ApiOkResponse({ type: StripeCustomerLinkedDto })
  @CommandType('members.stripe-customer.set')
  async link(@OrgId() orgId: string, @UserId() userId: string, @Body() body: StripeCustomerDto, @Req() request: GatehouseRequest, @Meta('org') meta: CommandMeta) {
    const context = await this.member(orgId, userId, request, 'billing.manage.any');
    const { position } = await this.streams.handle(customerBalanceStream(orgId, userId), customerBalance, { type: 'LinkCustomer', orgId, userId, customerId: body.customerId }, context, meta);
    return { customerId: body.customerId, position };
  }

  @Get('stripe-balance')
  @ApiOperation({ operationId: 'getStripeBalance', summary: "The member's Stripe customer balance (credits.adjust.any)" })
  @ApiOkResponse({ type: StripeBalanceDto })
  @ApiResponse({ status: 409, description: 'no_stripe_customer' })
  async balance(@OrgId() orgId: string, @UserId() userId: string, @Req() request: GatehouseRequest) {
    await this.member(orgId, userId, request, 'credits.adjust.any');
    const customerId = await this.customerOf(orgId, userId);
    const { balanceCents, currency } = await this.balances.balance(customerId);
    return { customerId, balanceCents, currency };
  }

  @Post('stripe-balance')
  @HttpCode(200)
  @ApiOperation({ operationId: 'adjustStripeBalance', summary: 'Preview, then credit or debit the Stripe customer balance (credits.adjust.any)' })
  @ApiExtraModels(BalancePreviewDto, BalanceAdjustmentResultDto)
  @ApiOkResponse({ schema: { oneOf: [{ $ref: getSchemaPath(BalancePreviewDto) }, { $ref: getSchemaPath(BalanceAdjustmentResultDto) }] }, description: 'a preview, or the adjustment' })
  @CommandType('members.stripe-balance.adjust')
  async adjust(@OrgId() orgId: string, @UserId() userId: string, @Body() body: BalanceAdjustmentDto, @Req() request: GatehouseRequest, @Meta('org') meta: CommandMeta) {
    const context = await this.member(orgId, userId, request, 'credits.adjust.any');
    const customerId = await this.customerOf(orgId, userId);
    if (body.preview) {
      const { balanceCents } = await this.balances.balance(customerId);
      return { currentBalanceCents: balanceCents, newBalanceCents: balanceCents + signedAmount(body.direction, body.amountCents) };
    }
    const adjustmentId = randomUUID();
    const { position } = await this.streams.handle(
      customerBalanceStream(orgId, userId),
      customerBalance,
      { type: 'RequestAdjustment', adjustmentId, direction: body.direction, amountCents: body.amountCents, reason: body.reason },
      context,
      meta,
    );
    const done = await this.recorded(orgId, userId, adjustmentId);
    return done
      ? { adjustmentId, status: 'done', transactionId: done.transactionId, direction: body.direction, amountCents: body.amountCents, position: done.position }
      : { adjustmentId, status: 'pending', direction: body.direction, amountCents: body.amountCents, position };
  }

  /** The actor may act on this member with `permission`. */
  private async member(orgId: string, userId: string, request: GatehouseRequest, permission: string) {
    const { context } = await this.orgAccess.context(orgId, request.actor!, request.realActor);
    requirePermission(context.access, permission, context);
    if (!(await this.streams.load(membershipStream(orgId, userId), membership)).state.exists) throw new NotFound('member');
    return context;
  }

  /** The member's Stripe customer, where Stripe is configured at all. */
  private async customerOf(orgId: string, userId: string): Promise<string> {
    if (!this.balances.enabled) throw new DomainError('billing_not_configured', 'no STRIPE_SECRET_KEY is configured');
    const { state } = await this.streams.load(customerBalanceStream(orgId, userId), customerBalance);
    if (!state.customerId) throw new DomainError('no_stripe_customer', 'this member has no Stripe customer yet');
    return state.customerId;
  }

  /** The adjustment's outcome once the Stripe consumer has recorded it, within ANSWER_WITHIN_MS. */
  private async recorded(orgId: string, userId: string, adjustmentId: string) {
    const until = this.clock().getTime() + ANSWER_WITHIN_MS;
    for (;;) {
      const events = await this.streams.store.readStream(customerBalanceStream(orgId, userId));
      const done = events.find((e) => e.type === 'StripeBalanceAdjusted' && e.data.adjustmentId === adjustmentId);
      if (done && done.type === 'StripeBalanceAdjusted') return { transactionId: done.data.transactionId, position: done.position };
      if (Date.now() > until) return undefined;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
