import type { OperatorAccessEvent } from './access/operator-access';
import type { ConsentEvent } from './consent/consent';
import type { AccessCodeEvent } from './accesscode/accesscode';
import type { BillingEvent } from './billing/billing';
import type { CustomerBalanceEvent } from './billing/customer-balance';
import type { InvitationEvent } from './invitation/invitation';
import type { LinkEvent } from './link/link';
import type { EmailRequestEvent } from './link/link-request';
import type { MembershipEvent } from './membership/membership';
import type { OrganizationEvent } from './organization/organization';
import type { PartnerEvent } from './partner/partner';
import type { ServiceKeyEvent } from './servicekey/servicekey';
import type { SessionEvent } from './session/session';
import type { Envelope } from './shared/envelope';
import type { ReservationEvent, UserEvent } from './user/user';

/**
 * Gatehouse's one event vocabulary: every event any decider emits, with its data.
 * Stores, projections, consumers, the publisher and the upcasters all derive from it.
 */
export type GatehouseEvent =
  | OrganizationEvent
  | MembershipEvent
  | InvitationEvent
  | UserEvent
  | ReservationEvent
  | AccessCodeEvent
  | LinkEvent
  | EmailRequestEvent
  | SessionEvent
  | ServiceKeyEvent
  | PartnerEvent
  | BillingEvent
  | OperatorAccessEvent
  | ConsentEvent
  | CustomerBalanceEvent;

export type EventType = GatehouseEvent['type'];
export type EventOf<T extends EventType> = Extract<GatehouseEvent, { type: T }>;
export type DataOf<T extends EventType> = EventOf<T>['data'];

/**
 * A stored event: its envelope and one event of the vocabulary. A union, so a
 * `switch (event.type)` narrows `event.data` with no cast.
 */
export type Recorded<E extends GatehouseEvent = GatehouseEvent> = E extends GatehouseEvent ? Envelope & { type: E['type']; data: E['data'] } : never;
export type RecordedOf<T extends EventType> = Recorded<EventOf<T>>;

/**
 * The current schema version of every event type. Exhaustive by construction: a
 * type missing here, or a name that is no event, fails to compile.
 */
export const EVENT_VERSIONS: { readonly [T in EventType]: number } = {
  OrganizationCreated: 1,
  LocationAdded: 1,
  PolicyChanged: 1,
  RoleCreated: 1,
  RoleUpdated: 1,
  OwnershipTransferred: 1,
  OrganizationSuspended: 1,
  OrganizationReactivated: 1,
  OrganizationDeleted: 1,
  PlanChanged: 1,
  MemberAdded: 1,
  RoleChanged: 1,
  AccessDisabled: 1,
  AccessEnabled: 1,
  MemberRemoved: 1,
  MemberApproved: 1,
  MemberMarkedPending: 1,
  UserBanned: 1,
  UserUnbanned: 1,
  PermissionGranted: 1,
  PermissionRevoked: 1,
  PermissionExpired: 1,
  AccessCodeAssigned: 1,
  MemberNotesUpdated: 1,
  AvailabilityChanged: 1,
  UserInvited: 1,
  InvitationResent: 1,
  InvitationRevoked: 1,
  InvitationAccepted: 1,
  // v2 names the account's manager (R-SEC-4).
  UserRegistered: 2,
  UserProfileUpdated: 1,
  EmailChanged: 1,
  PasswordSet: 1,
  SignedIn: 1,
  SignInFailed: 1,
  IdentityLinked: 1,
  MfaEnrollmentStarted: 1,
  MfaEnabled: 1,
  MfaCodeUsed: 1,
  BackupCodeUsed: 1,
  MfaReset: 1,
  SessionsRevoked: 1,
  UserErased: 1,
  EmailReserved: 1,
  EmailReleased: 1,
  UsernameReserved: 1,
  UsernameReleased: 1,
  IdentityReserved: 1,
  IdentityReleased: 1,
  AccessCodeReserved: 1,
  AccessCodeReleased: 1,
  LinkIssued: 1,
  LinkEmailRequested: 1,
  LinkUsed: 1,
  LinkRequested: 1,
  SignInFailedForUnknownEmail: 1,
  SessionStarted: 1,
  SessionRevoked: 1,
  ImpersonationStarted: 1,
  ImpersonationEnded: 1,
  ServiceKeyIssued: 1,
  ServiceKeyRevoked: 1,
  PartnerCreated: 1,
  PartnerAdminAdded: 1,
  PartnerOrgAttached: 1,
  SeatQuantityUpdated: 1,
  OperatorAccessed: 1,
  ConsentChanged: 1,
  StripeCustomerLinked: 1,
  StripeBalanceAdjustmentRequested: 1,
  StripeBalanceAdjusted: 1,
};

