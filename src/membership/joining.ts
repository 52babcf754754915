import { Injectable } from '@nestjs/common';
import type { AccountManager } from '../../domain/access/account';
import { accessCodeProblem, accessCodeReservation, accessCodeStream } from '../../domain/accesscode/accesscode';
import { membership, membershipStream, type MembershipCommand } from '../../domain/membership/membership';
import type { OrgContext } from '../../domain/organization/organization';
import type { Context } from '../../domain/shared/decider';
import { emailReservation, emailStream, user, userStream, usernameReservation, usernameStream, type Profile } from '../../domain/user/user';
import { emailKey, newSixDigits, usernameKey } from '../../infra/crypto/secrets';
import { Streams, type Change } from '../shared/streams';

export interface NewAccount {
  userId: string;
  /** Normalized. */
  email: string;
  profile: Profile;
  /** R-SEC-4: the org or partner that makes the account manages it. */
  managedBy: AccountManager;
  password?: { hash: string; mustChange: boolean; by: 'self' | 'admin' | 'setup' };
}

/**
 * The changes that bring a person into Gatehouse and into an org, shared by every
 * way in (creating an org, accepting an invitation, being created by an admin).
 * Each returns changes to commit together with the rest of the command.
 */
@Injectable()
export class Joining {
  constructor(private readonly streams: Streams) {}

  /** An account: the email (and username) reserved, the user registered, maybe a password. */
  async newAccount({ userId, email, profile, managedBy, password }: NewAccount, context: Context): Promise<Change[]> {
    const changes: Change[] = [];
    const reservation = await this.streams.load(emailStream(emailKey(email)), emailReservation);
    // The reservation goes first: on a store without multi-stream transactions it is the lock.
    changes.push({ from: reservation, events: emailReservation.decide(reservation.state, { type: 'Reserve', userId }, context) });
    if (profile.username) {
      const name = await this.streams.load(usernameStream(usernameKey(profile.username)), usernameReservation);
      changes.push({ from: name, events: usernameReservation.decide(name.state, { type: 'Reserve', userId }, context) });
    }
    const account = await this.streams.load(userStream(userId), user);
    const events = user.decide(account.state, { type: 'RegisterUser', userId, email, managedBy, ...profile }, context);
    if (password) {
      const registered = events.reduce(user.evolve, account.state);
      events.push(...user.decide(registered, { type: 'SetPassword', passwordHash: password.hash, mustChange: password.mustChange, by: password.by }, context));
    }
    changes.push({ from: account, events });
    return changes;
  }

  /** A membership, and a generated access code where the org uses door access (R-CODE-1). */
  async addMember(userId: string, add: Omit<Extract<MembershipCommand, { type: 'AddMember' }>, 'type' | 'orgId' | 'userId'>, context: OrgContext): Promise<Change[]> {
    const orgId = context.org.orgId;
    const from = await this.streams.load(membershipStream(orgId, userId), membership);
    const events = membership.decide(from.state, { type: 'AddMember', orgId, userId, ...add }, context);
    const changes: Change[] = [{ from, events }];
    if (context.org.policy.doorAccess) {
      const code = await this.freeAccessCode(orgId);
      const reserved = await this.streams.load(accessCodeStream(orgId, code), accessCodeReservation);
      changes.push({ from: reserved, events: accessCodeReservation.decide(reserved.state, { type: 'Reserve', orgId, code, userId }, context) });
      const joined = events.reduce(membership.evolve, from.state);
      events.push(...membership.decide(joined, { type: 'AssignAccessCode', code, generated: true }, context));
    }
    return changes;
  }

  /** A random valid code nobody in the org holds now; a race for it ends in a conflict and a retry with another. */
  private async freeAccessCode(orgId: string): Promise<string> {
    for (let i = 0; i < 50; i++) {
      const code = newSixDigits();
      if (accessCodeProblem(code)) continue;
      const taken = await this.streams.load(accessCodeStream(orgId, code), accessCodeReservation);
      if (!taken.state.userId) return code;
    }
    throw new Error('no free access code found in 50 tries');
  }
}
