import type { DomainEvent } from '../shared/decider';
import type { LinkPurpose } from './link';

/**
 * What strangers ask for by email on the public endpoints (R-SEC-3), logged on a
 * stream named by the email's hash, in one shape whether or not the email has an
 * account: the same write for both, and no address in clear in the log.
 */
export const emailRequestsStream = (emailKey: string) => `emailrequests-${emailKey}`;

/** The links anyone may ask for by email. */
export type RequestedLinkPurpose = Extract<LinkPurpose, 'magic-link' | 'password-reset'>;

export type EmailRequestEvent =
  /**
   * A link asked for; whether it goes out is decided later, from the log (an email
   * consumer looks the account up). The token is chosen now and travels sealed,
   * so handling the request twice issues the same link.
   */
  | DomainEvent<'LinkRequested', { purpose: RequestedLinkPurpose; emailKey: string; sealedToken: string }>
  /** A password sign-in with an email no account has: recorded as a known one's `SignInFailed` is (R-CRED-6), so both cost one write. */
  | DomainEvent<'SignInFailedForUnknownEmail', { emailKey: string; method: string; ip: string; userAgent: string; reason: 'unknown_email' }>;

export const linkRequested = (purpose: RequestedLinkPurpose, emailKey: string, sealedToken: string): EmailRequestEvent => ({
  type: 'LinkRequested',
  data: { purpose, emailKey, sealedToken },
});

export const signInFailedForUnknownEmail = (emailKey: string, attempt: { method: string; ip: string; userAgent: string }): EmailRequestEvent => ({
  type: 'SignInFailedForUnknownEmail',
  data: { emailKey, ...attempt, reason: 'unknown_email' },
});
