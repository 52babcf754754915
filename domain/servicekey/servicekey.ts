import { requireCeiling, requireNotImpersonating, requirePermission, type MemberAccess } from '../access/access';
import { isPermissionName, PERMISSIONS } from '../access/permissions';
import type { Role } from '../access/roles';
import type { OrgContext } from '../organization/organization';
import type { Decider, DomainEvent } from '../shared/decider';
import { DomainError } from '../shared/errors';

/** An org-scoped key for an internal service. The key's secret is stored only as a hash. */
export const serviceKeyStream = (keyId: string) => `servicekey-${keyId}`;

export type ServiceKeyEvent =
  | DomainEvent<'ServiceKeyIssued', { keyId: string; orgId: string; name: string; permissions: string[]; secretHash: string; issuedBy: string }>
  | DomainEvent<'ServiceKeyRevoked', { keyId: string; orgId: string; revokedBy: string }>;

export type ServiceKeyCommand =
  | { type: 'IssueServiceKey'; keyId: string; name: string; permissions: string[]; secretHash: string }
  | { type: 'RevokeServiceKey' };

export interface ServiceKey {
  exists: boolean;
  keyId: string;
  orgId: string;
  name: string;
  permissions: string[];
  secretHash: string;
  revoked: boolean;
}

export const serviceKey: Decider<ServiceKey, ServiceKeyCommand, ServiceKeyEvent, OrgContext> = {
  initialState: () => ({ exists: false, keyId: '', orgId: '', name: '', permissions: [], secretHash: '', revoked: false }),
  decide(state, command, ctx) {
    const access = requirePermission(ctx.access, 'org.manage.any', ctx);
    switch (command.type) {
      case 'IssueServiceKey': {
        if (state.exists) throw new DomainError('service_key_exists');
        // R-IMP-1: a key would outlive the impersonation session that minted it.
        requireNotImpersonating(ctx, 'issue service keys');
        const unknown = command.permissions.filter((p) => !isPermissionName(p) || !PERMISSIONS.includes(p));
        if (unknown.length) throw new DomainError('unknown_permission', 'no such permissions', { permissions: unknown });
        // R-ROLE-2: a key carries no permission its issuer does not hold.
        requireCeiling(access, command.permissions, null, ctx.now);
        const { keyId, name, permissions, secretHash } = command;
        return [{ type: 'ServiceKeyIssued', data: { keyId, orgId: ctx.org.orgId, name, permissions: [...new Set(permissions)].sort(), secretHash, issuedBy: ctx.actor.id } }];
      }
      case 'RevokeServiceKey':
        if (!state.exists || state.orgId !== ctx.org.orgId) throw new DomainError('not_found', 'service key not found');
        return state.revoked ? [] : [{ type: 'ServiceKeyRevoked', data: { keyId: state.keyId, orgId: state.orgId, revokedBy: ctx.actor.id } }];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'ServiceKeyIssued':
        return { ...state, ...event.data, exists: true, revoked: false };
      case 'ServiceKeyRevoked':
        return { ...state, revoked: true };
      default:
        return state;
    }
  },
};

/** A service key acts with exactly its permissions, org-wide; a revoked key holds none. */
export function serviceAccess(key: ServiceKey): MemberAccess {
  const role: Role = { id: `service:${key.keyId}`, name: key.name, color: '#000000', description: 'service key', permissions: key.permissions, builtIn: false, active: true, owner: false };
  return { userId: key.keyId, roleId: role.id, locations: null, status: key.revoked ? 'disabled' : 'active', approval: 'approved', banned: false, grants: [], role, owner: false };
}
