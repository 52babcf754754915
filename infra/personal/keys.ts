/**
 * Where each person's data key lives (R-ACC-3, SPEC 5.1): beside the events, but
 * not in the append-only log, so that a key can really be deleted. Keys are held
 * sealed with the service's SECRET_KEY; a destroyed key is gone, and with it every
 * copy of the person's data the log holds.
 */
export interface PersonalKeyStore {
  /** The sealed keys of these subjects that exist. */
  find(subjects: readonly string[]): Promise<Map<string, string>>;
  /** Stores each sealed key unless its subject has one already (one transaction where the store has them); answers the ones that stay. */
  createMany(keys: ReadonlyArray<readonly [subject: string, sealedKey: string]>): Promise<Map<string, string>>;
  destroy(subjects: readonly string[]): Promise<void>;
  close(): Promise<void>;
}
