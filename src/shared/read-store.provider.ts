import { join } from 'node:path';
import { MongoReadStore } from '../../infra/readstore/mongo';
import type { ReadStore } from '../../infra/readstore/port';
import { SqliteReadStore } from '../../infra/readstore/sqlite';
import type { Settings } from '../config/config';

export function openReadStore(settings: Settings): ReadStore {
  return settings.READ_STORE === 'mongodb'
    ? new MongoReadStore(settings.MONGODB_URL!, settings.MONGODB_DATABASE)
    : new SqliteReadStore(join(settings.dataDir, 'readmodels.db'));
}
