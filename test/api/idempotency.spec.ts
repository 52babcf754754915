import type { EventStore } from '../../infra/eventstore/port';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type OrgSession, type TestApp } from '../support/app';

/**
 * SPEC 3.1: `Idempotency-Key` on any POST makes a retry return the first answer — here
 * across two replicas over one store (the same data folder), as issue 13 asks of keys.
 */
describe('Idempotency-Key across replicas (SPEC 3.1, issue 13)', () => {
  let a: TestApp;
  let b: TestApp;
  let org: OrgSession;

  beforeAll(async () => {
    a = await startApp();
    b = await startApp({}, { dataDir: a.dataDir });
    org = await createOrg(a);
  });
  afterAll(async () => {
    await b?.close({ keepData: true });
    await a?.close();
  });

  const create = (replica: TestApp, key: string | undefined, body: Record<string, unknown>) =>
    replica.app.inject({
      method: 'POST',
      url: `/v1/orgs/${org.orgId}/members`,
      headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json', ...(key !== undefined ? { 'idempotency-key': key } : {}) },
      payload: JSON.stringify(body),
    });
  const member = (email: string) => ({ email, firstName: 'Ida', lastName: 'Empotent', mode: 'temporary-password' });
  const added = async (email: string) => {
    const { events } = await a.app.get<EventStore>(EVENT_STORE).readAll(0n, { limit: 100_000 });
    return events.filter((e) => e.type === 'UserRegistered' && (e.data as { email?: string }).email === email).length;
  };

  it('R-LIST-5 a retry through another replica gets the first answer (the temporary password shown once, the same position), and the command ran once', async () => {
    const first = await create(a, 'create-ida-0001', member('ida@example.com'));
    expect(first.statusCode).toBe(201);
    const again = await create(b, 'create-ida-0001', member('ida@example.com'));
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers['gatehouse-position']).toBe(first.headers['gatehouse-position']);
    expect(again.headers['idempotent-replay']).toBe('true');
    expect(await added('ida@example.com')).toBe(1);
    // Without a key the same body is a new command (here: the person is already a member).
    expect((await create(b, undefined, member('ida@example.com'))).statusCode).toBe(409);
  });

  it('the same key sent at once to both replicas, ten times: one command runs, every answer is its answer', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => create(i % 2 ? b : a, 'create-max-0001', member('max@example.com'))));
    expect(answers.map((r) => r.statusCode)).toEqual(Array(10).fill(201));
    expect(new Set(answers.map((r) => r.body)).size).toBe(1);
    expect(await added('max@example.com')).toBe(1);
  });

  it('a key used for another command is refused; a refused command keeps nothing, so its fixed form may use the key; a malformed key is a 400', async () => {
    expect((await create(a, 'create-zoe-0001', member('zoe@example.com'))).statusCode).toBe(201);
    const reused = await create(b, 'create-zoe-0001', member('other@example.com'));
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({ code: 'idempotency_key_reused' });

    const refused = await create(a, 'create-kim-0001', { ...member('kim@example.com'), mode: 'no-such-mode' });
    expect(refused.statusCode).toBe(400);
    const fixed = await create(b, 'create-kim-0001', member('kim@example.com'));
    expect(fixed.statusCode).toBe(201);
    expect(await added('kim@example.com')).toBe(1);

    const malformed = await create(a, 'short', member('lee@example.com'));
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ code: 'validation_failed' });
    expect(await added('lee@example.com')).toBe(0);
  });

  it('keys are per caller: another caller with the same key runs its own command', async () => {
    const other = await createOrg(b);
    const mine = await create(a, 'shared-key-0001', member('pat@example.com'));
    const theirs = await b.app.inject({
      method: 'POST',
      url: `/v1/orgs/${other.orgId}/members`,
      headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json', 'idempotency-key': 'shared-key-0001' },
      payload: JSON.stringify(member('pat@example.com')),
    });
    expect([mine.statusCode, theirs.statusCode]).toEqual([201, 201]);
    expect(theirs.json().userId).toBeDefined();
    expect(theirs.headers['idempotent-replay']).toBeUndefined();
  });
});
