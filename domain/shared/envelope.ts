/**
 * The envelope every stored event carries (R-AUD-1): domain vocabulary, so the
 * deciders, projections, consumers and every adapter speak of events alike.
 *
 * Positions are bigints: they grow in global (commit) order but need not be dense.
 * `0n` means "before the first event".
 */
export type Position = bigint;
export const START: Position = 0n;

export type ActorKind = 'user' | 'service' | 'system' | 'anonymous';
export interface Actor {
  kind: ActorKind;
  id: string;
}

/** Everything R-AUD-1 asks an event to carry besides its identity and data. */
export interface EventMetadata {
  actor: Actor;
  /** The person really acting when `actor` is being impersonated (R-IMP-1). */
  realActor?: Actor;
  orgId?: string;
  correlationId: string;
  causationId?: string;
}

/** Where and when an event was stored, and who caused it. */
export interface Envelope extends EventMetadata {
  eventId: string;
  schemaVersion: number;
  stream: string;
  /** 0 for the first event of a stream. */
  streamVersion: number;
  position: Position;
  recordedAt: Date;
}
