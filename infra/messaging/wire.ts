/** How an event travels on the bus: the envelope of SPEC 3.2 as JSON, and the key that keeps an org's events in order. */
import type { Recorded } from '../../domain/events';
import type { Envelope } from '../../domain/shared/envelope';
import { recorded } from '../eventstore/port';

/**
 * Fields that never leave Gatehouse: hashes an attacker could try offline, and
 * sealed secrets no other service needs. (A link email's sealed token does leave,
 * sealed: only Gatehouse's key opens it.)
 */
const WITHHELD = new Set(['passwordHash', 'backupCodeHashes', 'codeHash', 'tokenHash', 'secretHash', 'subjectHash', 'sealedSecret']);

/** The envelope on `gatehouse.events` (SPEC 3.2): R-AUD-1's fields, positions as decimal strings. */
export function toEnvelope(event: Recorded): Record<string, unknown> {
  const data = Object.fromEntries(Object.entries(event.data).filter(([k]) => !WITHHELD.has(k)));
  return { ...event, data, position: event.position.toString(), recordedAt: event.recordedAt.toISOString() };
}

/** Key = org id, or the user id for events of no org: one org's events stay in one partition, in order. */
export function partitionKey(event: Recorded): string {
  const data = event.data;
  return event.orgId ?? ('orgId' in data ? data.orgId : undefined) ?? ('userId' in data ? data.userId : undefined) ?? event.stream;
}

/** An event as it travels on `gatehouse.events`, back in the log's shape (withheld fields stay absent). */
export function fromEnvelope(value: string): Recorded {
  const parsed: unknown = JSON.parse(value);
  if (!isEnvelope(parsed)) throw new Error('not an event envelope');
  const { type, data, position, recordedAt, ...rest } = parsed;
  return recorded({ ...rest, position: BigInt(position), recordedAt: new Date(recordedAt) }, type, data);
}

type Wire = Omit<Envelope, 'position' | 'recordedAt'> & { type: string; data: object; position: string; recordedAt: string };

function isEnvelope(value: unknown): value is Wire {
  if (typeof value !== 'object' || value === null) return false;
  const v: Partial<Record<keyof Wire, unknown>> = value;
  return typeof v.eventId === 'string' && typeof v.type === 'string' && typeof v.position === 'string' && typeof v.recordedAt === 'string' && typeof v.data === 'object' && v.data !== null;
}
