import { Injectable } from '@nestjs/common';
import type { AccountManager } from '../../domain/access/access';
import { accessCodeProblem, accessCodeReservation, accessCodeStream } from '../../domain/accesscode/accesscode';
import { membership, membershipStream, type MembershipCommand } from '../../domain/membership/membership';
import type { OrgContext } from '../../domain/organization/organization';
import type { Context } from '../../domain/shared/decider';
import { emailReservation, emailStream, user, userStream, usernameReservation, usernameStream, type FirstPassword, type Profile } from '../../domain/user/user';
import { newSixDigits } from '../../infra/crypto/secrets';
import { Streams, type Change, type Fold, type Loaded } from '../shared/streams';
import type { GatehouseEvent } from '../../domain/events';
import { NameKeys } from '../../infra/crypto/name-keys';

export interface NewAccount {
  userId: string;
  /** Normalized. */
  email: string;
  profile: Profile;
  /** R-SEC-4: the org or partner that makes the account manages it. */
  managedBy: AccountManager;
  password?: FirstPassword;
}

/** What a caller already knows (a bulk import, a thousand rows at a time): what it loaded, and that the user id was just made. */
export interface Known {
  /** The email's reservation, loaded by the caller to tell a new person from an existing one. */
  reservation?: Loaded<ReturnType<typeof emailReservation.initialState>>;
  /** The user id was made for this command: its streams cannot hold anything yet, so they are not read (the append still expects them new). */
  newUserId?: boolean;
}

const unwritten = <S, E extends GatehouseEvent>(stream: string, decider: Fold<S, E>): Loaded<S, E> => ({ stream, decider, state: decider.initialState(), version: -1 });

/**
 * The changes that bring a person into Gatehouse and into an org, shared by every
 * way in (creating an org, accepting an invitation, being created by an admin).
 * Each returns changes to commit together with the rest of the command.
 */
@Injectable()
export class Joining {
  constructor(
    private readonly streams: Streams,
    /** How reservations are named (the import's pre-check names them the same way). */
    readonly names: NameKeys,
  ) {}

  /** An account: the email (and username) reserved, the user registered, maybe a password. */
  async newAccount({ userId, email, profile, managedBy, password }: NewAccount, context: Context, known: Known = {}): Promise<Change[]> {
    const changes: Change[] = [];
    const reservation = known.reservation ?? (await this.streams.load(emailStream(this.names.email(email)), emailReservation));
    // The reservation goes first: on a store without multi-stream transactions it is the lock.
    changes.push({ from: reservation, events: emailReservation.decide(reservation.state, { type: 'Reserve', userId }, context) });
    if (profile.username) {
      const name = await this.streams.load(usernameStream(this.names.username(profile.username)), usernameReservation);
      changes.push({ from: name, events: usernameReservation.decide(name.state, { type: 'Reserve', userId }, context) });
    }
    const account = known.newUserId ? unwritten(userStream(userId), user) : await this.streams.load(userStream(userId), user);
    changes.push({ from: account, events: user.decide(account.state, { type: 'RegisterUser', userId, email, managedBy, ...profile, ...(password ? { password } : {}) }, context) });
    return changes;
  }

  /**
   * A membership; where the org uses door access the decider gives it a generated
   * code (R-CODE-1), drawn here until one is free in the org, and reserved with it.
   * A race for the same code ends in a conflict and a retry with another.
   */
  async addMember(userId: string, add: Omit<Extract<MembershipCommand, { type: 'AddMember' }>, 'type' | 'orgId' | 'userId' | 'codeCandidate'>, context: OrgContext, known: Known = {}): Promise<Change[]> {
    const orgId = context.org.orgId;
    const from = known.newUserId ? unwritten(membershipStream(orgId, userId), membership) : await this.streams.load(membershipStream(orgId, userId), membership);
    for (let i = 0; i < 50; i++) {
      const events = membership.decide(from.state, { type: 'AddMember', orgId, userId, ...add, codeCandidate: validSixDigits() }, context);
      const code = events.reduce(membership.evolve, from.state).accessCode;
      if (code === undefined) return [{ from, events }];
      const reserved = await this.streams.load(accessCodeStream(orgId, code), accessCodeReservation);
      if (reserved.state.userId) continue; // someone holds it: draw another
      return [{ from, events }, { from: reserved, events: accessCodeReservation.decide(reserved.state, { type: 'Reserve', orgId, code, userId }, context) }];
    }
    throw new Error('no free access code found in 50 tries');
  }
}

/** A random 6-digit code that the code rules allow (R-CODE-2). */
export function validSixDigits(): string {
  for (;;) {
    const code = newSixDigits();
    if (!accessCodeProblem(code)) return code;
  }
}
