import { Injectable } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { randomBytes } from 'node:crypto';
import { membership, membershipStream, type Membership } from '../../domain/membership/membership';
import { organization, orgStream, type OrganizationCommand, type OrgPolicy, type RoleFields } from '../../domain/organization/organization';
import { transferOwnership } from '../../domain/organization/ownership';
import { newId } from '../../infra/crypto/secrets';
import { accessCodeReservation, accessCodeStream } from '../../domain/accesscode/accesscode';
import { validSixDigits } from '../membership/joining';
import type { Position } from '../../domain/shared/envelope';
import { OrgAccess } from '../access/org-access.service';
import { Streams, type Change, type CommandMeta, type Loaded } from '../shared/streams';

export class AddLocation extends Command<{ locationId: string; position: Position }> {
  constructor(readonly orgId: string, readonly name: string, readonly meta: CommandMeta) {
    super();
  }
}

export class ChangePolicy extends Command<{ position: Position }> {
  constructor(readonly orgId: string, readonly changes: Partial<OrgPolicy>, readonly meta: CommandMeta) {
    super();
  }
}

export interface NewRole {
  name: string;
  color: string;
  description: string;
  permissions: string[];
}

export class CreateRole extends Command<{ roleId: string; position: Position }> {
  constructor(readonly orgId: string, readonly role: NewRole, readonly meta: CommandMeta) {
    super();
  }
}

export class UpdateRole extends Command<{ position: Position; moved: string[] }> {
  constructor(readonly orgId: string, readonly roleId: string, readonly changes: Partial<RoleFields>, readonly moveMembersTo: string | undefined, readonly meta: CommandMeta) {
    super();
  }
}

export class TransferOwnership extends Command<{ position: Position }> {
  constructor(readonly orgId: string, readonly toUserId: string, readonly formerOwnerRole: string | undefined, readonly meta: CommandMeta) {
    super();
  }
}

/** A readable role id that stays unique when a name is reused after a rename: `front-desk-3f9a2c`. */
export function roleIdFor(name: string): string {
  const slug = name.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
  return `${slug || 'role'}-${randomBytes(3).toString('hex')}`;
}

/** Commands on the org stream alone, queued per org so settings changes do not race each other. */
@Injectable() // emits the constructor's parameter types, which the handlers below inherit
abstract class OrgSettingsHandler {
  constructor(
    protected readonly streams: Streams,
    protected readonly orgAccess: OrgAccess,
  ) {}

  protected decideOnOrg(orgId: string, command: OrganizationCommand, meta: CommandMeta) {
    return this.streams.retrying(async () => {
      const { org, context } = await this.orgAccess.context(orgId, meta.actor);
      return this.streams.commit([{ from: org, events: organization.decide(org.state, command, context) }], meta);
    }, orgStream(orgId));
  }
}

@CommandHandler(AddLocation)
export class AddLocationHandler extends OrgSettingsHandler implements ICommandHandler<AddLocation> {
  async execute({ orgId, name, meta }: AddLocation) {
    const locationId = newId();
    const { position } = await this.decideOnOrg(orgId, { type: 'AddLocation', locationId, name }, meta);
    return { locationId, position };
  }
}

/**
 * Policy changes. R-CODE-1: turning door access on gives every member without a
 * code a generated one, unique in the org, in the same commit as the policy change.
 */
@CommandHandler(ChangePolicy)
export class ChangePolicyHandler extends OrgSettingsHandler implements ICommandHandler<ChangePolicy> {
  execute({ orgId, changes, meta }: ChangePolicy) {
    return this.streams.retrying(async () => {
      const { org, context } = await this.orgAccess.context(orgId, meta.actor);
      const events = organization.decide(org.state, { type: 'ChangePolicy', changes }, context);
      const changesOfCommit: Change[] = [{ from: org, events }];
      if (changes.doorAccess === true && !org.state.policy.doorAccess && events.length > 0) {
        const after = { ...context, org: events.reduce(organization.evolve, org.state) };
        const drawn = new Set<string>();
        for (const member of await membersOf(this.streams, orgId)) {
          for (let tries = 0; ; tries++) {
            if (tries === 50) throw new Error('no free access code found in 50 tries');
            const candidate = validSixDigits();
            if (drawn.has(candidate)) continue;
            const given = membership.decide(member.state, { type: 'GiveGeneratedCode', codeCandidate: candidate }, after);
            if (given.length === 0) break;
            const reserved = await this.streams.load(accessCodeStream(orgId, candidate), accessCodeReservation);
            if (reserved.state.userId) continue; // someone holds it: draw another
            drawn.add(candidate);
            changesOfCommit.push({ from: member, events: given }, { from: reserved, events: accessCodeReservation.decide(reserved.state, { type: 'Reserve', orgId, code: candidate, userId: member.state.userId }, after) });
            break;
          }
        }
      }
      const { position } = await this.streams.commit(changesOfCommit, meta);
      return { position };
    }, orgStream(orgId));
  }
}

