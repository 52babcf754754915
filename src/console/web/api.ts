import createClient from 'openapi-fetch';
import type { components, paths } from '../../client/schema';

/**
 * The console's one way to the API: the client generated from Gatehouse's own
 * OpenAPI document (src/client/schema.d.ts), so every path, parameter, body and
 * answer here is checked against what the server documents. It carries the
 * session's bearer token, and sends the position of the person's last write as
 * Gatehouse-Min-Position on every read: a list never shows the state from before
 * their own action (R-LIST-5).
 */
export type Schemas = components['schemas'];
/** The query parameters a GET path takes, as documented. */
export type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;

export interface ApiError {
  status: number;
  code: string;
  message: string;
  details?: unknown;
}

const TOKEN = 'gatehouse.token';
let lastPosition = 0n;

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN);
  },
  set(token: string | null): void {
    if (token) sessionStorage.setItem(TOKEN, token);
    else sessionStorage.removeItem(TOKEN);
  },
};

function remember(position: unknown): void {
  if (typeof position === 'string' && /^\d+$/.test(position) && BigInt(position) > lastPosition) lastPosition = BigInt(position);
}

export const api = createClient<paths>({ baseUrl: location.origin });
api.use({
  onRequest({ request }) {
    if (!request.headers.has('accept')) request.headers.set('accept', 'application/json');
    if (session.token) request.headers.set('authorization', `Bearer ${session.token}`);
    if (request.method === 'GET' && lastPosition > 0n) request.headers.set('gatehouse-min-position', String(lastPosition));
    return request;
  },
  onResponse({ response }) {
    remember(response.headers.get('gatehouse-position'));
    return response;
  },
});

/** The answer of a call, or its error thrown as ApiError (the server's `{code, message, details}`). */
export async function must<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) {
    const body = (typeof error === 'object' && error !== null ? error : {}) as Partial<ApiError>;
    throw { status: response.status, code: body.code ?? `http_${response.status}`, message: body.message ?? response.statusText, details: body.details } satisfies ApiError;
  }
  if (typeof data === 'object' && data !== null && 'position' in data) remember(data.position);
  return data as T;
}

export const isApiError = (value: unknown): value is ApiError => typeof value === 'object' && value !== null && 'code' in value && 'status' in value;

/** A message fit to show: the API's own, with its stable code. */
export const explain = (error: unknown): string => (isApiError(error) ? `${error.message} (${error.code})` : String(error));
