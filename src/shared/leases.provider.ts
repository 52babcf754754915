import { join } from 'node:path';
import type { Settings } from '../config/config';
import type { Leases } from '../../infra/leases/port';
import { PostgresLeases } from '../../infra/leases/postgres';
import { ReadStoreLeases } from '../../infra/leases/readstore';
import { SqliteLeases } from '../../infra/leases/sqlite';
import type { ReadStore } from '../../infra/readstore/port';

/** Leases in the event store's database; EventStoreDB has no table for them, so there the read store (MongoDB) keeps them. */
export function openLeases(settings: Settings, readStore: ReadStore): Leases {
  switch (settings.EVENT_STORE) {
    case 'sqlite':
      return new SqliteLeases(join(settings.dataDir, 'events.db'));
    case 'postgres':
      return new PostgresLeases(settings.POSTGRES_URL!);
    case 'eventstoredb':
      return new ReadStoreLeases(readStore);
  }
}
