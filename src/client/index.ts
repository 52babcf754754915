import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema';

export type { components, operations, paths } from './schema';

/** A typed client of the HTTP API, generated from its OpenAPI document (issue 18): paths, bodies and answers are checked by TypeScript. */
export type GatehouseClient = Client<paths>;

/**
 * `baseUrl`: where Gatehouse answers ('' in a page it serves). `token`: the bearer token to send, read at
 * each request (it changes at sign-in). Commands answer `position`; pass it as the Gatehouse-Min-Position
 * header of the next read to see one's own write (SPEC 3.1).
 */
export function gatehouseClient(options: { baseUrl: string; token?: () => string | undefined; fetch?: typeof fetch }): GatehouseClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: options.fetch });
  client.use({
    onRequest({ request }) {
      const token = options.token?.();
      if (token) request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  });
  return client;
}
