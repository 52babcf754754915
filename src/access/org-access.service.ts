import { Inject, Injectable } from '@nestjs/common';
import { accessOf, can, type MemberAccess } from '../../domain/access/access';
import { OWNER_ROLE_ID } from '../../domain/access/roles';
import { membership, membershipStream } from '../../domain/membership/membership';
import { organization, orgStream, type OrgContext, type Organization } from '../../domain/organization/organization';
import { DomainError, NotFound } from '../../domain/shared/errors';
import { isPartnerAdmin, partner, partnerStream } from '../../domain/partner/partner';
import { serviceAccess, serviceKey, serviceKeyStream } from '../../domain/servicekey/servicekey';
import type { Actor } from '../../infra/eventstore/port';
import { Settings } from '../config/config';
import { Streams, type Loaded } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';

/**
 * An org and the actor's access in it, from the write side (R-ROLE-8). Someone
 * who is not a member gets the same 404 as for an org that does not exist (R-SEC-1).
 */
@Injectable()
export class OrgAccess {
  constructor(
    private readonly streams: Streams,
    private readonly settings: Settings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async load(orgId: string, actor: Actor): Promise<{ org: Loaded<Organization>; access: MemberAccess }>;
  /** Gatehouse's own jobs act as the system: no member access, only decisions that need none. */
  async load(orgId: string, actor: Actor & { kind: 'system' }): Promise<{ org: Loaded<Organization>; access: undefined }>;
  async load(orgId: string, actor: Actor): Promise<{ org: Loaded<Organization>; access: MemberAccess | undefined }> {
    const org = await this.streams.load(orgStream(orgId), organization);
    if (!org.state.exists || org.state.status === 'deleted') throw new NotFound('organization');
    if (actor.kind === 'system') return { org, access: undefined };
    const systemAdmin = await this.isSystemAdmin(actor);
    // R-ACC-7: a suspended org is closed to all but system admins, who can reactivate it.
    if (org.state.status === 'suspended' && !systemAdmin) {
      const member = actor.kind === 'user' ? await this.streams.load(membershipStream(orgId, actor.id), membership) : undefined;
      if (actor.kind === 'service' || member?.state.exists) throw new DomainError('org_suspended', 'this organization is suspended');
      throw new NotFound('organization');
    }
    if (actor.kind === 'service') {
      const key = await this.streams.load(serviceKeyStream(actor.id), serviceKey);
      if (key.state.orgId !== orgId) throw new NotFound('organization');
      return { org, access: serviceAccess(key.state) };
    }
    if (actor.kind !== 'user') throw new NotFound('organization');
    const member = await this.streams.load(membershipStream(orgId, actor.id), membership);
    if (member.state.exists) return { org, access: accessOf(org.state, member.state) };
    const viaPartner = await this.partnerAccess(org.state, actor.id);
    if (viaPartner) return { org, access: viaPartner };
    // R-SYS-1: system admins reach every org, as its Owner would but without owning it; their events name them.
    if (systemAdmin) {
      const asOwner = accessOf(org.state, { userId: actor.id, roleId: OWNER_ROLE_ID, locations: null, status: 'active', approval: 'approved', banned: false, grants: [] });
      return { org, access: { ...asOwner, owner: false } };
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

  /**
   * R-SYS-2: admins of an org's partner manage it without a membership of their
   * own, with the org's Partner Admin role (or its Admin role where the preset has none).
   */
  private async partnerAccess(org: Organization, userId: string): Promise<MemberAccess | undefined> {
    if (!org.partnerId) return undefined;
    const { state } = await this.streams.load(partnerStream(org.partnerId), partner);
    if (!isPartnerAdmin(state, userId)) return undefined;
    const roleId = org.roles['partner-admin'] ? 'partner-admin' : 'admin';
    return accessOf(org, { userId, roleId, locations: null, status: 'active', approval: 'approved', banned: false, grants: [] });
  }

  /** The context an org-scoped decision runs in. */
  async context(orgId: string, actor: Actor): Promise<{ org: Loaded<Organization>; context: OrgContext }> {
    const { org, access } = await this.load(orgId, actor);
    return { org, context: { now: this.clock(), actor, org: org.state, access } };
  }
}
