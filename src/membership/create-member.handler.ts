import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { normalizeEmail } from '../../domain/shared/email';
import { DomainError } from '../../domain/shared/errors';
import { partner, partnerStream, requireOrgOfPartner } from '../../domain/partner/partner';
import { emailReservation, emailStream } from '../../domain/user/user';
import { hashPassword } from '../../infra/crypto/passwords';
import { newId, newTemporaryPassword } from '../../infra/crypto/secrets';
import { CLOCK, type Clock } from '../shared/tokens';
import type { Position } from '../../domain/shared/envelope';
import { OrgAccess } from '../access/org-access.service';
import { chosenPasswordHash } from '../auth/chosen-password';
import { Links } from '../auth/links.service';
import { Streams, type Change, type CommandMeta } from '../shared/streams';
import { Joining } from './joining';
import { NameKeys } from '../../infra/crypto/name-keys';

export type CreateMode = 'setup-email' | 'temporary-password' | 'set-password';

export interface Placement {
  orgId: string;
  role?: string;
  locations?: string[];
}

export interface CreateMemberInput {
  email: string;
  firstName: string;
  /** Optional where a product has one "Full Name" field (seed 001). */
  lastName?: string;
  phone?: string;
  username?: string;
  mode: CreateMode;
  password?: string;
  mustChangePassword?: boolean;
}

/** Where the new person goes: one org, or (R-SYS-2) several orgs of one partner at once, maybe as a partner admin too. */
export type Destination = { placements: Placement[]; partner?: { partnerId: string; admin: boolean } };

export interface MemberCreated {
  userId: string;
  addedExisting: boolean;
  /** Only in this response, only in temporary-password mode (R-CRT-1 b). */
  temporaryPassword?: string;
  position: Position;
}

export class CreateMember extends Command<MemberCreated> {
  constructor(readonly destination: Destination, readonly input: CreateMemberInput, readonly meta: CommandMeta) {
    super();
  }
}

/**
 * R-CRT-1: create a member directly, in one of three modes; R-CRT-2: an email that
 * already has an account adds that user, with no password issued; R-CRT-3: the org's
 * default role unless one is given.
 */
@CommandHandler(CreateMember)
export class CreateMemberHandler implements ICommandHandler<CreateMember> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
    private readonly names: NameKeys,
    private readonly joining: Joining,
    private readonly links: Links,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ destination, input, meta }: CreateMember): Promise<MemberCreated> {
    const email = normalizeEmail(input.email);
    const temporaryPassword = input.mode === 'temporary-password' ? newTemporaryPassword() : undefined;
    let passwordHash: string | undefined;
    if (input.mode === 'set-password') {
      if (!input.password) throw new DomainError('password_required', 'set-password mode needs a password', { field: 'password' });
      passwordHash = await chosenPasswordHash(input.password, { email, firstName: input.firstName, lastName: input.lastName ?? '', username: input.username });
    } else if (temporaryPassword) passwordHash = await hashPassword(temporaryPassword);
    const newUserId = newId();
    const [first] = destination.placements;

    const outcome = await this.streams.retrying(async () => {
      const reservation = await this.streams.load(emailStream(this.names.email(email)), emailReservation);
      const existing = reservation.state.userId;
      const userId = existing ?? newUserId;
      // Authorization and each role are checked (by the membership decisions) before anything is written.
      const changes: Change[] = [...(await this.partnerChanges(destination, userId, meta)), ...(await this.placements(destination, userId, existing ? 'existing' : 'created', meta))];
      const context = { now: this.clock(), actor: meta.actor };
      if (!existing) {
        const profile = { firstName: input.firstName, lastName: input.lastName ?? '', ...(input.phone ? { phone: input.phone } : {}), ...(input.username ? { username: input.username } : {}) };
        const password = passwordHash ? { hash: passwordHash, mustChange: input.mode === 'temporary-password' || !!input.mustChangePassword, by: 'admin' as const } : undefined;
        // R-SEC-4: a partner's account is the partner's; otherwise the org that made it manages it.
        const managedBy = destination.partner ? { partnerId: destination.partner.partnerId } : { orgId: first.orgId };
        changes.unshift(...(await this.joining.newAccount({ userId, email, profile, managedBy, password }, context)));
        if (input.mode === 'setup-email') {
          // The setup link invites the person in: it lives as the org's invitations do (R-CRED-2, R-INV-1).
          const { org } = await this.orgAccess.load(first.orgId, meta.actor);
          changes.push((await this.links.issue({ purpose: 'setup', userId, orgId: first.orgId, asInvitation: org.state.policy, email: { to: email, variant: 'new-account' } }, context)).change);
        }
      }
      const { position } = await this.streams.commit(changes, { ...meta, orgId: first.orgId });
      return { userId, addedExisting: !!existing, position };
    });

    return {
      userId: outcome.userId,
      addedExisting: outcome.addedExisting,
      ...(temporaryPassword && !outcome.addedExisting ? { temporaryPassword } : {}),
      position: outcome.position,
    };
  }

  /** One membership per placement, each decided with the actor's access in that org. */
  private async placements({ placements, partner: via }: Destination, userId: string, how: 'created' | 'existing', meta: CommandMeta): Promise<Change[]> {
    const changes: Change[] = [];
    for (const { orgId, role, locations } of placements) {
      const { context } = await this.orgAccess.context(orgId, meta.actor);
      if (via) requireOrgOfPartner(context.org, via.partnerId);
      changes.push(...(await this.joining.addMember(userId, { roleId: role, locations: locations ?? null, via: how }, context)));
    }
    return changes;
  }

  private async partnerChanges({ partner: via }: Destination, userId: string, meta: CommandMeta): Promise<Change[]> {
    if (!via) return [];
    const from = await this.streams.load(partnerStream(via.partnerId), partner);
    return [{ from, events: partner.decide(from.state, { type: 'PlacePartnerUser', userId, admin: via.admin }, { now: this.clock(), actor: meta.actor }) }];
  }
}
