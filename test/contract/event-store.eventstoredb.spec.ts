import { EventStoreDbEventStore } from '../../infra/eventstore/eventstoredb';
import { contractRegistry, eventStoreContract } from './event-store.contract';

const url = process.env.EVENTSTORE_URL;

function opener(streamPrefix?: string) {
  return async () => {
    const store = new EventStoreDbEventStore({ url: url!, streamPrefix, registry: contractRegistry() });
    await store.ping();
    return { store, another: async () => new EventStoreDbEventStore({ url: url!, streamPrefix, registry: contractRegistry() }), close: () => store.close() };
  };
}

if (url) {
  eventStoreContract('eventstoredb', opener());
  // A deployment in its own namespace on a shared cluster: every read filtered by the server to its streams.
  eventStoreContract('eventstoredb with EVENTSTORE_STREAM_PREFIX', opener(`gh${Date.now().toString(36)}-`));
} else {
  // Nothing stands in for the server: the suite is reported as skipped, with the reason.
  console.log('EventStoreDB contract suite skipped: EVENTSTORE_URL is not set (no EventStoreDB server can run on this machine)');
  describe.skip('EVENTSTORE_URL is not set', () => eventStoreContract('eventstoredb', opener()));
}
