import { accessOf } from '../../domain/access/access';
import { effectivePermissions, type EffectivePermission } from '../../domain/access/effective';
import type { Recorded } from '../../domain/events';
import { membership, membershipStream, type Membership } from '../../domain/membership/membership';
import { organization, orgStream, type Organization } from '../../domain/organization/organization';
import { START, type Position } from '../../domain/shared/envelope';
import type { EventStore } from '../../infra/eventstore/port';
import type { Fold, Streams } from '../shared/streams';

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
  return capabilitiesOf(orgId, userId, at, foldUntil<Organization>(organization, orgEvents, at), foldUntil<Membership>(membership, memberEvents, at));
}

/** The answer from the org's and the member's state at `at`, each with the position of the last event folded into it. */
function capabilitiesOf(orgId: string, userId: string, at: Date, org: { state: Organization; position: Position }, member: { state: Membership; position: Position }): Capabilities {
  const last = org.position > member.position ? org.position : member.position;
  const answer = { orgId, userId, at: at.toISOString(), position: last.toString() };
  if (!org.state.exists || !member.state.exists) {
    return { ...answer, member: false, status: null, approval: null, banned: null, roleId: null, locations: null, permissions: [] };
  }
  const { status, approval, banned, roleId, locations } = member.state;
  const permissions = effectivePermissions(accessOf(org.state, member.state), at, Object.keys(org.state.locations));
  return { ...answer, member: true, status, approval, banned, roleId, locations, permissions };
}

/** Where the events come from: the store, and optionally the command path's cache of folded state. */
export interface CapabilitySources {
  store: EventStore;
  /** With it, a stream with nothing recorded after `at` is taken from the live cache (the same fold, done already) instead of replayed. */
  streams?: Streams;
}

/**
 * Answers for `at`. Each stream is replayed whole (the port reads a stream to its end),
 * unless its last event was recorded by `at`: then its state at `at` is its state now,
 * which the command path holds folded already, and only that last event is read.
 */
export async function readCapabilities(sources: CapabilitySources, orgId: string, userId: string, at: Date): Promise<Capabilities> {
  const [org, member] = await Promise.all([
    stateAt<Organization>(sources, orgStream(orgId), organization, at),
    stateAt<Membership>(sources, membershipStream(orgId, userId), membership, at),
  ]);
  return capabilitiesOf(orgId, userId, at, org, member);
}

async function stateAt<S>({ store, streams }: CapabilitySources, stream: string, fold: Fold<S, any>, at: Date): Promise<{ state: S; position: Position }> {
  if (streams) {
    const live = await streams.load(stream, fold);
    if (live.version < 0) return { state: live.state, position: START };
    const tail = await store.readStream(stream, live.version);
    // Nothing appended since the load, and the last event recorded by `at`: no later event can change the answer.
    if (tail.length === 1 && tail[0].recordedAt.getTime() <= at.getTime()) return { state: live.state, position: tail[0].position };
  }
  return foldUntil(fold, await store.readStream(stream), at);
}
