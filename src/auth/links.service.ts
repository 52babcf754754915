import { Inject, Injectable } from '@nestjs/common';
import { link, linkStream, type Link, type LinkDelivery, type LinkPurpose, type LinkSpec } from '../../domain/link/link';
import type { Context } from '../../domain/shared/decider';
import { normalizeEmail } from '../../domain/shared/email';
import { DomainError } from '../../domain/shared/errors';
import { SecretBox } from '../../infra/crypto/sealing';
import { hashToken, newToken } from '../../infra/crypto/secrets';
import type { ReadStore } from '../../infra/readstore/port';
import { Streams, type Change } from '../shared/streams';
import { CLOCK, READ_STORE, type Clock } from '../shared/tokens';
import { CONTENDED_WAIT_MS, ThrottleCounters, type Counter, type Decision } from './counters';
import { NameKeys } from '../../infra/crypto/name-keys';

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

/** Link emails to one recipient (by email hash) in the last window. */
interface RecipientCounter extends Counter {
  sendings: Sending[];
}

/** Sent but not confirmed, and past the time its command had to commit: whether its link is in the log decides whether it still counts. */
const unsure = (sendings: Sending[], at: number) => sendings.filter((s) => !s.confirmed && at - s.at > IN_FLIGHT_MS && at - s.at < RECIPIENT_WINDOW_MS);

/**
 * R-SEC-6: one more link email to a recipient, from the sendings stored for it and
 * what the log says of the unsure ones: counted (the answer 0), the same link
 * again (0, one email), or refused (how long until the oldest leaves the window).
 */
function decideSending(sendings: Sending[], tokenHash: string, at: number, inLog: ReadonlyMap<string, boolean>): Decision<RecipientCounter, number> {
  const recent = sendings.filter((s) => at - s.at < RECIPIENT_WINDOW_MS && inLog.get(s.tokenHash) !== false).map((s) => (inLog.get(s.tokenHash) ? { ...s, confirmed: true } : s));
  const counted = (list: Sending[]) => ({ sendings: list, forgetAfter: Math.max(...list.map((s) => s.at)) + RECIPIENT_WINDOW_MS });
  // What the log settled is stored, so no one asks it again.
  const settled = recent.length !== sendings.length || recent.some((s, i) => s.confirmed !== sendings[i].confirmed) ? counted(recent) : undefined;
  if (recent.some((s) => s.tokenHash === tokenHash)) return { next: settled, answer: 0 };
  if (recent.length >= LINK_EMAILS_PER_RECIPIENT) return { next: settled, answer: Math.min(...recent.map((s) => s.at)) + RECIPIENT_WINDOW_MS - at };
  return { next: counted([...recent, { at, tokenHash, confirmed: false }]), answer: 0 };
}

/** Single-use, expiring links (R-CRED-2): the token goes into an email once; only its hash names the link's stream. */
@Injectable()
export class Links {
  /** Link emails per recipient in the last window, in the read store: counted once across replicas, and through restarts. */
  private readonly counters: ThrottleCounters;

  constructor(
    private readonly streams: Streams,
    private readonly box: SecretBox,
    private readonly names: NameKeys,
    @Inject(READ_STORE) store: ReadStore,
    @Inject(CLOCK) clock: Clock,
  ) {
    this.counters = new ThrottleCounters(store, clock);
  }

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
   * is found missing from the log. The count is read, decided and swapped in as one
   * step; the log is asked in between, about the unsure sendings only.
   */
  private async countSending(to: string, tokenHash: string, now: Date): Promise<void> {
    const recipient = this.names.email(normalizeEmail(to));
    const at = now.getTime();
    const inLog = new Map<string, boolean>();
    const outcome = await this.counters.update<RecipientCounter, number>(`link-emails:${recipient}`, async (counter) => {
      const sendings = counter?.sendings ?? [];
      const ask = unsure(sendings, at).filter((s) => !inLog.has(s.tokenHash));
      const found = await Promise.all(ask.map(async (s) => (await this.streams.store.readStream(linkStream(s.tokenHash))).length > 0));
      ask.forEach((s, i) => inLog.set(s.tokenHash, found[i]));
      return decideSending(sendings, tokenHash, at, inLog);
    });
    const wait = outcome?.answer ?? CONTENDED_WAIT_MS;
    if (wait > 0) throw new DomainError('too_many_requests', 'too many emails to this address: try again later', { retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) });
  }
}
