import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { normalizeEmail } from '../../domain/shared/email';
import { DomainError } from '../../domain/shared/errors';
import { checkPasswordStrength } from '../../domain/user/password-policy';
import { emailReservation, emailStream } from '../../domain/user/user';
import { hashPassword } from '../../infra/crypto/passwords';
import { emailKey, newId, newTemporaryPassword } from '../../infra/crypto/secrets';
import { MAILER, type Mailer } from '../../infra/email/port';
import type { Position } from '../../infra/eventstore/port';
import { OrgAccess } from '../access/org-access.service';
import { Links } from '../auth/links.service';
import { Settings } from '../config/config';
import { Streams, type Change, type CommandMeta } from '../shared/streams';
import { Joining } from './joining';

export type CreateMode = 'setup-email' | 'temporary-password' | 'set-password';

export interface CreateMemberInput {
  email: string;
  firstName: string;
  lastName: string;
  phone?: string;
  username?: string;
  role?: string;
  locations?: string[];
  mode: CreateMode;
  password?: string;
  mustChangePassword?: boolean;
}

export interface MemberCreated {
  userId: string;
  addedExisting: boolean;
  /** Only in this response, only in temporary-password mode (R-CRT-1 b). */
  temporaryPassword?: string;
  position: Position;
}

export class CreateMember extends Command<MemberCreated> {
  constructor(readonly orgId: string, readonly input: CreateMemberInput, readonly meta: CommandMeta) {
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
    private readonly joining: Joining,
    private readonly links: Links,
    private readonly settings: Settings,
    @Inject(MAILER) private readonly mailer: Mailer,
  ) {}

  async execute({ orgId, input, meta }: CreateMember): Promise<MemberCreated> {
    const email = normalizeEmail(input.email);
    const temporaryPassword = input.mode === 'temporary-password' ? newTemporaryPassword() : undefined;
    const chosen = input.mode === 'set-password' ? input.password : temporaryPassword;
    if (input.mode === 'set-password') {
      if (!input.password) throw new DomainError('password_required', 'set-password mode needs a password', { field: 'password' });
      checkPasswordStrength(input.password, [email.split('@')[0], input.firstName, input.lastName]);
    }
    const passwordHash = chosen ? await hashPassword(chosen) : undefined;
    const userId = newId();

    const outcome = await this.streams.retrying(async () => {
      const { context } = await this.orgAccess.context(orgId, meta.actor);
      const reservation = await this.streams.load(emailStream(emailKey(email)), emailReservation);
      const existing = reservation.state.userId;
      const member = { roleId: input.role, locations: input.locations ?? null };
      if (existing) {
        const joined = await this.joining.addMember(existing, { ...member, via: 'existing' }, context);
        const { position } = await this.streams.commit(joined, meta);
        return { userId: existing, addedExisting: true, position };
      }
      // Authorization and the role are checked (by the membership decision) before anything is written.
      const joined = await this.joining.addMember(userId, { ...member, via: 'created' }, context);
      const profile = { firstName: input.firstName, lastName: input.lastName, ...(input.phone ? { phone: input.phone } : {}), ...(input.username ? { username: input.username } : {}) };
      const password = passwordHash ? { hash: passwordHash, mustChange: input.mode === 'temporary-password' || !!input.mustChangePassword, by: 'admin' as const } : undefined;
      const account = await this.joining.newAccount({ userId, email, profile, password }, context);
      const changes: Change[] = [...account, ...joined];
      let setupToken: string | undefined;
      if (input.mode === 'setup-email') {
        const expiresAt = new Date(context.now.getTime() + context.org.policy.invitationExpiryHours * 3_600_000).toISOString();
        const issued = await this.links.issue('setup', { userId, orgId }, expiresAt, context);
        changes.push(issued.change);
        setupToken = issued.token;
      }
      const { position } = await this.streams.commit(changes, meta);
      return { userId, addedExisting: false, position, setupToken };
    });

    if (outcome.setupToken) {
      const link = `${this.settings.publicUrl}/setup?token=${outcome.setupToken}`;
      await this.mailer.send({ to: email, template: 'setup', subject: 'Set up your Gatehouse account', text: `An account was created for you. Choose your password: ${link}`, link });
    }
    return {
      userId: outcome.userId,
      addedExisting: outcome.addedExisting,
      ...(temporaryPassword && !outcome.addedExisting ? { temporaryPassword } : {}),
      position: outcome.position,
    };
  }
}
