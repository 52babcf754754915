import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, header, readBody } from './http';

/**
 * A local stand-in for the few Stripe v1 endpoints Gatehouse uses, so the real `stripe`
 * SDK can be pointed at it: `new Stripe(secretKey, sdkConfig)`.
 *
 * Idempotency follows Stripe's v1 rules: a POST's first response is saved under its
 * Idempotency-Key (once the endpoint ran: parameter errors are not saved) and replayed, with
 * `Idempotent-Replayed: true`, to a retry with the same parameters; the same key with other
 * parameters or another endpoint is a 400 `idempotency_error`.
 */

export interface RecordedRequest {
  method: string;
  /** Without the query string. */
  path: string;
  query: Record<string, string>;
  /** The form body decoded, keys as sent: `quantity`, `metadata[plan]`. */
  body: Record<string, string>;
  idempotencyKey?: string;
  stripeVersion?: string;
  status: number;
  /** Answered from the idempotency store, not executed again. */
  replayed: boolean;
  /** Executed, then the connection was cut before the answer (see dropNext). */
  dropped: boolean;
}

export interface FakeSubscriptionItem {
  id: string;
  subscription: string;
  quantity: number;
  price: string;
  metadata: Record<string, string>;
}

export interface FakeBalanceTransaction {
  id: string;
  customer: string;
  amount: number;
  currency: string;
  description: string | null;
  ending_balance: number;
  created: number;
}

export interface FakeCustomer {
  id: string;
  email: string | null;
  /** In the smallest currency unit; negative is credit the customer can spend. */
  balance: number;
  currency: string | null;
  transactions: FakeBalanceTransaction[];
}

export interface FakeStripe {
  port: number;
  secretKey: string;
  /** The options the real SDK needs to reach this server (and not retry on its own). */
  sdkConfig: { host: string; port: number; protocol: 'http'; maxNetworkRetries: number; telemetry: boolean };
  requests: RecordedRequest[];
  subscriptionItems: Map<string, FakeSubscriptionItem>;
  customers: Map<string, FakeCustomer>;
  addSubscriptionItem(quantity: number, options?: { subscriptionId?: string; price?: string }): { subscriptionId: string; itemId: string };
  addCustomer(options?: { email?: string; balance?: number; currency?: string }): string;
  /**
   * The next `n` requests (after the API key check) fail with `status` (500 unless told) and
   * Stripe's error shape, before anything runs: nothing changes and nothing is saved under the
   * idempotency key, so a retry with the same key executes.
   */
  failNext(n: number, status?: number): void;
  /**
   * The next `n` requests run (and are saved under their idempotency key), then the connection
   * is cut before the answer: the response lost on the way back.
   */
  dropNext(n: number): void;
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body: unknown;
}

interface SavedAnswer extends Answer {
  endpoint: string;
  params: string;
}

const DEFAULT_API_VERSION = '2026-10-28.endive';
const PRORATION_BEHAVIORS = ['create_prorations', 'none', 'always_invoice'];

