import type { LinkDelivery, LinkPurpose } from '../../domain/link/link';
import type { OutgoingEmail } from '../../infra/email/port';

/** Where each kind of link lands in the UI. */
const LINK_PATHS: Partial<Record<LinkPurpose, string>> = {
  invitation: '/invitations/accept',
  setup: '/setup',
  'password-reset': '/reset-password',
  'magic-link': '/sign-in',
};

/**
 * The transactional emails (R-PREF-3: always sent, whatever the preferences).
 * Subject and text are the message in the mailbox and Postmark's template model.
 */
export function linkEmail(purpose: LinkPurpose, delivery: Omit<LinkDelivery, 'sealedToken'>, token: string, expiresAt: string, publicUrl: string): OutgoingEmail {
  const path = LINK_PATHS[purpose];
  if (!path) throw new Error(`no email for ${purpose} links`);
  const link = `${publicUrl}${path}?token=${token}`;
  const base = { to: delivery.to, link };
  switch (purpose) {
    case 'invitation':
      return { ...base, template: 'invitation', subject: 'You are invited to join an organization on Gatehouse', text: `You have been invited. Accept the invitation: ${link}\nThe link works once and expires at ${expiresAt}.` };
    case 'setup':
      if (delivery.variant === 'new-account') return { ...base, template: 'setup', subject: 'Set up your Gatehouse account', text: `An account was created for you. Choose your password: ${link}` };
      if (delivery.variant === 'after-setup') return { ...base, template: 'setup', subject: 'Reset your Gatehouse password', text: `Choose a new password: ${link}\nThe link works once and expires at ${expiresAt}.` };
      return { ...base, template: 'setup', subject: 'Set up your Gatehouse account', text: `Choose your password: ${link}\nThe link works once and expires at ${expiresAt}.` };
    case 'password-reset':
      if (delivery.variant === 'by-admin') return { ...base, template: 'password-reset', subject: 'Reset your Gatehouse password', text: `An administrator sent you a link to choose a new password: ${link}\nIt works once, for one hour.` };
      return { ...base, template: 'password-reset', subject: 'Reset your Gatehouse password', text: `Choose a new password: ${link}\nIt works once, for one hour. If you did not ask for this, ignore this email.` };
    default:
      return { ...base, template: 'magic-link', subject: 'Your Gatehouse sign-in link', text: `Sign in: ${link}\nIt works once, for 30 minutes. If you did not ask for it, ignore this email.` };
  }
}

/**
 * R-CRED-3, R-SEC-4: the actor who sent a link on someone's behalf is told it went out.
 * The copy names the recipient, never the link: whoever holds it could use it.
 */
export function sentConfirmationEmail(purpose: LinkPurpose, to: string, recipient: string): OutgoingEmail {
  const what = purpose === 'password-reset' ? 'a password reset link' : purpose === 'invitation' ? 'an invitation' : 'a sign-in link';
  return { to, template: 'sent-confirmation', subject: `Sent: ${what} to ${recipient}`, text: `Gatehouse sent ${what} to ${recipient}. Only they can use it.`, model: { recipient, purpose } };
}

/** R-SEC-4: a person hears of every org that adds their existing account. */
export function addedToOrgEmail(to: string, orgName: string, publicUrl: string): OutgoingEmail {
  return {
    to,
    template: 'member-added',
    subject: `You were added to ${orgName} on Gatehouse`,
    text: `${orgName} added your Gatehouse account as a member. Sign in with your usual credentials: ${publicUrl}/sign-in\nThat organization manages only your membership, never your password or profile. If you did not expect this, tell your administrator.`,
    model: { orgName },
  };
}

/** R-BILL-1: an org's Owners and Admins hear of every seat change. */
export function seatChangeEmail(to: string, orgName: string, quantity: number, previous: number | undefined): OutgoingEmail {
  const change = previous === undefined ? `is now billed for ${quantity} seat${quantity === 1 ? '' : 's'}` : `went from ${previous} to ${quantity} seat${quantity === 1 ? '' : 's'}`;
  return {
    to,
    template: 'seat-change',
    subject: `${orgName}: seats changed to ${quantity}`,
    text: `Your organization ${orgName} ${change}. Stripe prorates the change on the next invoice.`,
    model: { orgName, quantity, ...(previous === undefined ? {} : { previous }) },
  };
}
