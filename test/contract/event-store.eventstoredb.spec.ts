import { EventStoreDbEventStore } from '../../infra/eventstore/eventstoredb';
import { contractRegistry, eventStoreContract } from './event-store.contract';

const url = process.env.EVENTSTORE_URL;

async function open() {
  const store = new EventStoreDbEventStore({ url: url!, registry: contractRegistry() });
  await store.ping();
  return { store, another: async () => new EventStoreDbEventStore({ url: url!, registry: contractRegistry() }), close: () => store.close() };
}

if (url) {
  eventStoreContract('eventstoredb', open);
} else {
  // Nothing stands in for the server: the suite is reported as skipped, with the reason.
  console.log('EventStoreDB contract suite skipped: EVENTSTORE_URL is not set (no EventStoreDB server can run on this machine)');
  describe.skip('EVENTSTORE_URL is not set', () => eventStoreContract('eventstoredb', open));
}
