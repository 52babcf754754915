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

export type LinkCommand =
  | ({ type: 'IssueLink'; purpose: LinkPurpose; expiresAt: string; delivery?: LinkDelivery } & LinkTarget)
  | { type: 'UseLink'; purposes: readonly LinkPurpose[] };

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
        const { type: _type, delivery, ...data } = command;
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
