import { DomainError, Forbidden } from '../shared/errors';
import type { Role } from './roles';

/** What the write side knows about an actor in one org: enough to decide any permission check. */
export interface MemberAccess {
  userId: string;
  roleId: string;
  status: 'active' | 'disabled';
  permissions: ReadonlySet<string>;
}

export interface OrgRoles {
  roles: Readonly<Record<string, Role>>;
}

export function accessOf(org: OrgRoles, member: { userId: string; roleId: string; status: 'active' | 'disabled' }): MemberAccess {
  const role = org.roles[member.roleId];
  const permissions = new Set(member.status === 'active' && role ? role.permissions : []);
  return { ...member, permissions };
}

/** The one check every command uses (R-ROLE-8: fed from the write side, never a read model). */
export function requirePermission(access: MemberAccess | undefined, permission: string): MemberAccess {
  if (!access || !access.permissions.has(permission)) throw new Forbidden(permission);
  return access;
}

/** R-ROLE-2: an actor may hand out a role only if it holds every permission the role carries. */
export function requireCeiling(access: MemberAccess, role: Role): void {
  const missing = role.permissions.filter((p) => !access.permissions.has(p));
  if (missing.length > 0) {
    throw new DomainError('role_above_ceiling', `role ${role.name} carries permissions you do not hold`, { missing });
  }
}

/** R-ROLE-1 and R-ROLE-4: the role a member is offered must exist, be active, and not be Owner. */
export function assignableRole(org: OrgRoles, roleId: string): Role {
  const role = org.roles[roleId];
  if (!role) throw new DomainError('unknown_role', `no role ${roleId} in this organization`, { role: roleId });
  if (role.owner) throw new DomainError('owner_not_assignable', 'the Owner role moves only by an ownership transfer');
  if (!role.active) throw new DomainError('role_inactive', `role ${role.name} is not active`, { role: roleId });
  return role;
}
