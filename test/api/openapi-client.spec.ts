import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatehouseClient } from '../../src/client';
import { documentText, servedDocument } from '../../src/client/document';
import { startApp, type TestApp } from '../support/app';
import { createOrgAndListMembers } from '../support/typed-client';

const root = join(__dirname, '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

/** Issue 18: a typed client generated from the OpenAPI document, kept in step with it. */
describe('the typed client (src/client)', () => {
  it('was generated from the document the app serves now (else: npm run client:generate)', async () => {
    const served = documentText(await servedDocument());
    expect(served).toBe(readFileSync(join(root, 'src/client/openapi.json'), 'utf8'));
    const folder = mkdtempSync(join(tmpdir(), 'gatehouse-client-'));
    try {
      writeFileSync(join(folder, 'openapi.json'), served);
      const generated = spawnSync(bin('openapi-typescript'), [join(folder, 'openapi.json'), '--output', join(folder, 'schema.d.ts')], { encoding: 'utf8' });
      expect(generated.status).toBe(0);
      expect(readFileSync(join(folder, 'schema.d.ts'), 'utf8')).toBe(readFileSync(join(root, 'src/client/schema.d.ts'), 'utf8'));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);

  it('type-checks the calls a console makes, and refuses one the document does not allow', () => {
    const checked = spawnSync(bin('tsc'), ['--noEmit', '--strict', '--target', 'ES2022', '--module', 'commonjs', '--moduleResolution', 'node', '--esModuleInterop', '--skipLibCheck', '--types', 'node', join(root, 'test/support/typed-client.ts')], { encoding: 'utf8' });
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.status).toBe(0);
  }, 120_000);

  describe('against a started app', () => {
    let t: TestApp;
    let baseUrl: string;
    beforeAll(async () => {
      t = await startApp();
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      baseUrl = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    });
    afterAll(() => t.close());

    it('creates an org, invites, lists members and invitations, and reads an error as the ApiError it is', async () => {
      let token: string | undefined;
      const client = gatehouseClient({ baseUrl, token: () => token });
      const walked = await createOrgAndListMembers(client, (signedIn) => (token = signedIn), 'tess@example.com');
      expect(walked.memberEmails).toEqual(['tess@example.com']);
      expect(walked.nextCursor).toBeNull();
      expect(walked.pendingEmails).toEqual(['guest-tess@example.com']);
      expect(walked.missing).toEqual({ status: 404, code: 'not_found' });
      expect(walked.position).toMatch(/^\d+$/);
    });
  });
});
