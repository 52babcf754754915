import { Injectable } from '@nestjs/common';
import { link, linkStream, type Link, type LinkDelivery, type LinkPurpose, type LinkSpec } from '../../domain/link/link';
import type { Context } from '../../domain/shared/decider';
import { normalizeEmail } from '../../domain/shared/email';
import { DomainError } from '../../domain/shared/errors';
import { SecretBox } from '../../infra/crypto/sealing';
import { emailKey, hashToken, newToken } from '../../infra/crypto/secrets';
import { Streams, type Change } from '../shared/streams';

/** R-SEC-6: link emails (invitations, setup, resets, magic links, resends included) to one address per window. */
export const LINK_EMAILS_PER_RECIPIENT = 5;
const RECIPIENT_WINDOW_MS = 3_600_000;
/** A link email's command commits or fails within this; after it, one that is not in the log stops counting. */
const IN_FLIGHT_MS = 15_000;

/** A link to issue: its purpose and target (its lifetime follows from them, R-CRED-2), and whom to email it to. */
export type LinkRequest = LinkSpec & { email?: Omit<LinkDelivery, 'sealedToken'> };

interface Sending {
  at: number;
  tokenHash: string;
  /** Seen in the log: the email went out (or will). */
  confirmed: boolean;
}

/** Single-use, expiring links (R-CRED-2): the token goes into an email once; only its hash names the link's stream. */
@Injectable()
export class Links {
  /** Link emails per recipient (by email hash) in the last window, in this process. */
  private readonly sendings = new Map<string, Sending[]>();

  constructor(
    private readonly streams: Streams,
    private readonly box: SecretBox,
  ) {}

  /**
   * A new link. With `email`, the same append asks for it to be emailed: the email
   * consumer sends it from the log (the token sealed in the event, never in clear).
   * An email to an address that had its share for the hour is refused with
   * `too_many_requests` (R-SEC-6), whoever asks. `token`: one chosen earlier (a
   * request handled again from the log issues the same link).
   */
  async issue({ email, ...request }: LinkRequest, context: Context, token = newToken()): Promise<{ token: string; tokenHash: string; expiresAt: string; change: Change }> {
    const tokenHash = hashToken(token);
    const from = await this.streams.load(linkStream(tokenHash), link);
    const delivery = email ? { ...email, sealedToken: this.box.seal(token) } : undefined;
    const events = link.decide(from.state, { type: 'IssueLink', ...request, ...(delivery ? { delivery } : {}) }, context);
    if (email) await this.countSending(email.to, tokenHash, context.now);
    return { token, tokenHash, expiresAt: events.reduce(link.evolve, from.state).expiresAt, change: { from, events } };
  }

  /** Spends a link: throws with the reason when it is unknown, of another purpose, used or expired (R-INV-5). */
  async use(token: string, purposes: readonly LinkPurpose[], context: Context): Promise<{ link: Link; tokenHash: string; change: Change }> {
    const tokenHash = hashToken(token);
    const from = await this.streams.load(linkStream(tokenHash), link);
    const events = link.decide(from.state, { type: 'UseLink', purposes }, context);
    return { link: from.state, tokenHash, change: { from, events } };
  }

  /**
   * R-SEC-6: counts one more link email to `to`, or refuses it. A link is counted
   * when it is issued, before its command commits, so parallel requests get no
   * more emails than sequential ones; a command that then failed (refused after
   * the link was made, or retried with another link) stops counting once its link
   * is found missing from the log. Kept in this process's memory, like the
   * sign-in throttle: a restart forgets it, and several processes each count their own.
   */
  private async countSending(to: string, tokenHash: string, now: Date): Promise<void> {
    const recipient = emailKey(normalizeEmail(to));
    const at = now.getTime();
    const unsure = (this.sendings.get(recipient) ?? []).filter((s) => !s.confirmed && at - s.at > IN_FLIGHT_MS && at - s.at < RECIPIENT_WINDOW_MS);
    const inLog = await Promise.all(unsure.map(async (s) => (await this.streams.store.readStream(linkStream(s.tokenHash))).length > 0));
    unsure.forEach((s, i) => (s.confirmed = inLog[i]));
    const dropped = new Set(unsure.filter((_, i) => !inLog[i]));
    // From here on nothing awaits: the check and the count are one step.
    const recent = (this.sendings.get(recipient) ?? []).filter((s) => !dropped.has(s) && at - s.at < RECIPIENT_WINDOW_MS);
    this.sendings.set(recipient, recent);
    if (recent.some((s) => s.tokenHash === tokenHash)) return; // the same link again: one email
    if (recent.length >= LINK_EMAILS_PER_RECIPIENT) {
      const oldest = Math.min(...recent.map((s) => s.at));
      throw new DomainError('too_many_requests', 'too many emails to this address: try again later', { retryAfterSeconds: Math.max(1, Math.ceil((oldest + RECIPIENT_WINDOW_MS - at) / 1000)) });
    }
    recent.push({ at, tokenHash, confirmed: false });
    if (this.sendings.size > 100_000) this.forgetOld(at);
  }

  private forgetOld(at: number): void {
    for (const [recipient, list] of this.sendings) if (list.every((s) => at - s.at >= RECIPIENT_WINDOW_MS)) this.sendings.delete(recipient);
  }
}
