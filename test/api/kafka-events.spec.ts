import type { EventStore } from '../../infra/eventstore/port';
import type { Recorded } from '../../domain/events';
import { KafkaPublisher } from '../../src/messaging/kafka-publisher';
import { EVENT_STORE } from '../../src/shared/tokens';
import { startKafka, type RunningKafka } from '../rig/kafka';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe';
import { randomUUID } from 'node:crypto';
import { produce, readTopic, type ReadMessage } from '../support/kafka';
import { ConsumerRunner } from '../../src/messaging/consumer-runner';

interface Published {
  key: string;
  partition: number;
  offset: string;
  envelope: { eventId: string; type: string; position: string; orgId?: string; stream: string; data: Record<string, unknown> };
}

/** Reads gatehouse.events from the start until `done` says it has seen enough. */
async function readEvents(brokers: string, prefix: string, done: (seen: Published[]) => boolean, timeoutMs = 60_000): Promise<Published[]> {
  // Each message is parsed once as it arrives: `done` is asked after every message, and parsing all of them each time grew with the square of their number.
  const published: Published[] = [];
  let parsed = 0;
  const parse = (seen: ReadMessage[]) => {
    for (; parsed < seen.length; parsed++) {
      const m = seen[parsed];
      try {
        const envelope = JSON.parse(m.value);
        if (envelope?.eventId) published.push({ key: m.key!, partition: m.partition, offset: m.offset, envelope } as Published);
      } catch {
        // a poison message a test put there
      }
    }
    return published;
  };
  return parse(await readTopic(brokers, `${prefix}.events`, (seen) => done(parse(seen)), timeoutMs));
}

/** Each app its own topics on the shared broker: SPEC's `gatehouse.*` names with another prefix. */
const newPrefix = () => `test-${randomUUID().slice(0, 8)}`;

