import type { Context, Decider, DomainEvent } from '../shared/decider';
import { DomainError } from '../shared/errors';

/** A link's stream is named by the hash of its token: the token itself is never stored (R-CRED-2). */
export const linkStream = (tokenHash: string) => `link-${tokenHash}`;

export type LinkPurpose = 'invitation' | 'setup' | 'password-reset' | 'magic-link' | 'login' | 'mfa-challenge';

export interface LinkTarget {
  userId?: string;
  orgId?: string;
  invitationId?: string;
}

/**
 * Who a link is emailed to, and how. The token travels sealed (only Gatehouse's
 * key opens it): the email consumer reads it from the log and sends the message,
 * so an accepted command's email is not lost by a crash right after the commit.
 */
export interface LinkDelivery {
  to: string;
  /** Who asked for it on the person's behalf: told that it was sent, never given the link (R-CRED-3, R-SEC-4). */
  confirmTo?: string;
  /** Older events named the actor's copy so; read as `confirmTo` (no link is ever copied). */
  bcc?: string;
  sealedToken: string;
  /** Chooses the wording: e.g. `new-account`, `resend`, `by-admin`. */
  variant?: string;
}

export type LinkEvent =
  | DomainEvent<'LinkIssued', { purpose: LinkPurpose; expiresAt: string } & LinkTarget>
  | DomainEvent<'LinkEmailRequested', { purpose: LinkPurpose; expiresAt: string } & LinkTarget & LinkDelivery>
  | DomainEvent<'LinkUsed', { purpose: LinkPurpose }>;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * R-CRED-2: how long a link lives, by what it is for. An invitation lives as long as
 * its org's policy says instead (R-INV-1), and so does any link that invites someone in.
 */
export const LINK_LIFETIME_MS: Record<Exclude<LinkPurpose, 'invitation'>, number> = {
  /** A setup link sent again (R-CRT-4); the first one, to a new account, invites. */
  setup: 24 * HOUR_MS,
  'password-reset': HOUR_MS,
  'magic-link': 30 * MINUTE_MS,
  login: 30 * MINUTE_MS,
  /** The second step of a sign-in with MFA on (R-CRED-8). */
  'mfa-challenge': 5 * MINUTE_MS,
};

/** The org policy an invitation lives by (R-INV-1: 1 hour to 30 days). */
export interface InvitationPolicy {
  invitationExpiryHours: number;
}

/** R-INV-1: when an invitation issued at `from` expires; the link that carries it expires with it. */
export const invitationExpiresAt = (policy: InvitationPolicy, from: Date): string => new Date(from.getTime() + policy.invitationExpiryHours * HOUR_MS).toISOString();

/**
 * How long a link lives: by its purpose, or, with `asInvitation`, as an invitation
 * of the org does. An invitation's link always lives so; a new account's first
 * setup link too (R-CRT-1 a), since it invites the person in.
 */
export type LinkLifetime =
  | { purpose: 'invitation'; asInvitation: InvitationPolicy }
  | { purpose: Exclude<LinkPurpose, 'invitation'>; asInvitation?: InvitationPolicy };

/** R-CRED-2: when a link that started living at `from` expires. */
export function linkExpiresAt(lifetime: LinkLifetime, from: Date): string {
  if (lifetime.purpose === 'invitation') return invitationExpiresAt(lifetime.asInvitation, from);
  if (lifetime.asInvitation) return invitationExpiresAt(lifetime.asInvitation, from);
  return new Date(from.getTime() + LINK_LIFETIME_MS[lifetime.purpose]).toISOString();
}

/** What a link is for and who it is about; its lifetime follows from them. */
export type LinkSpec = LinkLifetime &
  LinkTarget & {
    /** When its life started, if before now: a link asked for by email lives from the moment it was asked for (R-SEC-3). */
    askedAt?: string;
  };

export type IssueLink = { type: 'IssueLink'; delivery?: LinkDelivery } & LinkSpec;

export type LinkCommand = IssueLink | { type: 'UseLink'; purposes: readonly LinkPurpose[] };

export interface Link extends LinkTarget {
  exists: boolean;
  purpose?: LinkPurpose;
  expiresAt: string;
  used: boolean;
}

export const link: Decider<Link, LinkCommand, LinkEvent> = {
  initialState: () => ({ exists: false, expiresAt: '', used: false }),
  decide(state, command, ctx: Context) {
    switch (command.type) {
      case 'IssueLink': {
        if (state.exists) throw new DomainError('link_exists');
        const { type: _type, delivery, askedAt, asInvitation: _policy, purpose, ...target } = command;
        const data = { purpose, expiresAt: linkExpiresAt(command, askedAt ? new Date(askedAt) : ctx.now), ...target };
        const issued: LinkEvent = { type: 'LinkIssued', data };
        return delivery ? [issued, { type: 'LinkEmailRequested', data: { ...data, ...delivery } }] : [issued];
      }
      case 'UseLink':
        // R-INV-5: a dead link says why, and changes nothing.
        if (!state.exists || !command.purposes.includes(state.purpose!)) throw new DomainError('link_invalid', 'this link is not valid');
        if (state.used) throw new DomainError('link_used', 'this link was already used');
        if (state.expiresAt <= ctx.now.toISOString()) throw new DomainError('link_expired', 'this link has expired; ask for a new one');
        return [{ type: 'LinkUsed', data: { purpose: state.purpose! } }];
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'LinkIssued': {
        const { purpose, expiresAt, ...target } = event.data;
        return { ...state, ...target, exists: true, purpose, expiresAt };
      }
      case 'LinkUsed':
        return { ...state, used: true };
      default:
        return state;
    }
  },
};
