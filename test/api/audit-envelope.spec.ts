import type { EventStore } from '../../infra/eventstore/port';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type TestApp } from '../support/app';

describe('R-AUD-1 every event carries its correlation and causation ids', () => {
  let t: TestApp;
  let store: EventStore;
  beforeAll(async () => {
    t = await startApp();
    store = t.app.get(EVENT_STORE);
  });
  afterAll(() => t.close());

  it('the events of one command share its correlation id and name it as their cause; the next command is another cause', async () => {
    const head = await store.headPosition();
    const org = await createOrg(t);
    await t.request('POST', `/v1/orgs/${org.orgId}/invitations`, { token: org.token, body: { email: 'cause@example.com' }, headers: { 'x-correlation-id': 'trace-42' } });
    const events = (await store.readAll(head, { limit: 1000 })).events;
    expect(events.length).toBeGreaterThan(3);
    for (const e of events) expect({ type: e.type, correlationId: typeof e.correlationId, causationId: typeof e.causationId }).toEqual({ type: e.type, correlationId: 'string', causationId: 'string' });
    const created = events.filter((e) => e.orgId === org.orgId && e.correlationId !== 'trace-42');
    const invited = events.filter((e) => e.correlationId === 'trace-42');
    expect(new Set(created.map((e) => e.causationId)).size).toBe(1);
    expect(invited.length).toBeGreaterThan(0);
    expect(new Set(invited.map((e) => e.causationId)).size).toBe(1);
    expect(invited[0].causationId).not.toBe(created[0].causationId);
  });
});
