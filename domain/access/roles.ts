import { ADMIN_PERMISSIONS, PERMISSIONS } from './permissions';

export interface Role {
  id: string;
  name: string;
  color: string;
  description: string;
  permissions: string[];
  builtIn: boolean;
  active: boolean;
  /** Owner: held by exactly one member, never offered when inviting or assigning (R-ROLE-1). */
  owner: boolean;
}

export type Preset = 'team' | 'service-desk' | 'studio' | 'partner';
export const PRESETS: readonly Preset[] = ['team', 'service-desk', 'studio', 'partner'];

export const OWNER_ROLE_ID = 'owner';
/** The presets' administrator roles (after the Owner): who hears of billing changes (R-BILL-1). */
export const ADMIN_ROLE_IDS: readonly string[] = ['admin', 'org-admin', 'partner-admin'];

const ALL_ADMIN = [...ADMIN_PERMISSIONS];
const without = (...excluded: string[]) => ALL_ADMIN.filter((p) => !excluded.includes(p));

function role(id: string, name: string, color: string, description: string, permissions: string[]): Role {
  return { id, name, color, description, permissions, builtIn: true, active: true, owner: false };
}

/** The Owner holds every permission there is. */
const owner: Role = {
  ...role(OWNER_ROLE_ID, 'Owner', '#7c3aed', 'Created the organization; holds every permission', [...PERMISSIONS]),
  owner: true,
};

/** Built-in roles of each preset, most to least access (SPEC 1, "Role presets"), after the Owner. */
const PRESET_ROLES: Record<Preset, Role[]> = {
  team: [
    role('admin', 'Admin', '#2563eb', 'Manages members, roles and settings', [...without('billing.manage.any'), 'incidents.manage.any']),
    role('member', 'Member', '#64748b', 'Works in the organization', ['incidents.manage.any']),
  ],
  'service-desk': [
    role('admin', 'Admin', '#2563eb', 'Manages users, technicians and settings', [...without('billing.manage.any'), 'tickets.create.any', 'tickets.update.any', 'tickets.view.any']),
    role('technician', 'Technician', '#0891b2', 'Works tickets', ['tickets.create.any', 'tickets.update.any', 'tickets.view.any', 'users.list.any']),
    role('viewer', 'Viewer', '#64748b', 'Reads tickets', ['tickets.view.any']),
  ],
  studio: [
    role('admin', 'Admin', '#2563eb', 'Runs the studio', [...without('billing.manage.any'), 'bookings.create.any', 'bookings.create.own', 'purchases.create.any', 'purchases.create.own', 'bookings.manage.location', 'schedules.manage.location']),
    role('staff', 'Staff', '#0891b2', 'Teaches, checks people in and sells passes', ['users.list.any', 'users.create.any', 'users.update.any', 'users.approve.any', 'users.impersonate.any', 'users.resend-setup.any', 'bookings.create.any', 'purchases.create.any', 'bookings.manage.location', 'schedules.manage.location']),
    role('user', 'User', '#64748b', 'A customer who books', ['bookings.create.own', 'purchases.create.own']),
  ],
  partner: [
    role('partner-admin', 'Partner Admin', '#7c2d12', 'Manages the partner and its organizations', [...ALL_ADMIN, 'orgs.manage.partner']),
    role('org-admin', 'Org Admin', '#2563eb', 'Manages one organization', without('billing.manage.any')),
    role('org-user', 'Org User', '#64748b', 'Works in one organization', []),
  ],
};

/** The preset's default role for new members (R-CRT-3): its least-access role. */
export function presetRoles(preset: Preset): { roles: Role[]; defaultRole: string } {
  const roles = PRESET_ROLES[preset];
  return { roles: [owner, ...roles], defaultRole: roles[roles.length - 1].id };
}
