import { membershipStream } from '../../domain/membership/membership';
import { userStream } from '../../domain/user/user';
import type { EventStore, StoredEvent } from '../../infra/eventstore/port';
import { START } from '../../domain/shared/envelope';
import type { PersonalData } from '../../infra/personal/personal-data';

/** R-AUD-2: what an auditor asks of an org's history. */
export interface HistoryQuery {
  orgId: string;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
  /** Only events about this user. */
  userId?: string;
  types?: readonly string[];
}

const PAGE = 1000;

/** The data fields that name the person an event is about (an actor's own id, `by`, is who acted, not whom it is about). */
const PERSON_FIELDS = ['userId', 'ownerId', 'toUserId'] as const;

/**
 * An event is about a user when it is in that user's account stream or their
 * membership of the org, or its data names them as the member, the owner, or one
 * side of an ownership transfer.
 */
export function isAbout(event: StoredEvent, orgId: string, userId: string): boolean {
  if (event.stream === userStream(userId) || event.stream === membershipStream(orgId, userId)) return true;
  const data = event.data as Record<string, unknown> | null;
  if (!data || typeof data !== 'object') return false;
  if (PERSON_FIELDS.some((field) => data[field] === userId)) return true;
  return event.type === 'OwnershipTransferred' && (data.from === userId || data.to === userId);
}

/**
 * The org's events as stored, in global order, up to the log's head when the read
 * began: read a page at a time and handed on as JSON lines, one chunk per page, so
 * memory holds one page whatever the history's length.
 */
export async function* historyLines(store: EventStore, query: HistoryQuery, personal?: PersonalData): AsyncGenerator<string> {
  const head = await store.headPosition();
  const filter = { orgId: query.orgId, types: query.types, recordedFrom: query.from, recordedBefore: query.to };
  let at = START;
  for (;;) {
    const { events, next } = await store.readStored(at, { limit: PAGE, filter });
    const inRange = events.filter((event) => event.position <= head);
    const about = inRange.filter((event) => !query.userId || isAbout(event, query.orgId, query.userId));
    const lines = await Promise.all(about.map(async (event) => exportLine(event, await personal?.personalOf(event))));
    if (lines.length > 0) yield lines.join('');
    if (events.length < PAGE || inRange.length < events.length) return;
    at = next;
  }
}

/**
 * One line of the export (SPEC 5.1): the stored envelope in its order, the
 * position as a string (it may pass 2^53), and `personal`: the event's personal
 * data decrypted, absent when it has none or its person was erased.
 */
export function exportLine(event: StoredEvent, personal?: Record<string, unknown>): string {
  return JSON.stringify({ ...event, position: event.position.toString(), ...(personal ? { personal } : {}) }) + '\n';
}
