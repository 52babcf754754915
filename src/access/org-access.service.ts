import { Inject, Injectable } from '@nestjs/common';
import { isSystemAdminOf, reachOf, requireSystemAdmin, type ActorStanding, type MemberAccess, type Reach } from '../../domain/access/access';
import { membership, membershipStream } from '../../domain/membership/membership';
import { organization, orgStream, type OrgContext, type Organization } from '../../domain/organization/organization';
import { isPartnerAdmin, partner, partnerStream } from '../../domain/partner/partner';
import { serviceAccess, serviceKey, serviceKeyStream } from '../../domain/servicekey/servicekey';
import type { Actor } from '../../domain/shared/envelope';
import { Settings } from '../config/config';
import { Streams, type Loaded } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';

const NO_STANDING: ActorStanding = { systemAdmin: false, partnerAdmin: false };

/**
 * Loads, from the write side (R-ROLE-8), the facts an access decision needs — the
 * org, the actor's membership or service key, partner and system-admin standing —
 * and hands them to the one decision, `reachOf` in domain/access/reach.ts.
 */
@Injectable()
export class OrgAccess {
  constructor(
    private readonly streams: Streams,
    private readonly settings: Settings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async load(orgId: string, actor: Actor): Promise<{ org: Loaded<Organization>; access: MemberAccess; standing: ActorStanding; via: Reach['via'] }>;
  /** Gatehouse's own jobs act as the system: no member access, only decisions that need none. */
  async load(orgId: string, actor: Actor & { kind: 'system' }): Promise<{ org: Loaded<Organization>; access: undefined; standing: ActorStanding; via: Reach['via'] }>;
  async load(orgId: string, actor: Actor): Promise<{ org: Loaded<Organization>; access: MemberAccess | undefined; standing: ActorStanding; via: Reach['via'] }> {
    if (actor.kind === 'system') {
      const org = await this.streams.load(orgStream(orgId), organization);
      return { org, ...reachOf({ actor, org: org.state, standing: NO_STANDING }) };
    }
    // Every stream the decision may need is loaded in one step (the partner's, which needs the org's, after):
    // one round of reads instead of two, most of them from the cache of folded state.
    const [org, systemAdmin, member, key] = await Promise.all([
      this.streams.load(orgStream(orgId), organization),
      this.isSystemAdmin(actor),
      actor.kind === 'user' ? this.streams.load(membershipStream(orgId, actor.id), membership) : undefined,
      actor.kind === 'service' ? this.streams.load(serviceKeyStream(actor.id), serviceKey) : undefined,
    ]);
    if (!org.state.exists) return { org, ...reachOf({ actor, org: org.state, standing: NO_STANDING }) };
    const standing = actor.kind === 'user' ? { systemAdmin, partnerAdmin: await this.isPartnerAdmin(actor, org.state) } : NO_STANDING;
    const reach = reachOf({
      actor,
      org: org.state,
      standing,
      ...(member ? { membership: member.state } : {}),
      ...(key?.state.exists ? { serviceKey: { orgId: key.state.orgId, access: serviceAccess(key.state) } } : {}),
    });
    return { org, ...reach };
  }

  /** Whether the actor is a system admin, and an admin of the org's partner. */
  async standing(actor: Actor, org?: Organization): Promise<ActorStanding> {
    if (actor.kind !== 'user') return NO_STANDING;
    const [systemAdmin, partnerAdmin] = await Promise.all([this.isSystemAdmin(actor), this.isPartnerAdmin(actor, org)]);
    return { systemAdmin, partnerAdmin };
  }

  private async isPartnerAdmin(actor: Actor, org?: Organization): Promise<boolean> {
    return org?.partnerId ? isPartnerAdmin((await this.streams.load(partnerStream(org.partnerId), partner)).state, actor.id) : false;
  }

  /** R-SYS-1: an admin of the SYSTEM_ADMIN_ORG org. */
  async isSystemAdmin(actor: Actor): Promise<boolean> {
    const systemOrg = this.settings.SYSTEM_ADMIN_ORG;
    if (!systemOrg || actor.kind !== 'user') return false;
    const [{ state: org }, { state: member }] = await Promise.all([this.streams.load(orgStream(systemOrg), organization), this.streams.load(membershipStream(systemOrg, actor.id), membership)]);
    return isSystemAdminOf(org, member, this.clock());
  }

  /** R-SYS-1: throws unless the actor is a system admin. */
  async requireSystemAdmin(actor: Actor): Promise<void> {
    requireSystemAdmin({ systemAdmin: await this.isSystemAdmin(actor) });
  }

  /** The context an org-scoped decision runs in. */
  async context(orgId: string, actor: Actor, realActor?: Actor): Promise<{ org: Loaded<Organization>; context: OrgContext }> {
    const { org, access, standing } = await this.load(orgId, actor);
    return { org, context: { now: this.clock(), actor, org: org.state, access, standing, ...(realActor ? { realActor } : {}) } };
  }
}
