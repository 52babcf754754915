import { can, isGrantLive, type MemberAccess } from './access';
import { PERMISSIONS } from './permissions';

/** One thing a member may do, and what lets it: its role (in a location, or org-wide) or one grant (SPEC 5.2). */
export interface EffectivePermission {
  permission: string;
  /** Absent: across the org. */
  location?: string;
  via: 'role' | 'grant';
  grantId?: string;
  expiresAt?: string;
}

/**
 * Every permission `can()` allows the member at `now`, once per source that allows it:
 * the role, then each grant in the order given. Each source is asked through `can()`
 * on the member's access with only that source in it, so the standing (disabled,
 * banned, pending), scope nesting, location scopes and expiry are `can()`'s alone:
 * `can(access, p, {now, location})` allows exactly when some entry has `p` and no
 * location or that location, and says `role` exactly when a role entry does.
 * Locations asked about: the org's (`orgLocations`) and those the role and grants name.
 */
export function effectivePermissions(access: MemberAccess, now: Date, orgLocations: readonly string[] = []): EffectivePermission[] {
  const wanted = [...new Set([...PERMISSIONS, ...(access.role?.permissions ?? []), ...access.grants.map((g) => g.permission)])];
  const locations = [...new Set([...orgLocations, ...(access.locations ?? []), ...access.grants.flatMap((g) => (g.location ? [g.location] : []))])];
  const sources: Array<{ access: MemberAccess; entry: Pick<EffectivePermission, 'via' | 'grantId' | 'expiresAt'> }> = [
    { access: { ...access, grants: [] }, entry: { via: 'role' } },
    // A grant past its expiry allows nothing (can() asks isGrantLive too): skip it rather than ask about every permission.
    ...access.grants.filter((grant) => isGrantLive(grant, now)).map((grant) => ({
      access: { ...access, role: undefined, grants: [grant] },
      entry: { via: 'grant' as const, grantId: grant.grantId, ...(grant.expiresAt ? { expiresAt: grant.expiresAt } : {}) },
    })),
  ];
  const entries: EffectivePermission[] = [];
  for (const source of sources) {
    for (const permission of wanted) {
      if (can(source.access, permission, { now }).allowed) {
        entries.push({ permission, ...source.entry });
        continue;
      }
      for (const location of locations) {
        if (can(source.access, permission, { now, location }).allowed) entries.push({ permission, location, ...source.entry });
      }
    }
  }
  return entries;
}
