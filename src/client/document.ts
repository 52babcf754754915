import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../app';
import { loadSettings } from '../config/config';

/**
 * The OpenAPI document exactly as /docs/openapi.json serves it, from an app built in-process on a
 * throwaway embedded store: no server, no port, no configuration needed. The typed client
 * (src/client/schema.d.ts) is generated from it.
 */
export async function servedDocument(): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-openapi-'));
  // The document does not depend on where data lives or which stores run: the embedded defaults, and no email or Stripe consumers.
  const settings = loadSettings({ DATA_DIR: dataDir, CONSUMERS: 'off' });
  const app = await createApp({ settings, logger: false });
  try {
    const response = await app.inject({ method: 'GET', url: '/docs/openapi.json' });
    if (response.statusCode !== 200) throw new Error(`GET /docs/openapi.json answered ${response.statusCode}`);
    return JSON.parse(response.body) as Record<string, unknown>;
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The document as committed in src/client/openapi.json: two-space JSON and a final newline, so a change reads as a diff. */
export const documentText = (document: Record<string, unknown>): string => `${JSON.stringify(document, null, 2)}\n`;
