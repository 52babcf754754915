import type { Envelope, Position } from '../../domain/shared/envelope';
import type { Doc } from '../../projections/projection';

export const DEAD_LETTER_SINK = Symbol('DeadLetterSink');
export const DEAD_LETTERS = 'dead_letters';

/** Where dead letters go besides the read store: the `gatehouse.dead-letters` topic when Kafka is configured. */
export interface DeadLetterSink {
  publish(letter: DeadLetter): Promise<void>;
  publishDeadLetter(key: string, record: Record<string, unknown>): Promise<void>;
  /** The last position Kafka acknowledged (what Kafka consumers can have seen). */
  readonly position: Position;
}

/** An event whose effect failed every try (R-BILL-3): kept with the reason until an operator re-drives it. */
export interface DeadLetter extends Doc {
  consumer: string;
  eventId: string;
  eventType: string;
  stream: string;
  position: string;
  orgId?: string;
  reason: string;
  tries: number;
  failedAt: string;
  status: 'dead' | 'redriven';
  redrivenAt?: string;
  /** The event itself, so a re-drive needs nothing else; absent for a malformed message, which `raw` holds instead. */
  event?: Omit<Envelope, 'position' | 'recordedAt'> & { type: string; data: unknown; position: string; recordedAt: string };
  raw?: string;
}

