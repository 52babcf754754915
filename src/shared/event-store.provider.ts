import { join } from 'node:path';
import type { Provider } from '@nestjs/common';
import { Settings } from '../config/config';
import type { EventStore } from '../../infra/eventstore/port';
import { PostgresEventStore } from '../../infra/eventstore/postgres';
import { SqliteEventStore } from '../../infra/eventstore/sqlite';
import { eventRegistry } from '../../domain/events';
import { SecretBox } from '../../infra/crypto/sealing';
import { EncryptingEventStore } from '../../infra/personal/encrypting-event-store';
import type { PersonalKeyStore } from '../../infra/personal/keys';
import { PersonalData } from '../../infra/personal/personal-data';
import { PostgresPersonalKeys } from '../../infra/personal/postgres-keys';
import { ReadStorePersonalKeys } from '../../infra/personal/readstore-keys';
import { SqlitePersonalKeys } from '../../infra/personal/sqlite-keys';
import type { ReadStore } from '../../infra/readstore/port';
import { CLOCK, EVENT_STORE, PERSONAL_DATA, READ_STORE, type Clock } from './tokens';

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

/** Personal data keys beside the events (the SQLite file, PostgreSQL); EventStoreDB has no table for them, so there the read store keeps them. */
export function openPersonalKeys(settings: Settings, readStore: () => ReadStore): PersonalKeyStore {
  switch (settings.EVENT_STORE) {
    case 'sqlite':
      return new SqlitePersonalKeys(join(settings.dataDir, 'events.db'));
    case 'postgres':
      return new PostgresPersonalKeys(settings.POSTGRES_URL!);
    case 'eventstoredb':
      return new ReadStorePersonalKeys(readStore());
  }
}

/** The key that seals what Gatehouse must read back (TOTP secrets, link tokens, personal data keys): SECRET_KEY, or on the embedded default a key file in the data folder. */
export function openSecretBox(settings: Settings): SecretBox {
  return settings.SECRET_KEY ? new SecretBox(Buffer.from(settings.SECRET_KEY, 'base64')) : SecretBox.fromKeyFile(join(settings.dataDir, 'secret.key'));
}

/** The event store as the service uses it: personal data encrypted with each person's key (R-ACC-3). */
export async function openServiceEventStore(settings: Settings, clock: Clock, box: SecretBox, readStore: () => ReadStore): Promise<EncryptingEventStore> {
  return new EncryptingEventStore(await openEventStore(settings, clock), new PersonalData(openPersonalKeys(settings, readStore), box, () => clock().getTime()));
}

export const eventStoreProvider: Provider = {
  provide: EVENT_STORE,
  inject: [Settings, CLOCK, SecretBox, READ_STORE],
  useFactory: (settings: Settings, clock: Clock, box: SecretBox, readStore: ReadStore) => openServiceEventStore(settings, clock, box, () => readStore),
};

export const personalDataProvider: Provider = {
  provide: PERSONAL_DATA,
  inject: [EVENT_STORE],
  useFactory: (store: EncryptingEventStore) => store.personal,
};
