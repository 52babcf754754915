/** A stored document: an id, and the position (a decimal string) of the last event written into it, which guards against writing an older one. */
export interface Doc {
  id: string;
  _pos?: string;
}

/** A condition on one field: equality, one of several values, a text prefix, or a bound. */
export type Condition = string | number | boolean | { in: Array<string | number | boolean> } | { prefix: string } | { gt: string | number } | { lt: string | number };

export interface Query {
  collection: string;
  where: Record<string, Condition>;
  /** Matches when any one of these holds (each a field → condition). */
  anyOf?: Array<Record<string, Condition>>;
  /** The last field must be `id`, which makes the order total and cursors stable. */
  orderBy: Array<[field: string, direction: 'asc' | 'desc']>;
  limit: number;
  /** Keyset pagination: the orderBy values of the last row of the previous page. */
  after?: Array<string | number>;
}

export interface Changes {
  puts: Array<{ collection: string; doc: Doc }>;
  deletes: Array<{ collection: string; id: string }>;
}

/** A document the store will not hold, however often it is written (too large, not serializable): the same every time, so not worth a retry. */
export interface RefusedDocument {
  collection: string;
  id: string;
  reason: string;
}

/** What a write did not do: the documents the store refused. While any were refused, the checkpoint stayed where it was. */
export interface WriteResult {
  refused: RefusedDocument[];
}

export interface IndexSpec {
  collection: string;
  fields: string[];
}

/**
 * The read-model store. Every adapter (embedded SQLite, MongoDB) passes the
 * same contract suite with the same query semantics.
 */
export interface ReadStore {
  readonly name: string;
  ensureIndexes(indexes: IndexSpec[]): Promise<void>;
  getMany<D extends Doc>(collection: string, ids: string[]): Promise<Map<string, D>>;
  /**
   * Writes documents and the projection's checkpoint: atomically where the store can, idempotently where it cannot.
   * The position guard is the store's: a document is replaced only by one holding the same or a later event (`_pos`),
   * a delete spares a document a later event wrote, and the checkpoint only moves forward, so a second writer never
   * moves anything backwards. A document the store refuses (see RefusedDocument) holds back no other: the rest are
   * written, and the refused ones are answered instead of the checkpoint, which is then left where it was (the
   * writer writes the batch again without them, with their dead letters). A failure that may pass (the server
   * unreachable, an election) throws, and nothing of the batch is known to be written.
   */
  write(changes: Changes, checkpoint: { projection: string; position: bigint }): Promise<WriteResult>;
  checkpoint(projection: string): Promise<bigint>;
  find<D extends Doc>(query: Query): Promise<D[]>;
  count(collection: string, where: Record<string, Condition>): Promise<number>;
  /** Removes every document of the collections (for a rebuild) and the checkpoint. */
  reset(projection: string, collections: readonly string[]): Promise<void>;
  /** Removes the collections themselves, with their indexes, and the checkpoint: a generation nobody reads any more. */
  drop(projection: string, collections: readonly string[]): Promise<void>;
  /** Which generation of a projection's collections the service reads and writes (1 until a rebuild switches it). */
  generation(projection: string): Promise<number>;
  switchGeneration(projection: string, generation: number): Promise<void>;
  /**
   * Small shared state that several replicas update (leases, throttles): stores `doc` with `rev: expected + 1`
   * only when the stored document's `rev` is still `expected` (0: no document yet); false when another writer
   * came first (read it again and retry). Not for projection collections (no generations, no position guard).
   */
  swap<D extends Doc & { rev: number }>(collection: string, doc: Omit<D, 'rev'>, expected: number): Promise<boolean>;
  /**
   * Removes the documents of such shared state that match `where` (at least one condition) and says how many.
   * Each is tested as it is removed, so one a writer has just swapped out of the match stays.
   */
  deleteWhere(collection: string, where: Record<string, Condition>): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A projection's collections of one generation: the first keeps the plain names, a rebuild writes beside them. */
export function physicalCollection(collection: string, generation: number): string {
  return generation <= 1 ? collection : `${collection}_g${generation}`;
}

export function checkpointName(projection: string, generation: number): string {
  return generation <= 1 ? projection : `${projection}@g${generation}`;
}
