import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { readTopic } from '../support/kafka';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

/** A plain kafkajs caller (no Nest): sends on gatehouse.commands with Nest's reply headers, awaits its reply. */
class Caller {
  private readonly pending = new Map<string, (reply: any) => void>();
  private constructor(
    private readonly producer: Producer,
    private readonly consumer: Consumer,
    private readonly replyTopic: string,
    private readonly commandsTopic: string,
  ) {}

  static async connect(brokers: string, commandsTopic: string): Promise<Caller> {
    const kafka = new Kafka({ clientId: 'test-caller', brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } });
    const replyTopic = `test.replies.${randomUUID()}`;
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: replyTopic, numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `test-caller-${randomUUID()}` });
    await Promise.all([producer.connect(), consumer.connect()]);
    await consumer.subscribe({ topic: replyTopic, fromBeginning: true });
    const caller = new Caller(producer, consumer, replyTopic, commandsTopic);
    await consumer.run({
      eachMessage: async ({ message }) => {
        const id = message.headers?.kafka_correlationId?.toString();
        if (id) caller.pending.get(id)?.(JSON.parse(message.value!.toString()));
      },
    });
    return caller;
  }

  send(value: unknown, token?: string, timeoutMs = 30_000): Promise<any> {
    return this.sendAll([value], token, undefined, timeoutMs)[0];
  }

  /** Several commands in one produce request, in this order, each with the message key given (none: no key). */
  sendAll(values: unknown[], token?: string, key?: string, timeoutMs = 30_000): Array<Promise<any>> {
    const ids = values.map(() => randomUUID());
    const replies = ids.map(
      (id) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no reply')), timeoutMs);
          this.pending.set(id, (reply) => {
            clearTimeout(timer);
            resolve(reply);
          });
        }),
    );
    const messages = values.map((value, i) => ({
      ...(key ? { key } : {}),
      value: typeof value === 'string' ? value : JSON.stringify(value),
      headers: { kafka_correlationId: ids[i], kafka_replyTopic: this.replyTopic, kafka_replyPartition: '0', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    }));
    const sent = this.producer.send({ topic: this.commandsTopic, messages });
    return replies.map((reply) => Promise.race([reply, sent.then(() => new Promise(() => undefined))]));
  }

  async close(): Promise<void> {
    await Promise.all([this.producer.disconnect(), this.consumer.disconnect()]);
  }
}