export const EVENT_TYPES = Object.keys(EVENT_VERSIONS) as EventType[];

/** Upcasters of older schema versions, per type: `[v]` lifts data of version v to v + 1. Stored events are never rewritten (SPEC 4). */
const UPCASTERS: { readonly [T in EventType]?: Record<number, Upcaster> } = {
  // A v1 account was made by a command in one org: that org manages it.
  UserRegistered: { 1: (data, { orgId }) => ({ ...data, ...(orgId ? { managedBy: { orgId } } : {}) }) },
};

/** The registry every event store reads through. */
export function eventRegistry(): EventRegistry {
  const registry = new EventRegistry();
  for (const type of EVENT_TYPES) registry.register(type, EVENT_VERSIONS[type], UPCASTERS[type]);
  return registry;
}

/** Is `type` a name of the vocabulary (for what arrives from outside: Kafka, old stores)? */
export function isEventType(type: string): type is EventType {
  return Object.prototype.hasOwnProperty.call(EVENT_VERSIONS, type);
}

/** One handler per event type, each given its own event with its data typed: a table whose keys are what it handles. */
export type EventHandlers<A extends unknown[], R> = { readonly [T in EventType]?: (event: RecordedOf<T>, ...args: A) => R };

/** The types a handler table handles. */
export function handledBy<A extends unknown[], R>(handlers: EventHandlers<A, R>): EventType[] {
  return EVENT_TYPES.filter((type) => handlers[type] !== undefined);
}

/**
 * Calls the table's handler of `event.type` with the event. TypeScript cannot
 * correlate a union's member with its table entry, so this is the one cast of the
 * vocabulary: the table's own type guarantees each entry takes its own event.
 */
export function dispatch<A extends unknown[], R>(handlers: EventHandlers<A, R>, event: Recorded, ...args: A): R | undefined {
  const handler = handlers[event.type] as ((event: Recorded, ...args: A) => R) | undefined;
  return handler?.(event, ...args);
}

/**
 * What undoes a reservation (R-SEC-4's one account per email, one code per member…)
 * when the rest of its command could not be written: on a store that cannot append
 * to several streams at once, the reservation is released again (issue 14).
 */
