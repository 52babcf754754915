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

export type LinkEvent =
  | DomainEvent<'LinkIssued', { purpose: LinkPurpose; expiresAt: string } & LinkTarget>
  | DomainEvent<'LinkUsed', { purpose: LinkPurpose }>;

export type LinkCommand =
  | ({ type: 'IssueLink'; purpose: LinkPurpose; expiresAt: string } & LinkTarget)
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
        const { type: _type, ...data } = command;
        return [{ type: 'LinkIssued', data }];
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
