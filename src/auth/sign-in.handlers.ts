import { Inject, Injectable, Logger } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { emailRequestsStream, signInFailedForUnknownEmail } from '../../domain/link/link-request';
import { membership, membershipStream } from '../../domain/membership/membership';
import { organization, orgStream } from '../../domain/organization/organization';
import { normalizeEmail } from '../../domain/shared/email';
import { DomainError } from '../../domain/shared/errors';
import { emailReservation, emailStream, signInStream, user, usernameReservation, usernameStream, userStream, type User } from '../../domain/user/user';
import type { SignInMethod } from '../../domain/session/session';
import { hashPassword, verifyPassword } from '../../infra/crypto/passwords';
import type { Position } from '../../domain/shared/envelope';
import type { ReadStore } from '../../infra/readstore/port';
import { MEMBERS, type MemberRow } from '../../projections/members';
import { ProjectionRunner } from '../readmodels/projection-runner';
import { record, Streams, type Change, type CommandMeta } from '../shared/streams';
import { CLOCK, READ_STORE, type Clock } from '../shared/tokens';
import { errorName } from '../shared/logging';
import { chosenPasswordHash } from './chosen-password';
import { Links } from './links.service';
import { Sessions, type IssuedSession } from './sessions.service';
import { SignInThrottle } from './throttle';
import { NameKeys } from '../../infra/crypto/name-keys';

/** The public link requests live in link-requests.ts (R-SEC-3); named here too for the module that registers them. */
export { RequestMagicLink, RequestMagicLinkHandler } from './link-requests';

export type SignedIn = IssuedSession & { userId: string; mustChangePassword: boolean; position: Position };
/** With MFA on, the password step answers with a challenge for the second step (POST /v1/sessions/mfa). */
export type MfaRequired = { mfaRequired: true; challenge: string; expiresAt: string };

/** Where a sign-in comes from: recorded with the attempt (R-CRED-6), and what throttling counts by (R-CRED-7). */
export interface Origin {
  ip: string;
  userAgent: string;
}

/** Who signs in: by email, or by username (SPEC 5.7, seed 003). */
export type SignInName = { email: string } | { username: string };

export class SignIn extends Command<SignedIn | MfaRequired> {
  constructor(readonly name: SignInName, readonly password: string, readonly origin: Origin, readonly meta: CommandMeta) {
    super();
  }
}

export class RedeemPasswordLink extends Command<SignedIn> {
  constructor(readonly token: string, readonly newPassword: string, readonly meta: CommandMeta, readonly origin: Origin = { ip: '', userAgent: '' }) {
    super();
  }
}

export class RedeemMagicLink extends Command<SignedIn | MfaRequired> {
  constructor(readonly token: string, readonly origin: Origin, readonly meta: CommandMeta) {
    super();
  }
}

/** Verifying against this when the email is unknown keeps the answer's timing the same (R-SEC-3). */
let decoyHash: Promise<string> | undefined;
/** Read for an unknown email where a known one's account is read: the same reads for both (R-SEC-3). No account has this id. */
const NO_ACCOUNT = userStream('none');

/** Why a person whose password checked out may still not sign in (R-ACC-1, R-ACC-7, SPEC 5.7). */
type Refusal = 'access_disabled' | 'org_suspended';
const REFUSALS: Record<Refusal, string> = {
  access_disabled: 'your access is disabled in every organization you belong to',
  org_suspended: 'every organization you belong to is suspended',
};

/**
 * The end of every successful first factor: with MFA on, a challenge for the
 * second step; otherwise a session, recorded as login activity, committed with
 * whatever the first factor changed (a spent link).
 */