export async function startFakeStripe(): Promise<FakeStripe> {
  const secretKey = `sk_test_${id('', 24)}`;
  const requests: RecordedRequest[] = [];
  const subscriptionItems = new Map<string, FakeSubscriptionItem>();
  const customers = new Map<string, FakeCustomer>();
  const saved = new Map<string, SavedAnswer>();
  const failures: number[] = [];
  let drops = 0;

  const route = (method: string, path: string, body: Record<string, string>): Answer => {
    let match: RegExpMatchArray | null;
    if ((match = path.match(/^\/v1\/subscription_items\/([^/]+)$/))) {
      const item = subscriptionItems.get(decodeURIComponent(match[1]));
      if (!item) return missing('subscription item', decodeURIComponent(match[1]));
      if (method === 'GET') return ok(subscriptionItemJson(item));
      if (method === 'POST') return updateSubscriptionItem(item, body);
    }
    if ((match = path.match(/^\/v1\/customers\/([^/]+)(\/balance_transactions)?$/))) {
      const customer = customers.get(decodeURIComponent(match[1]));
      if (!customer) return missing('customer', decodeURIComponent(match[1]));
      if (!match[2] && method === 'GET') return ok(customerJson(customer));
      if (match[2] && method === 'GET') return ok({ object: 'list', data: [...customer.transactions].reverse().map(balanceTransactionJson), has_more: false, url: path });
      if (match[2] && method === 'POST') return createBalanceTransaction(customer, body);
    }
    return stripeError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const method = req.method ?? 'GET';
    const [path, search = ''] = (req.url ?? '').split('?');
    const idempotencyKey = header(req, 'idempotency-key');
    const stripeVersion = header(req, 'stripe-version');
    const recorded: RecordedRequest = { method, path, query: decodeForm(search), body: decodeForm(raw), idempotencyKey, stripeVersion, status: 0, replayed: false, dropped: false };
    requests.push(recorded);
    const send = ({ status, body }: Answer, extraHeaders: Record<string, string> = {}) => {
      recorded.status = status;
      res.writeHead(status, {
        'content-type': 'application/json',
        'request-id': id('req_', 14),
        'stripe-version': stripeVersion ?? DEFAULT_API_VERSION,
        ...(method === 'POST' && idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        ...extraHeaders,
      });
      res.end(JSON.stringify(body, null, 2));
    };

    const denied = checkApiKey(header(req, 'authorization'), secretKey);
    if (denied) return send(denied);

    const failure = failures.shift();
    if (failure !== undefined) return send(injectedError(failure));

    // Stripe keys only POSTs: GET and DELETE are idempotent already.
    const keyed = method === 'POST' && idempotencyKey !== undefined;
    const endpoint = `${method} ${path}`;
    const params = JSON.stringify(Object.entries(recorded.body).sort(([a], [b]) => a.localeCompare(b)));
    const earlier = keyed ? saved.get(idempotencyKey) : undefined;
    if (earlier) {
      if (earlier.endpoint !== endpoint || earlier.params !== params) {
        return send(stripeError(400, 'idempotency_error', `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`));
      }
      recorded.replayed = true;
      return send(earlier, { 'idempotent-replayed': 'true' });
    }

    const answer = route(method, path, recorded.body);
    if (keyed && answer.status !== 400) saved.set(idempotencyKey, { ...answer, endpoint, params });
    if (drops > 0) {
      drops--;
      recorded.status = answer.status;
      recorded.dropped = true;
      return void req.socket.destroy();
    }
    send(answer);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(stripeError(500, 'api_error', `Fake Stripe failed: ${String(error)}`).body));
      } else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    secretKey,
    sdkConfig: { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0, telemetry: false },
    requests,
    subscriptionItems,
    customers,
    addSubscriptionItem(quantity, options = {}) {
      const subscriptionId = options.subscriptionId ?? id('sub_', 24);
      const itemId = id('si_', 14);
      subscriptionItems.set(itemId, { id: itemId, subscription: subscriptionId, quantity, price: options.price ?? 'price_seat', metadata: {} });
      return { subscriptionId, itemId };
    },
    addCustomer(options = {}) {
      const customerId = id('cus_', 14);
      customers.set(customerId, { id: customerId, email: options.email ?? null, balance: options.balance ?? 0, currency: options.currency ?? null, transactions: [] });
      return customerId;
    },
    failNext(n, status = 500) {
      for (let i = 0; i < n; i++) failures.push(status);
    },
    dropNext(n) {
      drops += n;
    },
    close: () => closeServer(server),
  };
}

function updateSubscriptionItem(item: FakeSubscriptionItem, body: Record<string, string>): Answer {
  const unknown = unknownParam(body, ['quantity', 'proration_behavior', 'proration_date', 'payment_behavior', 'price', 'off_session', 'metadata']);
  if (unknown) return unknown;
  let quantity = item.quantity;
  if (body.quantity !== undefined) {
    if (!/^\d+$/.test(body.quantity)) return stripeError(400, 'invalid_request_error', `Invalid non-negative integer: ${body.quantity}`, { code: 'parameter_invalid_integer', param: 'quantity' });
    quantity = Number(body.quantity);
  }
  if (body.proration_behavior !== undefined && !PRORATION_BEHAVIORS.includes(body.proration_behavior)) {
    return stripeError(400, 'invalid_request_error', 'Invalid proration_behavior: must be one of create_prorations, none, or always_invoice', { param: 'proration_behavior' });
  }
  item.quantity = quantity;
  item.price = body.price ?? item.price;
  item.metadata = applyMetadata(item.metadata, body);
  return ok(subscriptionItemJson(item));
}

