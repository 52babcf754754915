import type { Role, Preset } from '../access/roles';
import { presetRoles } from '../access/roles';
import type { MemberAccess } from '../access/access';
import type { Context, Decider, DomainEvent } from '../shared/decider';
import { DomainError } from '../shared/errors';

export const orgStream = (orgId: string) => `org-${orgId}`;

export interface OrgPolicy {
  /** R-INV-1: 1 hour to 30 days, default 7 days. */
  invitationExpiryHours: number;
  defaultRole: string;
  /** R-CODE-1: members of an org that uses door access get a 6-digit access code. */
  doorAccess: boolean;
}

export interface Location {
  locationId: string;
  name: string;
}

export const DEFAULT_INVITATION_EXPIRY_HOURS = 7 * 24;
export const INVITATION_EXPIRY_LIMITS = { min: 1, max: 30 * 24 };

export type OrganizationEvent = DomainEvent<
  'OrganizationCreated',
  { orgId: string; name: string; preset: Preset; ownerId: string; roles: Role[]; policy: OrgPolicy; partnerId?: string }
>;

export interface CreateOrganization {
  type: 'CreateOrganization';
  orgId: string;
  name: string;
  preset: Preset;
  ownerId: string;
  partnerId?: string;
}

export type OrganizationCommand = CreateOrganization;

export interface Organization {
  exists: boolean;
  orgId: string;
  name: string;
  status: 'active' | 'suspended' | 'deleted';
  ownerId: string;
  roles: Record<string, Role>;
  locations: Record<string, Location>;
  policy: OrgPolicy;
  partnerId?: string;
}

/** What every org-scoped decision gets: the time, the actor, the org and the actor's access in it (from the write side). */
export interface OrgContext extends Context {
  org: Organization;
  access: MemberAccess | undefined;
}

export const initialOrganization = (): Organization => ({
  exists: false,
  orgId: '',
  name: '',
  status: 'active',
  ownerId: '',
  roles: {},
  locations: {},
  policy: { invitationExpiryHours: DEFAULT_INVITATION_EXPIRY_HOURS, defaultRole: '', doorAccess: false },
});

export function decide(state: Organization, command: OrganizationCommand, _context: Context): OrganizationEvent[] {
  switch (command.type) {
    case 'CreateOrganization': {
      if (state.exists) throw new DomainError('org_exists', 'organization already exists');
      const { roles, defaultRole } = presetRoles(command.preset);
      return [
        {
          type: 'OrganizationCreated',
          data: {
            orgId: command.orgId,
            name: command.name,
            preset: command.preset,
            ownerId: command.ownerId,
            roles,
            policy: { invitationExpiryHours: DEFAULT_INVITATION_EXPIRY_HOURS, defaultRole, doorAccess: command.preset === 'studio' },
            ...(command.partnerId ? { partnerId: command.partnerId } : {}),
          },
        },
      ];
    }
  }
}

export function evolve(state: Organization, event: OrganizationEvent): Organization {
  switch (event.type) {
    case 'OrganizationCreated':
      return {
        exists: true,
        orgId: event.data.orgId,
        name: event.data.name,
        status: 'active',
        ownerId: event.data.ownerId,
        roles: Object.fromEntries(event.data.roles.map((r) => [r.id, r])),
        locations: {},
        policy: event.data.policy,
        ...(event.data.partnerId ? { partnerId: event.data.partnerId } : {}),
      };
    default:
      return state;
  }
}

export const organization: Decider<Organization, OrganizationCommand, OrganizationEvent> = {
  initialState: initialOrganization,
  decide,
  evolve,
};