describe('commands over Kafka, request/reply on gatehouse.commands (SPEC 3.2)', () => {
  let t: TestApp;
  let org: OrgSession;
  let caller: Caller;

  // Its own topics on the shared broker (SPEC's gatehouse.* names under another prefix).
  const prefix = `test-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    t = await startApp({ KAFKA_BROKERS: process.env.KAFKA_BROKERS!, KAFKA_PARTITIONS: '2', KAFKA_TOPIC_PREFIX: prefix });
    org = await createOrg(t);
    caller = await Caller.connect(process.env.KAFKA_BROKERS!, `${prefix}.commands`);
  }, 120_000);
  afterAll(async () => {
    await caller?.close();
    await t?.close();
  });

  it('a command runs with the caller’s credentials and replies with its result and position', async () => {
    const reply = await caller.send({ type: 'invitations.create', payload: { org: org.orgId, email: 'over-kafka@example.com' }, idempotencyKey: `k-${randomUUID()}` }, org.token);
    expect(reply).toMatchObject({ ok: true, result: { invitationId: expect.any(String), resent: false }, position: expect.stringMatching(/^\d+$/) });
    const pending = await t.request('GET', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, headers: { 'gatehouse-min-position': reply.position } });
    expect(pending.body.items.map((i: { email: string }) => i.email)).toContain('over-kafka@example.com');
    // Seen by /metrics as HTTP's requests are, by type and the status HTTP would have given.
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/gatehouse_kafka_command_duration_seconds_count\{type="invitations.create",status="200"\} [1-9]/);
  });

  it('the same validation, authorization and error codes as HTTP, and a rejected command changes nothing', async () => {
    expect(await caller.send({ type: 'members.create', payload: { org: org.orgId, email: 'not-an-email', firstName: 'A', lastName: 'B', mode: 'setup-email' } }, org.token)).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(await caller.send({ type: 'invitations.create', payload: { org: org.orgId, email: 'x@example.com' } })).toMatchObject({ ok: false, error: { code: 'unauthenticated' } });
    const stranger = await createOrg(t);
    expect(await caller.send({ type: 'invitations.create', payload: { org: org.orgId, email: 'x@example.com' } }, stranger.token)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await caller.send({ type: 'nope', payload: {} }, org.token)).toMatchObject({ ok: false, error: { code: 'unknown_command' } });
    expect(await caller.send('{not json', org.token)).toMatchObject({ ok: false, error: { code: 'unknown_command' } });
    // Both poison messages are on the dead-letter topic, with their reason and without their content.
    const letters = (await readTopic(process.env.KAFKA_BROKERS!, `${prefix}.dead-letters`, (seen) => seen.length >= 2)).map((m) => JSON.parse(m.value));
    expect(letters).toEqual([
      expect.objectContaining({ source: `${prefix}.commands`, reason: 'unknown command type', type: 'nope' }),
      expect.objectContaining({ source: `${prefix}.commands`, reason: 'not a JSON object', type: null, bytes: 9 }),
    ]);
    expect(await caller.send({ type: 'members.disable', payload: { org: org.orgId } }, org.token)).toMatchObject({ ok: false, error: { code: 'validation_failed', message: 'payload.user is required' } });
  });

  it('a refusal carries the code, message and details HTTP gives: from a guard, an id pipe, the validation pipe and a decider', async () => {
    const member = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: `refused-${randomUUID().slice(0, 8)}@example.com`, firstName: 'Rita', lastName: 'Refused', mode: 'setup-email' } });
    const cases: Array<[type: string, payload: Record<string, unknown>, method: string, path: string, body?: Record<string, unknown>]> = [
      ['system.orgs.suspend', { org: org.orgId, reason: 'unpaid' }, 'POST', `/v1/system/orgs/${org.orgId}/suspend`, { reason: 'unpaid' }],
      ['members.disable', { org: org.orgId, user: 'not-a-uuid' }, 'POST', `/v1/orgs/${org.orgId}/members/not-a-uuid/disable`],
      ['members.role.change', { org: org.orgId, user: member.body.userId, role: 42, extra: true }, 'PUT', `/v1/orgs/${org.orgId}/members/${member.body.userId}/role`, { role: 42, extra: true }],
      ['members.disable', { org: org.orgId, user: org.ownerId }, 'POST', `/v1/orgs/${org.orgId}/members/${org.ownerId}/disable`],
      ['members.grant.revoke', { org: org.orgId, user: member.body.userId, grant: randomUUID() }, 'DELETE', `/v1/orgs/${org.orgId}/members/${member.body.userId}/grants/${randomUUID()}`],
    ];
    for (const [type, payload, method, path, body] of cases) {
      const http = await t.request(method as 'POST', path, { token: org.token, ...(body ? { body } : {}) });
      expect(http.status).toBeGreaterThanOrEqual(400);
      const kafka = await caller.send({ type, payload }, org.token);
      expect({ type, reply: kafka }).toEqual({ type, reply: { ok: false, error: { code: http.body.code, kind: expect.any(String), message: http.body.message, ...(http.body.details ? { details: http.body.details } : {}) } } });
    }
  });

  it('commands with one message key run one after the other, in the order sent', async () => {
    const member = await t.request('POST', `/v1/orgs/${org.orgId}/members`, { token: org.token, body: { email: `ordered-${randomUUID().slice(0, 8)}@example.com`, firstName: 'Otis', lastName: 'Ordered', mode: 'setup-email' } });
    const user = { org: org.orgId, user: member.body.userId as string };
    // The first hashes a password (tens of ms); run side by side, the quick ones after it would commit first.
    const commands = [
      { type: 'members.password.set', payload: { ...user, password: 'another long phrase 9' } },
      { type: 'members.disable', payload: user },
      { type: 'members.enable', payload: user },
      { type: 'members.role.change', payload: { ...user, role: 'admin' } },
      { type: 'members.disable', payload: user },
    ];
    const replies = await Promise.all(caller.sendAll(commands, org.token, user.user));
    expect(replies.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(commands.map(() => 'ok'));
    const positions = replies.map((r) => BigInt(r.position));
    expect(positions).toEqual([...positions].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    expect(new Set(positions).size).toBe(commands.length);
    const detail = await t.request('GET', `/v1/orgs/${org.orgId}/members/${user.user}`, { token: org.token, headers: { 'gatehouse-min-position': replies[replies.length - 1].position } });
    expect(detail.body).toMatchObject({ role: 'admin', status: 'disabled' });
  });

  it('SPEC 5.7 authorize over Kafka takes the same body and gives the same answer as POST /v1/orgs/{org}/authorize; a setting change and a sign-in are commands too', async () => {
    for (const permission of ['users.list.any', 'no.such.permission']) {
      const body = { principal: org.ownerId, permission };
      const http = await t.request('POST', `/v1/orgs/${org.orgId}/authorize`, { token: org.token, body });
      const kafka = await caller.send({ type: 'authorize', payload: { org: org.orgId, ...body } }, org.token);
      expect({ permission, kafka: kafka.ok ? kafka.result : kafka.error }).toEqual({ permission, kafka: http.status < 400 ? http.body : expect.objectContaining({ code: http.body.code }) });
    }
    expect(await caller.send({ type: 'orgs.locations.add', payload: { org: org.orgId, name: 'Over Kafka Hall' } }, org.token)).toMatchObject({ ok: true });
    expect(await caller.send({ type: 'sessions.create', payload: { email: org.ownerEmail, password: 'not the password' } })).toMatchObject({ ok: false, error: { code: 'invalid_credentials' } });
  });

  it('R-SEC-5 a payload nested thousands deep is refused with a code, and the server goes on', async () => {
    // Written by hand: JSON.stringify itself would overflow on it. 10 000 levels parse (V8's JSON.parse copes) but cannot be re-serialised.
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const message = `{"type":"members.update","payload":{"org":"${org.orgId}","user":"${org.ownerId}","bio":${deep}}}`;
    expect(await caller.send(message, org.token)).toMatchObject({ ok: false, error: { code: expect.stringMatching(/^(too_deep|validation_failed)$/) } });
    expect(await caller.send({ type: 'invitations.create', payload: { org: org.orgId, email: 'after-deep@example.com' } }, org.token)).toMatchObject({ ok: true });
  });

  it('a retried command with the same idempotency key is a no-op that returns the first result', async () => {
    const key = `create-${randomUUID()}`;
    const command = { type: 'members.create', payload: { org: org.orgId, email: 'once@example.com', firstName: 'Otto', lastName: 'Once', mode: 'temporary-password' }, idempotencyKey: key };
    const [first, second] = await Promise.all([caller.send(command, org.token), caller.send(command, org.token)]);
    const third = await caller.send(command, org.token);
    expect(first).toMatchObject({ ok: true, result: { userId: expect.any(String), temporaryPassword: expect.any(String) } });
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    // Without the key, the same command is a second command: here, an existing user added again.
    const members = await t.request('GET', `/v1/orgs/${org.orgId}/members?q=once`, { token: org.token, headers: { 'gatehouse-min-position': first.position } });
    expect(members.body.items).toHaveLength(1);
  });
});