@Injectable()
export class SignInCompletion {
  constructor(
    private readonly streams: Streams,
    private readonly sessions: Sessions,
    private readonly links: Links,
    private readonly projections: ProjectionRunner,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async complete(account: User, method: SignInMethod, origin: Origin, meta: CommandMeta, changes: Change[]): Promise<SignedIn | MfaRequired> {
    const context = { now: this.clock(), actor: { kind: 'user' as const, id: account.userId } };
    await this.requireUsableMembership(account, method, origin, meta);
    if (account.mfa.secret) {
      const challenge = await this.links.issue({ purpose: 'mfa-challenge', userId: account.userId }, context);
      await this.streams.commit([...changes, challenge.change], { ...meta, actor: context.actor });
      return { mfaRequired: true, challenge: challenge.token, expiresAt: challenge.expiresAt };
    }
    const { issued, change } = await this.sessions.prepare(account.userId, method);
    // Recorded on the account's sign-in stream, which no decision reads: no reload of the account, no conflict with its changes.
    const signedIn = user.decide(account, { type: 'RecordSignIn', method, ip: origin.ip, userAgent: origin.userAgent, sessionId: issued.sessionId }, context);
    const { position } = await this.streams.commit([...changes, record(signInStream(account.userId), signedIn), change], { ...meta, actor: context.actor });
    return { ...issued, userId: account.userId, mustChangePassword: account.mustChangePassword, position };
  }

  /**
   * R-ACC-1, R-ACC-7, SPEC 5.7: a person whose every membership is disabled, or
   * whose every org is suspended, does not sign in, by any way in; someone with
   * no membership at all does. Asked only once the proof (password, code, link)
   * checked out, so strangers learn nothing; the refusal is login activity (R-CRED-6).
   */
  async requireUsableMembership(account: User, method: string, origin: Origin, meta: CommandMeta): Promise<void> {
    let refusal = await this.refusalFor(account.userId);
    if (!refusal) return;
    // The members list may not hold a membership added a moment ago yet: look again once it has caught up.
    if (await this.projections.waitFor(await this.streams.store.headPosition(), 2_000)) refusal = await this.refusalFor(account.userId);
    if (!refusal) return;
    await this.record(account, { method, ip: origin.ip, userAgent: origin.userAgent, failureReason: refusal }, meta);
    throw new DomainError(refusal, REFUSALS[refusal]);
  }

  /** Which orgs: the members list by person; whether each membership is usable: its stream and its org's (R-ROLE-8). */
  private async refusalFor(userId: string): Promise<Refusal | undefined> {
    const rows = await this.readStore.find<MemberRow>({ collection: this.projections.collection(MEMBERS), where: { userId }, orderBy: [['orgId', 'asc'], ['id', 'asc']], limit: 1000 });
    let disabled = 0;
    let suspended = 0;
    for (const orgId of new Set(rows.map((r) => r.orgId))) {
      const [{ state: member }, { state: org }] = await Promise.all([this.streams.load(membershipStream(orgId, userId), membership), this.streams.load(orgStream(orgId), organization)]);
      if (!member.exists || !org.exists || org.status === 'deleted') continue; // ended: no membership
      if (org.status === 'suspended') suspended++;
      else if (member.status === 'disabled') disabled++;
      else return undefined;
    }
    if (disabled > 0) return 'access_disabled';
    return suspended > 0 ? 'org_suspended' : undefined;
  }

  /**
   * A failed attempt on an account, as login activity (R-CRED-6), on its sign-in
   * stream whatever that stream's version (a failure depends on nothing since), so
   * it costs one write and never a retry: as an unknown email's record does (R-SEC-3).
   */
  async record(account: User, attempt: { method: string; ip: string; userAgent: string; failureReason: string }, meta: CommandMeta): Promise<void> {
    const actor = { kind: 'user' as const, id: account.userId };
    const events = user.decide(account, { type: 'RecordSignIn', ...attempt }, { now: this.clock(), actor });
    await this.streams.commit([record(signInStream(account.userId), events)], { ...meta, actor });
  }
}

/**
 * Password sign-in: one answer for a wrong password and an unknown email, after
 * the same work (R-SEC-3): the same reads, one verify, one write; every attempt
 * on an account is recorded as login activity (R-CRED-6); attempts are checked
 * and counted in one step before the verify, with growing delays (R-CRED-7).
 */
@CommandHandler(SignIn)
export class SignInHandler implements ICommandHandler<SignIn> {
  private readonly logger = new Logger('sign-in');

  constructor(
    private readonly streams: Streams,
    private readonly throttle: SignInThrottle,
    private readonly names: NameKeys,
    private readonly completion: SignInCompletion,
  ) {}