export function releaseOf(event: GatehouseEvent): GatehouseEvent | undefined {
  switch (event.type) {
    case 'EmailReserved':
      return { type: 'EmailReleased', data: event.data };
    case 'UsernameReserved':
      return { type: 'UsernameReleased', data: event.data };
    case 'IdentityReserved':
      return { type: 'IdentityReleased', data: event.data };
    case 'AccessCodeReserved':
      return { type: 'AccessCodeReleased', data: event.data };
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------
// Versions and upcasters: how stored events of an older schema are read.

/**
 * Event types, their current schema version and the upcasters that lift old
 * versions on read. Stored events are never rewritten (SPEC 4).
 */
export type Upcaster = (data: any, envelope: UpcastEnvelope) => any;

/** What an upcaster may read of the stored envelope besides the data (e.g. the org the event was recorded in). */
export interface UpcastEnvelope {
  orgId?: string;
}

interface EventTypeEntry {
  version: number;
  /** upcasters[v] lifts data of version v to v + 1. */
  upcasters: Record<number, Upcaster>;
}

export class EventRegistry {
  private readonly types = new Map<string, EventTypeEntry>();

  register(type: string, version = 1, upcasters: Record<number, Upcaster> = {}): this {
    for (let v = 1; v < version; v++) {
      if (!upcasters[v]) throw new Error(`event ${type} v${version}: no upcaster from v${v}`);
    }
    this.types.set(type, { version, upcasters });
    return this;
  }

  currentVersion(type: string): number {
    return this.types.get(type)?.version ?? 1;
  }

  /** Lifts `data` stored at `version` to the current version of `type`. */
  upcast(type: string, version: number, data: unknown, envelope: UpcastEnvelope = {}): { version: number; data: unknown } {
    const entry = this.types.get(type);
    if (!entry || version >= entry.version) return { version, data };
    let lifted = data;
    for (let v = version; v < entry.version; v++) lifted = entry.upcasters[v](lifted, envelope);
    return { version: entry.version, data: lifted };
  }

  has(type: string): boolean {
    return this.types.has(type);
  }
}

// ---------------------------------------------------------------------------
// Personal data: which fields of which events hold it, and whose it is.

/**
 * Whose personal data a field holds (R-ACC-3, SPEC 5.1): a person in one org (what
 * only that org keeps of them, shredded when the org is deleted), an account, or an
 * email address no account holds yet (an invitee, a stranger's sign-in attempt),
 * named by the address or by the key streams name it with.
 */
export type DataSubject = { orgId: string; userId: string } | { userId: string } | { email: string } | { emailKey: string };

/** A field of personal data in an event: where it is in the data, and whose it is. */
export interface PersonalField<T extends EventType = EventType> {
  path: readonly string[];
  subject: (data: DataOf<T>) => DataSubject | undefined;
}

type PersonalFields = { readonly [T in EventType]?: readonly PersonalField<T>[] };

const ofUser = (data: { userId: string }): DataSubject => ({ userId: data.userId });
const fields = <T extends EventType>(subject: (data: DataOf<T>) => DataSubject | undefined, ...paths: Array<readonly string[]>): readonly PersonalField<T>[] =>
  paths.map((path) => ({ path, subject }));

const PROFILE = ['firstName', 'lastName', 'phone', 'bio', 'username'] as const;

/**
 * Every event field that holds personal data (email, names, phone, bio, username,
 * notes, IP address, user agent, TOTP secret), so that the store can keep it
 * encrypted with its person's key and forget it with that key. Events not named
 * here hold none (ids, roles, times, hashes and keys only).
 */
export const PERSONAL_FIELDS: PersonalFields = {
  UserRegistered: fields<'UserRegistered'>(ofUser, ['email'], ...PROFILE.map((f) => [f])),
  UserProfileUpdated: fields<'UserProfileUpdated'>(ofUser, ...PROFILE.map((f) => ['changes', f])),
  EmailChanged: fields<'EmailChanged'>(ofUser, ['email'], ['previousEmail']),
  SignedIn: fields<'SignedIn'>(ofUser, ['ip'], ['userAgent']),
  SignInFailed: fields<'SignInFailed'>(ofUser, ['ip'], ['userAgent']),
  MfaEnrollmentStarted: fields<'MfaEnrollmentStarted'>(ofUser, ['sealedSecret']),
  MemberNotesUpdated: fields<'MemberNotesUpdated'>((d) => ({ orgId: d.orgId, userId: d.userId }), ['notes']),
  UserInvited: fields<'UserInvited'>((d) => ({ email: d.email }), ['email'], ['firstName'], ['lastName']),
  LinkEmailRequested: [
    { path: ['to'], subject: (d) => (d.userId ? { userId: d.userId } : { email: d.to }) },
    // The actor told that a link was sent on someone's behalf: their own address.
    { path: ['confirmTo'], subject: (d) => (d.confirmTo ? { email: d.confirmTo } : undefined) },
    { path: ['bcc'], subject: (d) => (d.bcc ? { email: d.bcc } : undefined) },
  ],
  SignInFailedForUnknownEmail: fields<'SignInFailedForUnknownEmail'>((d) => ({ emailKey: d.emailKey }), ['ip'], ['userAgent']),
};

export function personalFieldsOf(type: string): readonly PersonalField[] | undefined {
  return (PERSONAL_FIELDS as Record<string, readonly PersonalField[] | undefined>)[type];
}
