import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { accessCodeReservation, accessCodeStream } from '../../domain/accesscode/accesscode';
import { membership, membershipStream, requireCredentialsAuthority, requireProfileAuthority, requireSetupLinkAuthority } from '../../domain/membership/membership';
import { emailReservation, emailStream, user, userStream, usernameReservation, usernameStream, type Profile } from '../../domain/user/user';
import { normalizeEmail } from '../../domain/shared/email';
import type { Position } from '../../domain/shared/envelope';
import { OrgAccess } from '../access/org-access.service';
import { Links } from '../auth/links.service';
import { Streams, type Change, type CommandMeta } from '../shared/streams';
import { NameKeys } from '../../infra/crypto/name-keys';

export class UpdateMember extends Command<{ position: Position }> {
  constructor(readonly orgId: string, readonly userId: string, readonly changes: Partial<Profile> & { notes?: string; email?: string }, readonly meta: CommandMeta) {
    super();
  }
}

export class SetAccessCode extends Command<{ position: Position }> {
  constructor(readonly orgId: string, readonly userId: string, readonly code: string, readonly meta: CommandMeta) {
    super();
  }
}

/** Profile edits (name, phone, bio, username, with the username's reservation moved) and internal notes, in one append. */
@CommandHandler(UpdateMember)
export class UpdateMemberHandler implements ICommandHandler<UpdateMember> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
    private readonly names: NameKeys,
  ) {}

  execute({ orgId, userId, changes: { notes, email, ...profile }, meta }: UpdateMember) {
    return this.streams.retrying(async () => {
      const { context } = await this.orgAccess.context(orgId, meta.actor, meta.realActor);
      const member = await this.streams.load(membershipStream(orgId, userId), membership);
      const account = await this.streams.load(userStream(userId), user);
      // Every edit is one of a member, with users.update.any: the membership decides that, and the notes (unchanged unless given).
      const edited = membership.decide(member.state, { type: 'UpdateNotes', notes: notes ?? member.state.notes }, context);
      const changes: Change[] = [];
      // The profile belongs to the account and whoever manages it (R-SEC-4).
      const newEmail = email === undefined ? undefined : normalizeEmail(email);
      if (Object.values(profile).some((v) => v !== undefined) || newEmail !== undefined) {
        requireProfileAuthority(member.state, account.state, context);
        const events = user.decide(account.state, { type: 'UpdateProfile', changes: profile }, context);
        if (newEmail !== undefined) events.push(...user.decide(account.state, { type: 'ChangeEmail', email: newEmail }, context));
        changes.push({ from: account, events });
      }
      // SPEC 5.7: a new email is unique as at creation; the old one is free for another account.
      if (newEmail !== undefined && newEmail !== account.state.email) {
        const taken = await this.streams.load(emailStream(this.names.email(newEmail)), emailReservation);
        changes.unshift({ from: taken, events: emailReservation.decide(taken.state, { type: 'Reserve', userId }, context) });
        const old = await this.streams.load(emailStream(this.names.email(account.state.email)), emailReservation);
        if (old.state.userId === userId) changes.push({ from: old, events: emailReservation.decide(old.state, { type: 'Release' }, context) });
      }
      changes.push({ from: member, events: edited });
      const renamed = profile.username !== undefined && profile.username.toLowerCase() !== account.state.username?.toLowerCase();
      if (renamed) {
        const taken = await this.streams.load(usernameStream(this.names.username(profile.username!)), usernameReservation);
        changes.unshift({ from: taken, events: usernameReservation.decide(taken.state, { type: 'Reserve', userId }, context) });
        if (account.state.username) {
          const old = await this.streams.load(usernameStream(this.names.username(account.state.username)), usernameReservation);
          changes.push({ from: old, events: usernameReservation.decide(old.state, { type: 'Release' }, context) });
        }
      }
      return { position: (await this.streams.commit(changes, meta)).position };
    }, membershipStream(orgId, userId));
  }
}

/** R-CODE-2: a custom code, checked by the rules, reserved in the org, the old one released. */
@CommandHandler(SetAccessCode)
export class SetAccessCodeHandler implements ICommandHandler<SetAccessCode> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
  ) {}

  execute({ orgId, userId, code, meta }: SetAccessCode) {
    return this.streams.retrying(async () => {
      const { context } = await this.orgAccess.context(orgId, meta.actor);
      const member = await this.streams.load(membershipStream(orgId, userId), membership);
      const assigned = membership.decide(member.state, { type: 'AssignAccessCode', code }, context);
      if (assigned.length === 0) return { position: (await this.streams.commit([], meta)).position };
      const reserved = await this.streams.load(accessCodeStream(orgId, code), accessCodeReservation);
      const changes: Change[] = [
        { from: reserved, events: accessCodeReservation.decide(reserved.state, { type: 'Reserve', orgId, code, userId }, context) },
        { from: member, events: assigned },
      ];
      const previous = member.state.accessCode;
      if (previous) {
        const old = await this.streams.load(accessCodeStream(orgId, previous), accessCodeReservation);
        changes.push({ from: old, events: accessCodeReservation.decide(old.state, { type: 'Release', orgId, code: previous, userId }, context) });
      }
      return { position: (await this.streams.commit(changes, meta)).position };
    }, membershipStream(orgId, userId));
  }
}

export class SendSetupLink extends Command<{ position: Position }> {
  constructor(readonly orgId: string, readonly userId: string, readonly meta: CommandMeta) {
    super();
  }
}

/**
 * R-CRT-4: resend the setup link, even after setup was completed — then following
 * it sets a new password. Needs users.credentials.any, since it can replace a password.
 */
@CommandHandler(SendSetupLink)
export class SendSetupLinkHandler implements ICommandHandler<SendSetupLink> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
    private readonly links: Links,
  ) {}

  async execute({ orgId, userId, meta }: SendSetupLink) {
    const { context } = await this.orgAccess.context(orgId, meta.actor, meta.realActor);
    const member = await this.streams.load(membershipStream(orgId, userId), membership);
    const { state: account } = await this.streams.load(userStream(userId), user);
    // It can replace a password: the same authority as setting one (the Owner's own only by the Owner, R-SEC-4), or staff's narrower one (seed 000).
    requireSetupLinkAuthority(member.state, account, context);
    const issued = await this.links.issue({ purpose: 'setup', userId, orgId, email: { to: account.email, variant: account.passwordHash ? 'after-setup' : 'resend' } }, context);
    const { position } = await this.streams.commit([issued.change], meta);
    return { position };
  }
}
