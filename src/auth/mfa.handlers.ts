import { Inject } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { Secret, TOTP } from 'otpauth';
import { membership, membershipStream, requireCredentialsAuthority } from '../../domain/membership/membership';
import { DomainError } from '../../domain/shared/errors';
import { isSignInActivity, signInStream, user, userStream, type User, type UserEvent } from '../../domain/user/user';
import { SecretBox } from '../../infra/crypto/sealing';
import { hashToken } from '../../infra/crypto/secrets';
import type { Position } from '../../domain/shared/envelope';
import { OrgAccess } from '../access/org-access.service';
import { record, Streams, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';
import { Links } from './links.service';
import { Sessions } from './sessions.service';
import { SignInCompletion, type Origin, type SignedIn } from './sign-in.handlers';
import { SignInThrottle } from './throttle';

const PERIOD_S = 30;
const BACKUP_CODES = 10;
const BACKUP_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

function totp(secret: string, label = 'Gatehouse'): TOTP {
  return new TOTP({ issuer: 'Gatehouse', label, secret: Secret.fromBase32(secret), period: PERIOD_S, digits: 6, algorithm: 'SHA1' });
}

/** The time step a 6-digit code is valid for (one step of clock drift either way), or undefined. */
export function verifiedStep(secret: string, code: string, now: Date): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const delta = totp(secret).validate({ token: code, timestamp: now.getTime(), window: 1 });
  return delta === null ? undefined : Math.floor(now.getTime() / 1000 / PERIOD_S) + delta;
}

