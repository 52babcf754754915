import { createDatabase, type ThrowawayDatabase } from '../../scripts/rig/postgres';

export type TestDatabase = ThrowawayDatabase;

/**
 * Creates an empty database on the server in POSTGRES_URL (set by the Jest global
 * setup) so each suite gets its own schema without cleaning up after others.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.POSTGRES_URL;
  if (!adminUrl) {
    throw new Error(
      'POSTGRES_URL is not set: run the tests through jest with jest.config.js ' +
        '(its globalSetup starts PostgreSQL), or set POSTGRES_URL yourself.',
    );
  }
  return createDatabase(adminUrl);
}