async function waitForPublisher(t: TestApp, timeoutMs = 60_000): Promise<void> {
  const head = await (t.app.get(EVENT_STORE) as EventStore).headPosition();
  const publisher = t.app.get(KafkaPublisher);
  const until = Date.now() + timeoutMs;
  while (publisher.position < head) {
    if (Date.now() > until) throw new Error(`publisher at ${publisher.position}, head ${head}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function allEvents(t: TestApp): Promise<Recorded[]> {
  const { events } = await (t.app.get(EVENT_STORE) as EventStore).readAll(0n, { limit: 1_000_000 });
  return events;
}

/** Every event once at least, and each key's events in log order (duplicates allowed: at-least-once). */
function expectCompleteAndOrdered(log: Recorded[], published: Published[]): void {
  const firstSeen = new Map<string, Published>();
  for (const p of published) if (!firstSeen.has(p.envelope.eventId)) firstSeen.set(p.envelope.eventId, p);
  expect(log.filter((e) => !firstSeen.has(e.eventId)).map((e) => e.type)).toEqual([]);
  const byKey = new Map<string, bigint[]>();
  for (const p of firstSeen.values()) byKey.set(p.key, [...(byKey.get(p.key) ?? []), BigInt(p.envelope.position)]);
  for (const [key, positions] of byKey) {
    const sorted = [...positions].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect({ key, positions }).toEqual({ key, positions: sorted });
  }
  // One key, one partition: an org's order holds for any consumer.
  const partitions = new Map<string, Set<number>>();
  for (const p of published) partitions.set(p.key, (partitions.get(p.key) ?? new Set()).add(p.partition));
  expect([...partitions.values()].filter((s) => s.size > 1)).toEqual([]);
}

describe('events out to Kafka (SPEC 3.2), on a real broker', () => {
  it('publishes every event with its envelope, keyed by org, without password or token hashes', async () => {
    const prefix = newPrefix();
    const t = await startApp({ KAFKA_BROKERS: process.env.KAFKA_BROKERS!, KAFKA_PARTITIONS: '3', KAFKA_TOPIC_PREFIX: prefix });
    try {
      const org = await createOrg(t);
      await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'kafka@example.com' } });
      await waitForPublisher(t);
      const log = await allEvents(t);
      const ids = new Set(log.map((e) => e.eventId));
      // The topic is shared with other tests: keep this app's events.
      const published = await readEvents(process.env.KAFKA_BROKERS!, prefix, (seen) => [...ids].every((id) => seen.some((p) => p.envelope.eventId === id)));
      expectCompleteAndOrdered(log, published);
      const created = published.find((p) => p.envelope.type === 'OrganizationCreated')!;
      expect(created.key).toBe(org.orgId);
      expect(created.envelope).toMatchObject({ stream: `org-${org.orgId}`, position: expect.stringMatching(/^\d+$/) });
      expect(created.envelope).toEqual(expect.objectContaining({ eventId: expect.any(String), schemaVersion: 1, actor: expect.any(Object), correlationId: expect.any(String), recordedAt: expect.any(String) }));
      const passwordSet = published.find((p) => p.envelope.type === 'PasswordSet')!;
      expect(passwordSet.envelope.data).not.toHaveProperty('passwordHash');
      const invited = published.find((p) => p.envelope.type === 'UserInvited')!;
      // R-ACC-3: personal data leaves as stored, sealed with the person's key, so an erasure reaches the topic's copies too.
      expect(invited.envelope.data).toMatchObject({ email: expect.stringMatching(/^pd1\./) });
      expect(published.filter((p) => JSON.stringify(p.envelope).includes('kafka@example.com')).map((p) => p.envelope.type)).toEqual([]);
      // The email consumer read it back from Kafka, opened the address, and sent the invitation.
      expect(t.app.get(ConsumerRunner).status().map((c) => c.source)).toEqual(['kafka', 'kafka', 'kafka']);
      expect(t.mailbox().filter((m) => m.to === 'kafka@example.com')).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('a deployment that moves from the log to Kafka sends no email twice', async () => {
    const first = await startApp();
    const org = await createOrg(first);
    await first.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'moved@example.com' } });
    expect(first.mailbox().filter((m) => m.to === 'moved@example.com')).toHaveLength(1);
    await first.close({ keepData: true });
    // Now with Kafka: the whole log is published, and the consumers read all of it from the topic.
    const second = await startApp({ KAFKA_BROKERS: process.env.KAFKA_BROKERS!, KAFKA_PARTITIONS: '1', KAFKA_TOPIC_PREFIX: newPrefix() }, { dataDir: first.dataDir });
    try {
      await second.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'after-move@example.com' } });
      expect(second.app.get(ConsumerRunner).status().map((c) => c.source)).toEqual(['kafka', 'kafka', 'kafka']);
      expect(second.mailbox().filter((m) => m.to === 'moved@example.com')).toHaveLength(1);
      expect(second.mailbox().filter((m) => m.to === 'after-move@example.com')).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('R-BILL-3 a poison message on gatehouse.events lands in the dead letters (and on gatehouse.dead-letters) and the consumers go on', async () => {
    const prefix = newPrefix();
    const t = await startApp({ KAFKA_BROKERS: process.env.KAFKA_BROKERS!, KAFKA_PARTITIONS: '1', KAFKA_TOPIC_PREFIX: prefix });
    try {
      const org = await createOrg(t);
      await produce(process.env.KAFKA_BROKERS!, `${prefix}.events`, [{ key: org.orgId, value: '{"eventId": "half an envelope', headers: { 'gatehouse-event-type': 'LinkEmailRequested' } }]);
      await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'after-poison@example.com' } });
      expect(t.mailbox().filter((m) => m.to === 'after-poison@example.com')).toHaveLength(1);
      const letters = await t.app.get(ConsumerRunner).list();
      expect(letters).toEqual([expect.objectContaining({ consumer: 'email', eventType: 'malformed', reason: expect.stringContaining('malformed message'), status: 'dead' })]);
      await expect(t.app.get(ConsumerRunner).redrive(letters[0].id)).rejects.toMatchObject({ code: 'not_redrivable' });
      const [onTopic] = await readTopic(process.env.KAFKA_BROKERS!, `${prefix}.dead-letters`, (seen) => seen.length >= 1);
      expect(JSON.parse(onTopic.value)).toMatchObject({ source: `${prefix}.events`, consumer: 'email', eventType: 'malformed' });
    } finally {
      await t.close();
    }
  });

  describe('across a broker kill and restart', () => {
    let kafka: RunningKafka;
    let stripe: FakeStripe;
    let t: TestApp;
    let system: OrgSession;

    beforeAll(async () => {
      [kafka, stripe] = await Promise.all([startKafka({ own: true }), startFakeStripe()]);
      const first = await startApp();
      system = await createOrg(first, { name: 'Operators' });
      await first.close({ keepData: true });
      t = await startApp({ SYSTEM_ADMIN_ORG: system.orgId, KAFKA_BROKERS: kafka.brokers, KAFKA_PARTITIONS: '4', KAFKA_TOPIC_PREFIX: 'gatehouse', STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_API_URL: `http://127.0.0.1:${stripe.port}` }, { dataDir: first.dataDir });
    }, 180_000);
    afterAll(async () => {
      await t?.close();
      await Promise.all([kafka?.stop(), stripe?.close()]);
    });

    it('1 000 commands: every event published, in order per org, and each seat change reaches Stripe once (R-BILL-1)', async () => {
      const orgs: Array<OrgSession & { itemId: string }> = [];
      for (let i = 0; i < 4; i++) {
        const org = await createOrg(t, { name: `Kafka ${i}` });
        const { subscriptionId, itemId } = stripe.addSubscriptionItem(1);
        expect((await t.request('PUT', `/v1/system/orgs/${org.orgId}/plan`, { token: system.token, body: { plan: 'team', stripe: { customerId: `cus_K${i}xyz`, subscriptionId, subscriptionItemId: itemId } } })).status).toBe(200);
        orgs.push({ ...org, itemId });
      }
      const COMMANDS = 1_000;
      let accepted = 0;
      const send = async (n: number) => {
        const org = orgs[n % orgs.length];
        const created = await t.app.inject({ method: 'POST', url: `/v1/orgs/${org.orgId}/members`, headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' }, payload: JSON.stringify({ email: `k${n}@example.com`, firstName: 'K', lastName: `N${n}`, mode: 'setup-email' }) });
        expect(created.statusCode).toBe(201);
        accepted++;
      };
      // Four clients in parallel; the broker dies a third of the way in and comes back while commands keep coming.
      const clients = [0, 1, 2, 3].map(async (c) => {
        for (let n = c; n < COMMANDS; n += 4) await send(n);
      });
      const outage = (async () => {
        while (accepted < COMMANDS / 3) await new Promise((r) => setTimeout(r, 20));
        await kafka.kill();
        await new Promise((r) => setTimeout(r, 2_000));
        await kafka.restart();
      })();
      await Promise.all([...clients, outage]);
      expect(accepted).toBe(COMMANDS);

      // Seat changes append SeatQuantityUpdated, which is published and read again: settled() waits for all of it.
      await t.app.get(ConsumerRunner).settled(120_000);
      await waitForPublisher(t, 120_000);
      const log = await allEvents(t);
      const ids = new Set(log.map((e) => e.eventId));
      const distinct = new Set<string>();
      let counted = 0;
      const published = await readEvents(kafka.brokers, 'gatehouse', (seen) => {
        for (; counted < seen.length; counted++) distinct.add(seen[counted].envelope.eventId);
        return distinct.size >= ids.size;
      }, 120_000);
      expectCompleteAndOrdered(log, published);

      // Seats: the consumers follow the log, whatever the broker does; one applied update per member added.
      // The email and seat consumers read gatehouse.events too: across the outage, each seat change reached Stripe once.
      expect(t.app.get(ConsumerRunner).status().map((s) => s.source)).toEqual(['kafka', 'kafka', 'kafka']);
      await t.app.get(ConsumerRunner).settled(120_000);
      for (const org of orgs) {
        const applied = stripe.requests.filter((r) => r.method === 'POST' && r.path === `/v1/subscription_items/${org.itemId}` && !r.replayed && r.status === 200);
        expect(applied).toHaveLength(1 + COMMANDS / orgs.length);
        expect(new Set(applied.map((r) => r.idempotencyKey)).size).toBe(applied.length);
        expect(stripe.subscriptionItems.get(org.itemId)!.quantity).toBe(1 + COMMANDS / orgs.length);
      }
    }, 600_000);
  });
});