/** 10 characters from a 31-letter alphabet (about 50 bits); the small modulo bias is harmless at this size. */
function backupCode(): string {
  const chars = [...randomBytes(10)].map((b) => BACKUP_ALPHABET[b % BACKUP_ALPHABET.length]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5, 10)}`;
}

const normalizeBackup = (code: string) => code.trim().toLowerCase().replace(/\s+/g, '');

export class StartMfaEnrollment extends Command<{ secret: string; otpauthUri: string; position: Position }> {
  constructor(readonly meta: CommandMeta) {
    super();
  }
}

export class VerifyMfaEnrollment extends Command<{ backupCodes: string[]; position: Position }> {
  constructor(readonly code: string, readonly meta: CommandMeta) {
    super();
  }
}

export class SignInWithMfa extends Command<SignedIn> {
  constructor(readonly challenge: string, readonly code: string, readonly origin: Origin, readonly meta: CommandMeta) {
    super();
  }
}

export class ResetMemberMfa extends Command<{ position: Position }> {
  constructor(readonly orgId: string, readonly userId: string, readonly meta: CommandMeta) {
    super();
  }
}

/** R-CRED-8: TOTP enrollment; the secret is shown once and kept only sealed. */
@CommandHandler(StartMfaEnrollment)
export class StartMfaEnrollmentHandler implements ICommandHandler<StartMfaEnrollment> {
  constructor(
    private readonly streams: Streams,
    private readonly box: SecretBox,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ meta }: StartMfaEnrollment) {
    const secret = new Secret({ size: 20 }).base32;
    return this.streams.retrying(async () => {
      const from = await this.streams.load(userStream(meta.actor.id), user);
      const events = user.decide(from.state, { type: 'StartMfaEnrollment', sealedSecret: this.box.seal(secret) }, { now: this.clock(), actor: meta.actor });
      const { position } = await this.streams.commit([{ from, events }], meta);
      return { secret, otpauthUri: totp(secret, from.state.email).toString(), position };
    }, userStream(meta.actor.id));
  }
}

/** R-CRED-8: a correct code turns MFA on and gives 10 single-use backup codes, shown once. */
@CommandHandler(VerifyMfaEnrollment)
export class VerifyMfaEnrollmentHandler implements ICommandHandler<VerifyMfaEnrollment> {
  constructor(
    private readonly streams: Streams,
    private readonly box: SecretBox,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ code, meta }: VerifyMfaEnrollment) {
    const now = this.clock();
    const from = await this.streams.load(userStream(meta.actor.id), user);
    const pending = from.state.mfa.pendingSecret;
    const step = pending ? verifiedStep(this.box.open(pending), code, now) : undefined;
    const backupCodes = Array.from({ length: BACKUP_CODES }, backupCode);
    const events = user.decide(from.state, { type: 'ConfirmMfa', step, backupCodeHashes: backupCodes.map((c) => hashToken(normalizeBackup(c))) }, { now, actor: meta.actor });
    const { position } = await this.streams.commit([{ from, events }], meta);
    return { backupCodes, position };
  }
}

/**
 * The second step of a sign-in once MFA is on: a TOTP code or a backup code, each
 * usable once. Attempts are checked and counted in one step before the code is
 * tried (R-CRED-7, R-SEC-3); a good code still signs no one in whose every
 * membership is disabled or every org suspended (R-ACC-1, R-ACC-7).
 */
@CommandHandler(SignInWithMfa)
export class SignInWithMfaHandler implements ICommandHandler<SignInWithMfa> {
  constructor(
    private readonly streams: Streams,
    private readonly links: Links,
    private readonly sessions: Sessions,
    private readonly throttle: SignInThrottle,
    private readonly box: SecretBox,
    private readonly completion: SignInCompletion,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ challenge, code, origin, meta }: SignInWithMfa): Promise<SignedIn> {
    const now = this.clock();
    const spent = await this.links.use(challenge, ['mfa-challenge'], { now, actor: meta.actor });
    const userId = spent.link.userId!;
    const wait = await this.throttle.reserve(`mfa:${userId}`, origin.ip);
    if (wait > 0) throw new DomainError('too_many_attempts', 'too many wrong codes: wait before trying again', { retryAfterSeconds: Math.ceil(wait / 1000) });
    let proven = false;
    try {
      const from = await this.streams.load(userStream(userId), user);
      const actor = { kind: 'user' as const, id: userId };
      const context = { now, actor };
      const attempt = { method: 'password+mfa', ip: origin.ip, userAgent: origin.userAgent };
      const { issued, change } = await this.sessions.prepare(userId, 'password');
      let events: UserEvent[];
      try {
        events = user.decide(from.state, { type: 'SignInWithSecondFactor', proof: this.proofOf(from.state, code, now), ...attempt, sessionId: issued.sessionId }, context);
      } catch (error) {
        if (!(error instanceof DomainError && (error.code === 'invalid_mfa_code' || error.code === 'mfa_code_used'))) throw error;
        await this.completion.record(from.state, { ...attempt, failureReason: 'wrong_mfa_code' }, meta);
        throw new DomainError('invalid_mfa_code', 'the code is wrong');
      }
      proven = true;
      await this.completion.requireUsableMembership(from.state, attempt.method, origin, meta);
      const changes = [spent.change, { from, events: events.filter((e) => !isSignInActivity(e)) }, record(signInStream(userId), events.filter(isSignInActivity)), change];
      const { position } = await this.streams.commit(changes, { ...meta, actor });
      return { ...issued, userId, mustChangePassword: from.state.mustChangePassword, position };
    } finally {
      // The attempt counted by reserve(): kept as a failure, or given back once the code checked out.
      if (proven) await this.throttle.succeeded(`mfa:${userId}`, origin.ip);
      else await this.throttle.failed(`mfa:${userId}`, origin.ip);
    }
  }

  /** What the code proves: the TOTP step it matches (none when it matches no step), or a backup code's hash. */
  private proofOf(account: User, code: string, now: Date): { step: number } | { codeHash: string } | undefined {
    if (!/^\d{6}$/.test(code)) return { codeHash: hashToken(normalizeBackup(code)) };
    const step = account.mfa.secret ? verifiedStep(this.box.open(account.mfa.secret), code, now) : undefined;
    return step === undefined ? undefined : { step };
  }
}

/** R-CRED-8: an admin's "Reset MFA" clears the secret and backup codes and ends every session. */
@CommandHandler(ResetMemberMfa)
export class ResetMemberMfaHandler implements ICommandHandler<ResetMemberMfa> {
  constructor(
    private readonly streams: Streams,
    private readonly orgAccess: OrgAccess,
  ) {}

  async execute({ orgId, userId, meta }: ResetMemberMfa) {
    const { context } = await this.orgAccess.context(orgId, meta.actor, meta.realActor);
    const member = await this.streams.load(membershipStream(orgId, userId), membership);
    const { state: account } = await this.streams.load(userStream(userId), user);
    requireCredentialsAuthority(member.state, account, context);
    const { position } = await this.streams.handle(userStream(userId), user, { type: 'ResetMfa' }, context, meta);
    return { position };
  }
}
