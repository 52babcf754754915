import { Inject, Injectable } from '@nestjs/common';
import type { ActorStanding } from '../../domain/access/account';
import { accessOf, can, type MemberAccess } from '../../domain/access/access';
import { OWNER_ROLE_ID } from '../../domain/access/roles';
import { membership, membershipStream } from '../../domain/membership/membership';
import { organization, orgStream, type OrgContext, type Organization } from '../../domain/organization/organization';
import { DomainError, NotFound } from '../../domain/shared/errors';
import { isPartnerAdmin, partner, partnerStream } from '../../domain/partner/partner';
import { serviceAccess, serviceKey, serviceKeyStream } from '../../domain/servicekey/servicekey';
import type { Actor } from '../../domain/shared/envelope';
import { Settings } from '../config/config';
import { Streams, type Loaded } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';

/**
 * An org and the actor's access in it, from the write side (R-ROLE-8). Someone
 * who is not a member gets the same 404 as for an org that does not exist (R-SEC-1).
 */
const NO_STANDING: ActorStanding = { systemAdmin: false, partnerAdmin: false };

@Injectable()
export class OrgAccess {
  constructor(
    private readonly streams: Streams,
    private readonly settings: Settings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async load(orgId: string, actor: Actor): Promise<{ org: Loaded<Organization>; access: MemberAccess; standing: ActorStanding }>;
  /** Gatehouse's own jobs act as the system: no member access, only decisions that need none. */
  async load(orgId: string, actor: Actor & { kind: 'system' }): Promise<{ org: Loaded<Organization>; access: undefined; standing: ActorStanding }>;
  async load(orgId: string, actor: Actor): Promise<{ org: Loaded<Organization>; access: MemberAccess | undefined; standing: ActorStanding }> {
    const org = await this.streams.load(orgStream(orgId), organization);
    if (!org.state.exists || org.state.status === 'deleted') throw new NotFound('organization');
    if (actor.kind === 'system') return { org, access: undefined, standing: NO_STANDING };
    const [systemAdmin, partnerAdmin] = await Promise.all([this.isSystemAdmin(actor), actor.kind === 'user' ? this.isPartnerAdmin(org.state, actor.id) : false]);
    const standing = { systemAdmin, partnerAdmin };
    // R-ACC-7: a suspended org is closed to all but system admins, who can reactivate it.
    if (org.state.status === 'suspended' && !systemAdmin) {
      const member = actor.kind === 'user' ? await this.streams.load(membershipStream(orgId, actor.id), membership) : undefined;
      if (actor.kind === 'service' || member?.state.exists) throw new DomainError('org_suspended', 'this organization is suspended');
      throw new NotFound('organization');
    }
    if (actor.kind === 'service') {
      const key = await this.streams.load(serviceKeyStream(actor.id), serviceKey);
      if (key.state.orgId !== orgId) throw new NotFound('organization');
      return { org, access: serviceAccess(key.state), standing };
    }
    if (actor.kind !== 'user') throw new NotFound('organization');
    const member = await this.streams.load(membershipStream(orgId, actor.id), membership);
    if (member.state.exists) {
      // R-ACC-1, SPEC 5.7: a disabled member gets access_disabled from every route of the org, reads included.
      if (member.state.status === 'disabled') throw new DomainError('access_disabled', 'your access to this organization is disabled');
      return { org, access: accessOf(org.state, member.state), standing };
    }
    // R-SYS-2: admins of an org's partner manage it without a membership of their own, with the org's Partner Admin role (or its Admin role where the preset has none).
    if (partnerAdmin) {
      const roleId = org.state.roles['partner-admin'] ? 'partner-admin' : 'admin';
      return { org, access: accessOf(org.state, { userId: actor.id, roleId, locations: null, status: 'active', approval: 'approved', banned: false, grants: [] }), standing };
    }
    // R-SYS-1: system admins reach every org, as its Owner would but without owning it; their events name them.
    if (systemAdmin) {
      const asOwner = accessOf(org.state, { userId: actor.id, roleId: OWNER_ROLE_ID, locations: null, status: 'active', approval: 'approved', banned: false, grants: [] });
      return { org, access: { ...asOwner, owner: false }, standing };
    }
    throw new NotFound('organization');
  }

  /** R-SYS-1: a system admin is an active member of the SYSTEM_ADMIN_ORG org who may manage it (org.manage.any there). */
  async isSystemAdmin(actor: Actor): Promise<boolean> {
    const systemOrg = this.settings.SYSTEM_ADMIN_ORG;
    if (!systemOrg || actor.kind !== 'user') return false;
    const [{ state: org }, { state: member }] = await Promise.all([this.streams.load(orgStream(systemOrg), organization), this.streams.load(membershipStream(systemOrg, actor.id), membership)]);
    return org.exists && member.exists && can(accessOf(org, member), 'org.manage.any', { now: this.clock() }).allowed;
  }

  /** R-SYS-2: an admin of the org's partner. */
  private async isPartnerAdmin(org: Organization, userId: string): Promise<boolean> {
    if (!org.partnerId) return false;
    const { state } = await this.streams.load(partnerStream(org.partnerId), partner);
    return isPartnerAdmin(state, userId);
  }

  /** The context an org-scoped decision runs in. */
  async context(orgId: string, actor: Actor, realActor?: Actor): Promise<{ org: Loaded<Organization>; context: OrgContext }> {
    const { org, access, standing } = await this.load(orgId, actor);
    return { org, context: { now: this.clock(), actor, org: org.state, access, standing, ...(realActor ? { realActor } : {}) } };
  }
}
