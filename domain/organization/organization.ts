import type { Role, Preset } from '../access/roles';
import { presetRoles } from '../access/roles';
import type { Context, Decider, DomainEvent } from '../shared/decider';
import { DomainError } from '../shared/errors';

export const orgStream = (orgId: string) => `org-${orgId}`;

export interface OrgPolicy {
  /** R-INV-1: 1 hour to 30 days, default 7 days. */
  invitationExpiryHours: number;
  defaultRole: string;
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
  policy: OrgPolicy;
}

export const initialOrganization = (): Organization => ({
  exists: false,
  orgId: '',
  name: '',
  status: 'active',
  ownerId: '',
  roles: {},
  policy: { invitationExpiryHours: DEFAULT_INVITATION_EXPIRY_HOURS, defaultRole: '' },
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
            policy: { invitationExpiryHours: DEFAULT_INVITATION_EXPIRY_HOURS, defaultRole },
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
        policy: event.data.policy,
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
