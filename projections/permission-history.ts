import type { MembershipEvent } from '../domain/membership/membership';
import type { Recorded } from '../domain/events';
import { projection, type Doc, type Workspace } from './projection';

/** One entry of a member's permission history: a role set or changed, a grant given, revoked or expired (R-ROLE-7). */
export interface PermissionHistoryEntry extends Doc {
  orgId: string;
  userId: string;
  kind: 'role-set' | 'role-changed' | 'grant-given' | 'grant-revoked' | 'grant-expired';
  roleId?: string;
  previousRoleId?: string;
  locations?: string[] | null;
  grantId?: string;
  permission?: string;
  location?: string;
  /** A grant given with an expiry: when it ends. */
  expiresAt?: string;
  /** A grant expired: when it ended (the entry's `at` is when that was recorded, which can be later). */
  expiredAt?: string;
  reason?: string;
  actor: Recorded['actor'];
  realActor?: Recorded['actor'];
  at: string;
  /** Global position, as a zero-padded decimal string so it sorts as text too. */
  seq: string;
}

export const PERMISSION_HISTORY = 'permission_history';

type What = Pick<PermissionHistoryEntry, 'kind' | 'roleId' | 'previousRoleId' | 'locations' | 'grantId' | 'permission' | 'location' | 'expiresAt' | 'expiredAt' | 'reason'>;

/** One append-only entry for `event`, saying `what` it changed: absent and empty fields are left out; `locations` is kept even when null (every location). */
function entry(event: Recorded<MembershipEvent>, what: What, docs: Workspace): void {
  const present = Object.fromEntries(Object.entries(what).filter(([field, value]) => (field === 'locations' ? value !== undefined : !!value)));
  docs.put<PermissionHistoryEntry>(PERMISSION_HISTORY, {
    id: event.eventId,
    orgId: event.data.orgId,
    userId: event.data.userId,
    kind: what.kind,
    ...present,
    actor: event.actor,
    ...(event.realActor ? { realActor: event.realActor } : {}),
    at: event.recordedAt.toISOString(),
    seq: event.position.toString().padStart(20, '0'),
  });
}

/** The audit trail of who could do what (R-ROLE-7): one document per event, kept forever. A field an event does not carry fails to compile. */
export const permissionHistory = projection('permission-history.v1', [PERMISSION_HISTORY], {
  MemberAdded: (e, docs) => entry(e, { kind: 'role-set', roleId: e.data.roleId, locations: e.data.locations }, docs),
  RoleChanged: (e, docs) => entry(e, { kind: 'role-changed', roleId: e.data.roleId, previousRoleId: e.data.previousRoleId, locations: e.data.locations }, docs),
  PermissionGranted: (e, docs) => entry(e, { kind: 'grant-given', grantId: e.data.grantId, permission: e.data.permission, location: e.data.location, expiresAt: e.data.expiresAt, reason: e.data.reason }, docs),
  PermissionRevoked: (e, docs) => entry(e, { kind: 'grant-revoked', grantId: e.data.grantId, permission: e.data.permission }, docs),
  PermissionExpired: (e, docs) => entry(e, { kind: 'grant-expired', grantId: e.data.grantId, permission: e.data.permission, expiredAt: e.data.expiredAt }, docs),
});
