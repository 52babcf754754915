import type { Context, Decider, DomainEvent } from '../shared/decider';
import { DomainError, NotFound } from '../shared/errors';

/** A partner manages several organizations (seed 003, R-SYS-2). */
export const partnerStream = (partnerId: string) => `partner-${partnerId}`;

export type PartnerEvent =
  | DomainEvent<'PartnerCreated', { partnerId: string; name: string; createdBy: string }>
  | DomainEvent<'PartnerAdminAdded', { partnerId: string; userId: string }>
  | DomainEvent<'PartnerOrgAttached', { partnerId: string; orgId: string }>;

export type PartnerCommand =
  | { type: 'CreatePartner'; partnerId: string; name: string }
  | { type: 'AddPartnerAdmin'; userId: string }
  /** R-SYS-2: a partner admin places a person in the partner's orgs, maybe as a partner admin too. */
  | { type: 'PlacePartnerUser'; userId: string; admin: boolean }
  | { type: 'AttachOrg'; orgId: string };

export interface Partner {
  exists: boolean;
  partnerId: string;
  name: string;
  admins: string[];
  orgs: string[];
}

export const isPartnerAdmin = (partner: Partner, userId: string) => partner.exists && partner.admins.includes(userId);

/** R-SEC-1: to anyone but its admins a partner answers as if it did not exist (no id probing). */
export function requirePartnerAdmin(partner: Partner, userId: string): void {
  if (!isPartnerAdmin(partner, userId)) throw new NotFound('partner');
}

/** R-SEC-1: an org outside the partner answers, to the partner's admins, as if it did not exist. */
export function requireOrgOfPartner(org: { partnerId?: string }, partnerId: string): void {
  if (org.partnerId !== partnerId) throw new NotFound('organization');
}

export const partner: Decider<Partner, PartnerCommand, PartnerEvent> = {
  initialState: () => ({ exists: false, partnerId: '', name: '', admins: [], orgs: [] }),
  decide(state, command, ctx: Context) {
    if (command.type === 'CreatePartner') {
      if (state.exists) throw new DomainError('partner_exists');
      return [
        { type: 'PartnerCreated', data: { partnerId: command.partnerId, name: command.name, createdBy: ctx.actor.id } },
        { type: 'PartnerAdminAdded', data: { partnerId: command.partnerId, userId: ctx.actor.id } },
      ];
    }
    requirePartnerAdmin(state, ctx.actor.id);
    switch (command.type) {
      case 'AddPartnerAdmin':
        return state.admins.includes(command.userId) ? [] : [{ type: 'PartnerAdminAdded', data: { partnerId: state.partnerId, userId: command.userId } }];
      case 'PlacePartnerUser':
        return command.admin && !state.admins.includes(command.userId) ? [{ type: 'PartnerAdminAdded', data: { partnerId: state.partnerId, userId: command.userId } }] : [];
      case 'AttachOrg':
        return state.orgs.includes(command.orgId) ? [] : [{ type: 'PartnerOrgAttached', data: { partnerId: state.partnerId, orgId: command.orgId } }];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'PartnerCreated':
        return { ...state, exists: true, partnerId: event.data.partnerId, name: event.data.name };
      case 'PartnerAdminAdded':
        return { ...state, admins: [...state.admins, event.data.userId] };
      case 'PartnerOrgAttached':
        return { ...state, orgs: [...state.orgs, event.data.orgId] };
      default:
        return state;
    }
  },
};
