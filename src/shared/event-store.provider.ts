import { join } from 'node:path';
import type { Provider } from '@nestjs/common';
import { Settings } from '../config/config';
import type { EventStore } from '../../infra/eventstore/port';
import { PostgresEventStore } from '../../infra/eventstore/postgres';
import { SqliteEventStore } from '../../infra/eventstore/sqlite';
import { eventRegistry } from '../../domain/events';
import { CLOCK, EVENT_STORE, type Clock } from './tokens';

export async function openEventStore(settings: Settings, clock: Clock): Promise<EventStore> {
  const registry = eventRegistry();
  switch (settings.EVENT_STORE) {
    case 'sqlite':
      return new SqliteEventStore({ file: join(settings.dataDir, 'events.db'), registry, synchronous: settings.SQLITE_SYNCHRONOUS, clock });
    case 'postgres': {
      const store = new PostgresEventStore({ url: settings.POSTGRES_URL!, registry, clock });
      await store.init();
      return store;
    }
    case 'eventstoredb': {
      // Loaded only when chosen: the gRPC client costs start-up time the embedded default need not pay.
      const { EventStoreDbEventStore } = await import('../../infra/eventstore/eventstoredb');
      return new EventStoreDbEventStore({ url: settings.EVENTSTORE_URL!, streamPrefix: settings.EVENTSTORE_STREAM_PREFIX, registry, clock });
    }
  }
}

export const eventStoreProvider: Provider = {
  provide: EVENT_STORE,
  inject: [Settings, CLOCK],
  useFactory: (settings: Settings, clock: Clock) => openEventStore(settings, clock),
};
