import { randomBytes, randomUUID } from 'node:crypto';
import { accessOf } from '../../domain/access/access';
import { OWNER_ROLE_ID } from '../../domain/access/roles';
import { link, linkStream } from '../../domain/link/link';
import { initialMembership, membership, membershipStream } from '../../domain/membership/membership';
import { organization, orgStream, type Organization, type OrgContext } from '../../domain/organization/organization';
import type { Context, DomainEvent } from '../../domain/shared/decider';
import { normalizeEmail } from '../../domain/shared/email';
import { emailReservation, emailStream, user, userStream } from '../../domain/user/user';
import { NameKeys } from '../../infra/crypto/name-keys';
import { SecretBox } from '../../infra/crypto/sealing';
import { hashToken, newToken } from '../../infra/crypto/secrets';
import type { AppendRequest, EventStore } from '../../infra/eventstore/port';
import type { EventMetadata } from '../../domain/shared/envelope';

/**
 * Realistic members appended straight to an event store: for each member the same
 * streams and events an admin's "create member, setup-email mode" command commits
 * (EmailReserved, UserRegistered, MemberAdded, LinkIssued), decided by the domain's
 * own deciders so the data shapes are the ones the app writes. Far faster than HTTP.
 */

// Common first and last names, some with accents (the list folds them for search).
const FIRST = (
  'Ada Adam Adrian Agnes Aisha Alan Albert Alice Amara Amelia Ana Andrea Andrew Angela Anna Antoine Arjun Astrid Ava Beatriz Ben Bianca ' +
  'Boris Brigitte Bruno Camille Carla Carlos Carmen Caroline Charlotte Chen Chloé Clara Daniel David Diana Diego Dmitri Elena Eli Elif Elsa ' +
  'Emil Emma Eric Erik Esther Eva Fatima Felix Fernando Fiona Florian François Frida Gabriel Greta Hannah Hans Hélène Henrik Hugo Ibrahim Ida ' +
  'Ines Isaac Ivan Jack Jakob James Jana Javier Jean Jens João Jonas Jorge José Julia Julien Karin Kenji Klara Lars Laura Léa Leo Lina Lucas ' +
  'Lucía Luis Maja Malik Marco Margot María Marie Mario Marta Martin Mateo Matteo Maya Mehmet Mia Michael Mika Miriam Mohammed Nadia Nina ' +
  'Noah Nora Olga Oliver Omar Oscar Paula Pedro Peter Pia Priya Rafael Rania Raúl Rosa Ruth Sam Sara Sebastian Sofia Sören Stefan Tariq ' +
  'Theo Thomas Tomás Ulla Valentina Victor Wei William Yara Yusuf Zoë Zofia'
).split(' ');
const LAST = (
  'Abbott Achterberg Adeyemi Alvarez Andersen Bauer Becker Bernard Bianchi Björk Blanco Brandt Brown Castillo Chen Costa Cruz Dahl Da Silva ' +
  'Dubois Dupont Eriksson Esposito Fernández Fischer Fontaine Garcia Gomez González Gruber Günther Hansen Hartmann Hernández Hoffmann Horvat ' +
  'Ivanova Jansen Jensen Johansson Jones Kaya Keller Kim Koch Kowalski Krüger Lambert Larsen Laurent Lee Lehmann Lindqvist López Lund Martin ' +
  'Martínez Meyer Moreau Müller Nakamura Navarro Nguyen Nielsen Novak Okafor Olsen Ortiz Pérez Petrov Popescu Quinn Ramos Richter Rivera ' +
  'Romano Rossi Ruiz Sánchez Santos Schmidt Schneider Schulz Silva Smith Sørensen Suzuki Tanaka Torres Urban Vargas Vogel Wagner Walker ' +
  'Weber Wolf Yilmaz Young Zimmermann Ziegler'
).split(' ');

/**
 * Reservations named under a key of this process alone: enough for benches that only
 * read and list. A bench whose service later looks people up by email passes the
 * service's own NameKeys (from its SECRET_KEY or key file).
 */
const THROWAWAY_NAMES = new NameKeys(new SecretBox(randomBytes(32)));

export const DATASET_NAMES = { first: FIRST.length, last: LAST.length };

export interface SeededOrg {
  orgId: string;
  ownerId: string;
  state: Organization;
}

/** The org as the write side folds it: enough to decide members into it with the Owner's access. */
export async function loadOrg(store: EventStore, orgId: string): Promise<Organization> {
  const events = await store.readStream(orgStream(orgId));
  return events.reduce((s, e) => organization.evolve(s, { type: e.type, data: e.data } as never), organization.initialState());
}

function request(stream: string, events: DomainEvent[], metadata: EventMetadata): AppendRequest {
  return { stream, expected: 'no_stream', events: events.map((e) => ({ eventId: randomUUID(), type: e.type, data: e.data, metadata })) };
}

