import { randomUUID } from 'node:crypto';
import { accessOf } from '../../domain/access/access';
import { initialMembership, membership, membershipStream } from '../../domain/membership/membership';
import { organization, orgStream, type OrgContext } from '../../domain/organization/organization';
import type { DomainEvent } from '../../domain/shared/decider';
import { session, sessionStream } from '../../domain/session/session';
import { emailReservation, emailStream, signInStream, user, userStream } from '../../domain/user/user';
import type { NameKeys } from '../../infra/crypto/name-keys';
import { hashToken, newToken } from '../../infra/crypto/secrets';
import type { AppendRequest, EventStore } from '../../infra/eventstore/port';
import type { EventMetadata } from '../../domain/shared/envelope';

/**
 * Live sessions appended straight to the event store, each with the token the
 * bench keeps: one new member per session, as an admin's "create member" commits
 * it (EmailReserved, UserRegistered, PasswordSet, MemberAdded), then the events a
 * password sign-in commits (SignedIn on the account's sign-in stream, SessionStarted on
 * `session-<hash of the token>`). Decided by the domain's own deciders, so the data
 * is what the app writes; a sign-in over HTTP costs an argon2id verify, this does not.
 */
export interface SeedOptions {
  orgId: string;
  ownerId: string;
  count: number;
  /** A real argon2id hash (of a known password); the same one for every member. */
  passwordHash: string;
  sessionTtlHours: number;
  tag: string;
  /** How the service names reservations: its sign-in finds these members by them. */
  names: NameKeys;
  /** Members per appendMany (one SQLite transaction). */
  perBatch?: number;
}

export interface SeededSession {
  token: string;
  userId: string;
}

export async function seedSessions(store: EventStore, options: SeedOptions): Promise<SeededSession[]> {
  const now = new Date();
  const ownerActor = { kind: 'user' as const, id: options.ownerId };
  const org = fold(organization, await store.readStream(orgStream(options.orgId)));
  if (!org.exists) throw new Error(`no organization ${options.orgId} in the store`);
  const ownerStanding = fold(membership, await store.readStream(membershipStream(options.orgId, options.ownerId)));
  const context: OrgContext = { now, actor: ownerActor, org, access: accessOf(org, ownerStanding) };
  const ttlMs = options.sessionTtlHours * 3_600_000;
  const perBatch = options.perBatch ?? 250;
  const sessions: SeededSession[] = [];
  for (let done = 0; done < options.count; ) {
    const n = Math.min(perBatch, options.count - done);
    const requests: AppendRequest[] = [];
    for (let i = 0; i < n; i++) {
      const userId = randomUUID();
      const email = `check${done + i}.${options.tag}@example.org`;
      const created: EventMetadata = { actor: ownerActor, correlationId: randomUUID(), orgId: options.orgId };
      const password = { hash: options.passwordHash, mustChange: false, by: 'admin' as const };
      const withPassword = user.decide(user.initialState(), { type: 'RegisterUser', userId, email, firstName: 'Check', lastName: `Member${done + i}`, password }, context);
      const account = withPassword.reduce(user.evolve, user.initialState());

      const token = newToken();
      const sessionId = randomUUID();
      const self = { now, actor: { kind: 'user' as const, id: userId } };
      const signedIn: EventMetadata = { actor: self.actor, correlationId: randomUUID() };
      const started = session.decide(session.initialState(), { type: 'StartSession', sessionId, userId, method: 'password', ttlMs }, self);
      const recorded = user.decide(account, { type: 'RecordSignIn', method: 'password', ip: '127.0.0.1', userAgent: 'gatehouse-bench', sessionId }, self);

      requests.push(
        request(emailStream(options.names.email(email)), emailReservation.decide({}, { type: 'Reserve', userId }, context), created, 'no_stream'),
        request(userStream(userId), withPassword, created, 'no_stream'),
        request(membershipStream(options.orgId, userId), membership.decide(initialMembership(), { type: 'AddMember', orgId: options.orgId, userId, via: 'created' }, context), created, 'no_stream'),
        request(signInStream(userId), recorded, signedIn, 'no_stream'),
        request(sessionStream(hashToken(token)), started, signedIn, 'no_stream'),
      );
      sessions.push({ token, userId });
    }
    await store.appendMany(requests);
    done += n;
  }
  return sessions;
}

function request(stream: string, events: DomainEvent[], metadata: EventMetadata, expected: AppendRequest['expected']): AppendRequest {
  return { stream, expected, events: events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata })) };
}

function fold<S>(decider: { initialState: () => S; evolve: (state: S, event: never) => S }, events: Array<{ type: string; data: unknown }>): S {
  return events.reduce((state, e) => decider.evolve(state, { type: e.type, data: e.data } as never), decider.initialState());
}