  async execute({ name, password, origin, meta }: SignIn): Promise<SignedIn | MfaRequired> {
    // A username is throttled and recorded under its own key, as an email is: both cost the same reads and one write.
    const key = 'email' in name ? this.names.email(normalizeEmail(name.email)) : `username-${this.names.username(name.username)}`;
    const wait = await this.throttle.reserve(key, origin.ip);
    if (wait > 0) throw new DomainError('too_many_attempts', 'too many failed sign-ins: wait before trying again', { retryAfterSeconds: Math.ceil(wait / 1000) });
    let proven = false;
    try {
      const reservation = 'email' in name ? await this.streams.load(emailStream(key), emailReservation) : await this.streams.load(usernameStream(this.names.username(name.username)), usernameReservation);
      const loaded = (await this.streams.load(reservation.state.userId ? userStream(reservation.state.userId) : NO_ACCOUNT, user)).state;
      const account = loaded.exists ? loaded : undefined;
      decoyHash ??= hashPassword('decoy password never used');
      const ok = await verifyPassword(account?.passwordHash ?? (await decoyHash), password);
      if (!account || !account.passwordHash || !ok) {
        const attempt = { method: 'password', ip: origin.ip, userAgent: origin.userAgent };
        const unknown = signInFailedForUnknownEmail(key, attempt);
        // One write for a known email and for an unknown one, queued now and committed after the answer: neither
        // the write nor what the read models then do with a known account's failure is in the answer's time (R-SEC-3).
        this.afterAnswer(
          account
            ? this.completion.record(account, { ...attempt, failureReason: account.passwordHash ? 'wrong_password' : 'no_password' }, meta)
            : this.streams.store.append(emailRequestsStream(key), [{ eventId: randomUUID(), type: unknown.type, data: unknown.data, metadata: meta }], 'any'),
        );
        throw new DomainError('invalid_credentials', 'email or password is wrong');
      }
      proven = true;
      return await this.completion.complete(account, 'password', origin, meta, []);
    } finally {
      // The attempt counted by reserve(): kept as a failure, or given back once the password checked out.
      if (proven) await this.throttle.succeeded(key, origin.ip);
      else await this.throttle.failed(key, origin.ip);
    }
  }

  /** Login activity that may not hold up the answer; a store that fails it is logged (the throttle counted the attempt already). */
  private afterAnswer(recording: Promise<unknown>): void {
    recording.catch((error: unknown) => this.logger.error({ message: 'failed sign-in not recorded', error: errorName(error) }));
  }
}

/** Completes a setup link (R-CRT-1 a) or a password reset: the new password, then a session. */
@CommandHandler(RedeemPasswordLink)
export class RedeemPasswordLinkHandler implements ICommandHandler<RedeemPasswordLink> {
  constructor(
    private readonly streams: Streams,
    private readonly links: Links,
    private readonly sessions: Sessions,
    private readonly completion: SignInCompletion,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ token, newPassword, meta, origin }: RedeemPasswordLink): Promise<SignedIn> {
    const context = { now: this.clock(), actor: meta.actor };
    const { link } = await this.links.use(token, ['setup', 'password-reset'], context);
    const userId = link.userId!;
    const account = await this.streams.load(userStream(userId), user);
    // Before anything changes: a refused person keeps their password, and the link stays good.
    await this.completion.requireUsableMembership(account.state, 'password', origin, meta);
    const passwordHash = await chosenPasswordHash(newPassword, account.state);
    const actor = { kind: 'user' as const, id: userId };
    return this.streams.retrying(async () => {
      const spent = await this.links.use(token, ['setup', 'password-reset'], context);
      const from = await this.streams.load(userStream(userId), user);
      const { issued, change } = await this.sessions.prepare(userId, 'password');
      // With the password go the sessions it ends (R-CRED-4), all but the one this link starts.
      const events = user.decide(from.state, { type: 'SetPassword', passwordHash, link: link.purpose === 'setup' ? 'setup' : 'password-reset', keepSessionId: issued.sessionId }, { ...context, actor });
      const { position } = await this.streams.commit([spent.change, { from, events }, change], { ...meta, actor, ...(link.orgId ? { orgId: link.orgId } : {}) });
      return { ...issued, userId, mustChangePassword: false, position };
    });
  }
}

@CommandHandler(RedeemMagicLink)
export class RedeemMagicLinkHandler implements ICommandHandler<RedeemMagicLink> {
  constructor(
    private readonly streams: Streams,
    private readonly links: Links,
    private readonly completion: SignInCompletion,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute({ token, origin, meta }: RedeemMagicLink) {
    const spent = await this.links.use(token, ['magic-link'], { now: this.clock(), actor: meta.actor });
    const { state: account } = await this.streams.load(userStream(spent.link.userId!), user);
    return this.completion.complete(account, 'magic-link', origin, meta, [spent.change]);
  }
}
