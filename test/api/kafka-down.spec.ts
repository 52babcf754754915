import { createServer } from 'node:net';
import { createOrg, startApp } from '../support/app';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a broker that is down at start (issue 13)', () => {
  it('delays publishing and commands over Kafka, never the HTTP port or the process', async () => {
    const started = Date.now();
    const t = await startApp({ KAFKA_BROKERS: `127.0.0.1:${await closedPort()}` });
    try {
      // Before, the command transport held createApp for about 55 s and then crashed the process.
      expect(Date.now() - started).toBeLessThan(15_000);
      const org = await createOrg(t);
      expect((await t.request('GET', `/v1/orgs/${org.orgId}`, { token: org.token })).status).toBe(200);
      // Honest meanwhile: the publisher does not run, so the replica is not ready.
      expect((await t.request('GET', '/health')).status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 2_500)); // a retry round of the command transport: still alive
      expect((await t.request('GET', '/health/live')).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