/** Every current member of the org: the MemberAdded events under `member-<org>-` name everyone it ever had; their streams say who still is. */
async function membersOf(streams: Streams, orgId: string): Promise<Loaded<Membership>[]> {
  const filter = { streamPrefix: membershipStream(orgId, ''), types: ['MemberAdded'] };
  const userIds = new Set<string>();
  const limit = 1000;
  for (let from = 0n; ; ) {
    const { events, next } = await streams.store.readAll(from, { limit, filter });
    for (const e of events) userIds.add((e.data as { userId: string }).userId);
    if (events.length < limit) break;
    from = next;
  }
  const members = await Promise.all([...userIds].map((id) => streams.load(membershipStream(orgId, id), membership)));
  return members.filter((m) => m.state.exists);
}

@CommandHandler(CreateRole)
export class CreateRoleHandler extends OrgSettingsHandler implements ICommandHandler<CreateRole> {
  async execute({ orgId, role, meta }: CreateRole) {
    const roleId = roleIdFor(role.name);
    const { position } = await this.decideOnOrg(orgId, { type: 'CreateRole', roleId, ...role }, meta);
    return { roleId, position };
  }
}

/**
 * R-ROLE-4. Who holds a role is known only to the membership streams, so deactivating
 * finds the holders there: the MemberAdded events under `member-<org>-` name every
 * member the org ever had, and each membership stream (through the Streams cache) says
 * its role now. Cost: one indexed scan of the org's joins plus one stream read per
 * member, O(members) — paid only when a role is deactivated, which is rare. Moved
 * members are appended to with their expected versions, so a concurrent change to one
 * of them ends in a conflict and a retry. Not covered: a member *assigned* this role
 * between the scan and the append (that path writes only its own membership stream);
 * closing that needs the assignment path to touch a per-role or org stream too.
 *
 * Moves go through the membership decider's ChangeRole, so they need `roles.assign.any`
 * and the ceiling like any role change, and an actor who holds the role cannot
 * deactivate it by moving themselves (R-ROLE-3, `cannot_change_own_role`): another
 * manager must do it.
 */
@CommandHandler(UpdateRole)
export class UpdateRoleHandler extends OrgSettingsHandler implements ICommandHandler<UpdateRole> {
  execute({ orgId, roleId, changes, moveMembersTo, meta }: UpdateRole) {
    return this.streams.retrying(async () => {
      const { org, context } = await this.orgAccess.context(orgId, meta.actor);
      const deactivating = changes.active === false && org.state.roles[roleId]?.active === true;
      const holders = deactivating ? await this.holdersOf(orgId, roleId) : [];
      const command = { type: 'UpdateRole' as const, roleId, changes, moveMembersTo, holders: holders.map((h) => h.state.userId) };
      const events = organization.decide(org.state, command, context);
      const moves: Change[] = events.length > 0 && moveMembersTo
        ? holders.map((from) => ({ from, events: membership.decide(from.state, { type: 'ChangeRole', roleId: moveMembersTo, locations: from.state.locations }, context) }))
        : [];
      const { position } = await this.streams.commit([{ from: org, events }, ...moves], meta);
      return { position, moved: moves.map((m) => (m.from.state as Membership).userId) };
    }, orgStream(orgId));
  }

  private async holdersOf(orgId: string, roleId: string): Promise<Loaded<Membership>[]> {
    return (await membersOf(this.streams, orgId)).filter((m) => m.state.roleId === roleId);
  }
}

/** R-ROLE-1: the org records the new Owner and both memberships change role, in one append. */
@CommandHandler(TransferOwnership)
export class TransferOwnershipHandler extends OrgSettingsHandler implements ICommandHandler<TransferOwnership> {
  execute({ orgId, toUserId, formerOwnerRole, meta }: TransferOwnership) {
    return this.streams.retrying(async () => {
      const { org, context } = await this.orgAccess.context(orgId, meta.actor);
      const owner = await this.streams.load(membershipStream(orgId, org.state.ownerId), membership);
      const target = await this.streams.load(membershipStream(orgId, toUserId), membership);
      const decided = transferOwnership(org.state, { toUserId, formerOwnerRole }, { owner: owner.state, target: target.state }, context);
      const changes: Change[] = [
        { from: org, events: decided.org },
        { from: owner, events: decided.owner },
        { from: target, events: decided.target },
      ];
      return { position: (await this.streams.commit(changes, meta)).position };
    }, orgStream(orgId));
  }
}