function createBalanceTransaction(customer: FakeCustomer, body: Record<string, string>): Answer {
  const unknown = unknownParam(body, ['amount', 'currency', 'description', 'metadata']);
  if (unknown) return unknown;
  for (const param of ['amount', 'currency']) {
    if (body[param] === undefined) return stripeError(400, 'invalid_request_error', `Missing required param: ${param}.`, { code: 'parameter_missing', param });
  }
  if (!/^-?\d+$/.test(body.amount)) return stripeError(400, 'invalid_request_error', `Invalid integer: ${body.amount}`, { code: 'parameter_invalid_integer', param: 'amount' });
  const currency = body.currency.toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) return stripeError(400, 'invalid_request_error', `Invalid currency: ${body.currency}.`, { param: 'currency' });
  if (customer.currency && customer.currency !== currency) {
    return stripeError(400, 'invalid_request_error', `The currency ${currency} does not match the customer's currency ${customer.currency}.`, { param: 'currency' });
  }
  customer.currency = currency;
  customer.balance += Number(body.amount);
  const transaction: FakeBalanceTransaction = {
    id: id('cbtxn_', 24),
    customer: customer.id,
    amount: Number(body.amount),
    currency,
    description: body.description ?? null,
    ending_balance: customer.balance,
    created: now(),
  };
  customer.transactions.push(transaction);
  return ok(balanceTransactionJson(transaction));
}

const subscriptionItemJson = (item: FakeSubscriptionItem) => ({
  id: item.id,
  object: 'subscription_item',
  billing_thresholds: null,
  created: now(),
  discounts: [],
  metadata: item.metadata,
  price: { id: item.price, object: 'price', active: true, currency: 'usd', recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed' }, type: 'recurring' },
  quantity: item.quantity,
  subscription: item.subscription,
  tax_rates: [],
});

const customerJson = (customer: FakeCustomer) => ({
  id: customer.id,
  object: 'customer',
  balance: customer.balance,
  created: now(),
  currency: customer.currency,
  delinquent: false,
  description: null,
  email: customer.email,
  livemode: false,
  metadata: {},
  name: null,
});

const balanceTransactionJson = (transaction: FakeBalanceTransaction) => ({
  object: 'customer_balance_transaction',
  ...transaction,
  credit_note: null,
  invoice: null,
  livemode: false,
  metadata: {},
  type: 'adjustment',
});

function checkApiKey(authorization: string | undefined, secretKey: string): Answer | undefined {
  const key = authorization?.match(/^Bearer (.+)$/)?.[1];
  if (!key) {
    return stripeError(401, 'invalid_request_error', "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.");
  }
  if (key !== secretKey) return stripeError(401, 'invalid_request_error', `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`);
  return undefined;
}

/** What Stripe answers with that status; the SDK picks its error class from status and type. */
function injectedError(status: number): Answer {
  if (status === 402) return stripeError(status, 'card_error', 'Your card was declined.', { code: 'card_declined' });
  if (status === 409) return stripeError(status, 'invalid_request_error', 'This object cannot be accessed right now because another API request or Stripe process is currently accessing it.', { code: 'lock_timeout' });
  if (status === 429) return stripeError(status, 'invalid_request_error', 'Request rate limit exceeded.', { code: 'rate_limit' });
  if (status >= 500) return stripeError(status, 'api_error', 'An unknown error occurred');
  return stripeError(status, 'invalid_request_error', `Request failed with status ${status}`);
}

function unknownParam(body: Record<string, string>, allowed: string[]): Answer | undefined {
  const unknown = Object.keys(body).find((key) => !key.startsWith('expand[') && !allowed.includes(key.replace(/\[.*$/, '')));
  return unknown === undefined ? undefined : stripeError(400, 'invalid_request_error', `Received unknown parameter: ${unknown}`, { code: 'parameter_unknown', param: unknown });
}

/** `metadata[k]=v` sets, `metadata[k]=` removes, `metadata=` clears. */
function applyMetadata(metadata: Record<string, string>, body: Record<string, string>): Record<string, string> {
  const next = body.metadata === '' ? {} : { ...metadata };
  for (const [key, value] of Object.entries(body)) {
    const name = key.match(/^metadata\[(.+)\]$/)?.[1];
    if (name === undefined) continue;
    if (value === '') delete next[name];
    else next[name] = value;
  }
  return next;
}

const ok = (body: unknown): Answer => ({ status: 200, body });

const missing = (what: string, objectId: string): Answer =>
  stripeError(404, 'invalid_request_error', `No such ${what}: '${objectId}'`, { code: 'resource_missing', param: 'id' });

function stripeError(status: number, type: string, message: string, extra: { code?: string; param?: string } = {}): Answer {
  const docUrl = extra.code ? { doc_url: `https://stripe.com/docs/error-codes/${extra.code.replace(/_/g, '-')}` } : {};
  return { status, body: { error: { type, message, ...extra, ...docUrl } } };
}

const now = () => Math.floor(Date.now() / 1000);

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function id(prefix: string, length: number): string {
  return prefix + [...randomBytes(length)].map((byte) => BASE62[byte % 62]).join('');
}

function decodeForm(raw: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(raw));
}

