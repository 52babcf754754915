/**
 * The permission catalog (SPEC 1, "Permissions"): `resource.action.scope`, scope
 * `any` (whole org), `location` (assigned locations) or `own`.
 */
export const ADMIN_PERMISSIONS = [
  'users.list.any',
  'users.create.any',
  'users.update.any',
  'users.approve.any',
  'users.ban.any',
  'users.delete.any',
  'users.impersonate.any',
  'users.disable.any',
  'users.credentials.any',
  /** Seed 000: staff resend a setup email ("Resend Invite") without the other credential powers. */
  'users.resend-setup.any',
  'members.invite.any',
  'roles.assign.any',
  'roles.manage.any',
  'permissions.grant.any',
  'credits.adjust.any',
  'accesscodes.update.any',
  'audit.read.any',
  'org.manage.any',
  'billing.manage.any',
  'availability.update.any',
] as const;

/** Permissions of the four seed products, so other services can ask Gatehouse about them. */
export const PRODUCT_PERMISSIONS = [
  'tickets.create.any',
  'tickets.update.any',
  'tickets.view.any',
  'incidents.manage.any',
  'bookings.create.own',
  'bookings.create.any',
  'bookings.manage.location',
  'purchases.create.own',
  'purchases.create.any',
  'schedules.manage.location',
  'orgs.manage.partner',
] as const;

export const PERMISSIONS: readonly string[] = [...ADMIN_PERMISSIONS, ...PRODUCT_PERMISSIONS];

const PERMISSION_SHAPE = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.(any|location|own|partner)$/;

export function isPermissionName(name: string): boolean {
  return PERMISSION_SHAPE.test(name);
}
