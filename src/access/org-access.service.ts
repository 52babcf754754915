import { Inject, Injectable } from '@nestjs/common';
import { accessOf, type MemberAccess } from '../../domain/access/access';
import { membership, membershipStream } from '../../domain/membership/membership';
import { organization, orgStream, type OrgContext, type Organization } from '../../domain/organization/organization';
import { NotFound } from '../../domain/shared/errors';
import { serviceAccess, serviceKey, serviceKeyStream } from '../../domain/servicekey/servicekey';
import type { Actor } from '../../infra/eventstore/port';
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
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async load(orgId: string, actor: Actor): Promise<{ org: Loaded<Organization>; access: MemberAccess }> {
    const org = await this.streams.load(orgStream(orgId), organization);
    if (!org.state.exists || org.state.status === 'deleted') throw new NotFound('organization');
    if (actor.kind === 'service') {
      const key = await this.streams.load(serviceKeyStream(actor.id), serviceKey);
      if (key.state.orgId !== orgId) throw new NotFound('organization');
      return { org, access: serviceAccess(key.state) };
    }
    if (actor.kind !== 'user') throw new NotFound('organization');
    const member = await this.streams.load(membershipStream(orgId, actor.id), membership);
    if (!member.state.exists) throw new NotFound('organization');
    return { org, access: accessOf(org.state, member.state) };
  }

  /** The context an org-scoped decision runs in. */
  async context(orgId: string, actor: Actor): Promise<{ org: Loaded<Organization>; context: OrgContext }> {
    const { org, access } = await this.load(orgId, actor);
    return { org, context: { now: this.clock(), actor, org: org.state, access } };
  }
}