/** A person's name and email; `n` makes the email unique across the whole dataset. */
export function person(n: number, tag: string): { firstName: string; lastName: string; email: string } {
  // Two coprime-ish strides so first and last names do not move in lockstep.
  const firstName = FIRST[(n * 7919) % FIRST.length];
  const lastName = LAST[(n * 104_729 + (n >> 8)) % LAST.length];
  const local = `${firstName}.${lastName}`.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z.]/g, '').toLowerCase();
  return { firstName, lastName, email: normalizeEmail(`${local}.${tag}${n}@example.org`) };
}

/**
 * An org and its Owner, as CreateOrganization commits them (minus the password hash,
 * which is a placeholder: nobody signs in as these owners).
 */
export async function seedOrg(store: EventStore, name: string, n: number, tag: string, names: NameKeys = THROWAWAY_NAMES): Promise<SeededOrg> {
  const orgId = randomUUID();
  const ownerId = randomUUID();
  const now = new Date();
  const ctx: Context = { now, actor: { kind: 'anonymous', id: 'anonymous' } };
  const meta: EventMetadata = { actor: ctx.actor, correlationId: randomUUID(), orgId };
  const owner = person(n, `${tag}owner`);
  const created = organization.decide(organization.initialState(), { type: 'CreateOrganization', orgId, name, preset: 'team', ownerId }, ctx);
  const state = created.reduce(organization.evolve, organization.initialState());
  const orgCtx: OrgContext = { ...ctx, org: state, access: undefined };
  const registered = user.decide(user.initialState(), { type: 'RegisterUser', userId: ownerId, email: owner.email, firstName: owner.firstName, lastName: owner.lastName }, ctx);
  const password = user.decide(registered.reduce(user.evolve, user.initialState()), { type: 'SetPassword', passwordHash: '$argon2id$placeholder', mustChange: false, by: 'self' }, ctx);
  await store.appendMany([
    request(emailStream(names.email(owner.email)), emailReservation.decide({}, { type: 'Reserve', userId: ownerId }, ctx), meta),
    request(userStream(ownerId), [...registered, ...password], meta),
    request(orgStream(orgId), created, meta),
    request(membershipStream(orgId, ownerId), membership.decide(initialMembership(), { type: 'AddMember', orgId, userId: ownerId, roleId: OWNER_ROLE_ID, via: 'owner' }, orgCtx), meta),
  ]);
  return { orgId, ownerId, state };
}

export interface AddMembersOptions {
  /** Members numbered from `first` (for unique emails across calls). */
  first: number;
  count: number;
  /** Members per appendMany (one SQLite transaction); each member is four appends (two when 'projected'). */
  perBatch?: number;
  tag: string;
  /** How the service names reservations (default: a key of this process, see THROWAWAY_NAMES). */
  names?: NameKeys;
  /**
   * 'command' (the default): the four events the create-member command commits.
   * 'projected': only UserRegistered and MemberAdded, the two the read models use
   * (the projections' type filter skips the other two), to build big logs faster.
   */
  events?: 'command' | 'projected';
  onProgress?: (done: number) => void;
}

/** `count` members created by the org's Owner in setup-email mode; returns the events appended. */
export async function addMembers(store: EventStore, org: SeededOrg, options: AddMembersOptions): Promise<number> {
  const perBatch = options.perBatch ?? 250;
  const actor = { kind: 'user' as const, id: org.ownerId };
  const ownerStanding = { ...initialMembership(), exists: true, orgId: org.orgId, userId: org.ownerId, roleId: OWNER_ROLE_ID };
  const access = accessOf(org.state, ownerStanding);
  let events = 0;
  let lastReport = 0;
  for (let done = 0; done < options.count; ) {
    const n = Math.min(perBatch, options.count - done);
    const now = new Date();
    const ctx: OrgContext = { now, actor, org: org.state, access };
    const requests: AppendRequest[] = [];
    for (let i = 0; i < n; i++) {
      const { firstName, lastName, email } = person(options.first + done + i, options.tag);
      const userId = randomUUID();
      const meta: EventMetadata = { actor, correlationId: randomUUID(), orgId: org.orgId };
      const registered = request(userStream(userId), user.decide(user.initialState(), { type: 'RegisterUser', userId, email, firstName, lastName }, ctx), meta);
      const added = request(membershipStream(org.orgId, userId), membership.decide(initialMembership(), { type: 'AddMember', orgId: org.orgId, userId, via: 'created' }, ctx), meta);
      if (options.events === 'projected') {
        requests.push(registered, added);
        continue;
      }
      // The order CreateMemberHandler commits them in.
      requests.push(
        request(emailStream((options.names ?? THROWAWAY_NAMES).email(email)), emailReservation.decide({}, { type: 'Reserve', userId }, ctx), meta),
        registered,
        added,
        request(linkStream(hashToken(newToken())), link.decide(link.initialState(), { type: 'IssueLink', purpose: 'setup', asInvitation: org.state.policy, userId, orgId: org.orgId }, ctx), meta),
      );
    }
    await store.appendMany(requests);
    events += requests.length;
    done += n;
    if (options.onProgress && (done - lastReport >= 50_000 || done === options.count)) {
      lastReport = done;
      options.onProgress(done);
    }
  }
  return events;
}
