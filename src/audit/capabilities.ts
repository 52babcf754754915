import { accessOf } from '../../domain/access/access';
import { effectivePermissions, type EffectivePermission } from '../../domain/access/effective';
import type { Recorded } from '../../domain/events';
import { membership, membershipStream, type Membership } from '../../domain/membership/membership';
import { organization, orgStream, type Organization } from '../../domain/organization/organization';
import { START, type Position } from '../../domain/shared/envelope';
import type { EventStore } from '../../infra/eventstore/port';
import type { Fold } from '../shared/streams';

/** SPEC 5.2: what a member could do in an org at a time, from the events recorded up to it. */
export interface Capabilities {
  orgId: string;
  userId: string;
  /** The time asked about, as ISO 8601 UTC. */
  at: string;
  /** Global position of the last event the answer folded (of the org's and the member's streams); "0" when none. */
  position: string;
  member: boolean;
  /** The following four, and `banned`, are null when `member` is false. */
  status: Membership['status'] | null;
  approval: Membership['approval'] | null;
  banned: boolean | null;
  roleId: string | null;
  /** null also for a member whose role holds across the org (R-ROLE-5). */
  locations: string[] | null;
  permissions: EffectivePermission[];
}

/**
 * A stream's state at `at`: its events recorded up to `at` (inclusive), folded with
 * the stream's own evolve, as live loading folds them (src/shared/streams.ts). A
 * stream is a sequence, so the fold stops at its first event recorded later.
 */
export function foldUntil<S>(fold: Fold<S, any>, events: readonly Recorded[], at: Date): { state: S; position: Position } {
  let state = fold.initialState();
  let position = START;
  for (const event of events) {
    if (event.recordedAt.getTime() > at.getTime()) break;
    state = fold.evolve(state, { type: event.type, data: event.data });
    position = event.position;
  }
  return { state, position };
}

/**
 * R-AUD-2: the member's standing and permissions at `at`, from the org's and the
 * membership's events, through the same evolve and the same `can()` live
 * authorization uses (POST …/authorize), with `at` as its now: a grant expired by
 * `at` allows nothing, a role held at `at` does.
 */
export function capabilitiesAt(orgId: string, userId: string, at: Date, orgEvents: readonly Recorded[], memberEvents: readonly Recorded[]): Capabilities {
  const org = foldUntil<Organization>(organization, orgEvents, at);
  const member = foldUntil<Membership>(membership, memberEvents, at);
  const last = org.position > member.position ? org.position : member.position;
  const answer = { orgId, userId, at: at.toISOString(), position: last.toString() };
  if (!org.state.exists || !member.state.exists) {
    return { ...answer, member: false, status: null, approval: null, banned: null, roleId: null, locations: null, permissions: [] };
  }
  const { status, approval, banned, roleId, locations } = member.state;
  const permissions = effectivePermissions(accessOf(org.state, member.state), at, Object.keys(org.state.locations));
  return { ...answer, member: true, status, approval, banned, roleId, locations, permissions };
}

/** Reads both streams whole (an index read per stream) and answers for `at`. */
export async function readCapabilities(store: EventStore, orgId: string, userId: string, at: Date): Promise<Capabilities> {
  const [orgEvents, memberEvents] = await Promise.all([store.readStream(orgStream(orgId)), store.readStream(membershipStream(orgId, userId))]);
  return capabilitiesAt(orgId, userId, at, orgEvents, memberEvents);
}
