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
  expiresAt?: string;
  reason?: string;
  actor: RecordedEvent['actor'];
  realActor?: RecordedEvent['actor'];
  at: string;
  /** Global position, as a zero-padded decimal string so it sorts as text too. */
  seq: string;
}

export const PERMISSION_HISTORY = 'permission_history';

const KIND: Record<string, PermissionHistoryEntry['kind']> = {
  MemberAdded: 'role-set',
  RoleChanged: 'role-changed',
  PermissionGranted: 'grant-given',
  PermissionRevoked: 'grant-revoked',
  PermissionExpired: 'grant-expired',
};

/** The audit trail of who could do what: append-only, one document per event, kept forever. */
export const permissionHistory: Projection = {
  name: 'permission-history.v1',
  collections: [PERMISSION_HISTORY],
  handles: Object.keys(KIND),
  async apply(event: RecordedEvent, docs: Workspace): Promise<void> {
    const d = event.data as Record<string, any>;
    const entry: PermissionHistoryEntry = {
      id: event.eventId,
      orgId: d.orgId,
      userId: d.userId,
      kind: KIND[event.type],
      ...(d.roleId ? { roleId: d.roleId } : {}),
      ...(d.previousRoleId ? { previousRoleId: d.previousRoleId } : {}),
      ...('locations' in d ? { locations: d.locations } : {}),
      ...(d.grantId ? { grantId: d.grantId, permission: d.permission } : {}),
      ...(d.location ? { location: d.location } : {}),
      ...(d.expiresAt ? { expiresAt: d.expiresAt } : {}),
      ...(d.reason ? { reason: d.reason } : {}),
      actor: event.actor,
      ...(event.realActor ? { realActor: event.realActor } : {}),
      at: event.recordedAt.toISOString(),
      seq: event.position.toString().padStart(20, '0'),
    };
    docs.put(PERMISSION_HISTORY, entry);
  },
};
