import type { MembershipEvent } from '../domain/membership/membership';
import type { RecordedEvent } from '../infra/eventstore/port';
import type { Doc, Projection, Workspace } from './projection';

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
  actor: RecordedEvent['actor'];
  realActor?: RecordedEvent['actor'];
  at: string;
  /** Global position, as a zero-padded decimal string so it sorts as text too. */
  seq: string;
}

export const PERMISSION_HISTORY = 'permission_history';

type Handled = 'MemberAdded' | 'RoleChanged' | 'PermissionGranted' | 'PermissionRevoked' | 'PermissionExpired';
type DataOf<T extends Handled> = Extract<MembershipEvent, { type: T }>['data'];
type What = Pick<PermissionHistoryEntry, 'kind' | 'roleId' | 'previousRoleId' | 'locations' | 'grantId' | 'permission' | 'location' | 'expiresAt' | 'expiredAt' | 'reason'>;

/** What each event says about who could do what, typed by the event: a field the event does not carry fails to compile. */
const WHAT: { [T in Handled]: (d: DataOf<T>) => What } = {
  MemberAdded: (d) => ({ kind: 'role-set', roleId: d.roleId, locations: d.locations }),
  RoleChanged: (d) => ({ kind: 'role-changed', roleId: d.roleId, previousRoleId: d.previousRoleId, locations: d.locations }),
  PermissionGranted: (d) => ({ kind: 'grant-given', grantId: d.grantId, permission: d.permission, location: d.location, expiresAt: d.expiresAt, reason: d.reason }),
  PermissionRevoked: (d) => ({ kind: 'grant-revoked', grantId: d.grantId, permission: d.permission }),
  PermissionExpired: (d) => ({ kind: 'grant-expired', grantId: d.grantId, permission: d.permission, expiredAt: d.expiredAt }),
};

/** The audit trail of who could do what: append-only, one document per event, kept forever. */
export const permissionHistory: Projection = {
  name: 'permission-history.v1',
  collections: [PERMISSION_HISTORY],
  handles: Object.keys(WHAT),
  async apply(event: RecordedEvent, docs: Workspace): Promise<void> {
    const d = event.data as { orgId: string; userId: string };
    const what = (WHAT[event.type as Handled] as (data: unknown) => What)(event.data);
    // Absent and empty fields are left out; `locations` is kept even when null (every location).
    const present = Object.fromEntries(Object.entries(what).filter(([field, value]) => (field === 'locations' ? value !== undefined : !!value)));
    docs.put<PermissionHistoryEntry>(PERMISSION_HISTORY, {
      id: event.eventId,
      orgId: d.orgId,
      userId: d.userId,
      ...(present as What),
      actor: event.actor,
      ...(event.realActor ? { realActor: event.realActor } : {}),
      at: event.recordedAt.toISOString(),
      seq: event.position.toString().padStart(20, '0'),
    });
  },
};
