import { Injectable } from '@nestjs/common';
import { link, linkStream, type Link, type LinkDelivery, type LinkPurpose, type LinkTarget } from '../../domain/link/link';
import type { Context } from '../../domain/shared/decider';
import { SecretBox } from '../../infra/crypto/sealing';
import { hashToken, newToken } from '../../infra/crypto/secrets';
import { Streams, type Change } from '../shared/streams';

/** Single-use, expiring links (R-CRED-2): the token goes into an email once; only its hash names the link's stream. */
@Injectable()
export class Links {
  constructor(
    private readonly streams: Streams,
    private readonly box: SecretBox,
  ) {}

  /**
   * A new link. With `email`, the same append asks for it to be emailed: the email
   * consumer sends it from the log (the token sealed in the event, never in clear).
   */
  async issue(purpose: LinkPurpose, target: LinkTarget, expiresAt: string, context: Context, email?: Omit<LinkDelivery, 'sealedToken'>): Promise<{ token: string; tokenHash: string; change: Change }> {
    const token = newToken();
    const tokenHash = hashToken(token);
    const from = await this.streams.load(linkStream(tokenHash), link);
    const delivery = email ? { ...email, sealedToken: this.box.seal(token) } : undefined;
    return { token, tokenHash, change: { from, events: link.decide(from.state, { type: 'IssueLink', purpose, expiresAt, ...target, ...(delivery ? { delivery } : {}) }, context) } };
  }

  /** Spends a link: throws with the reason when it is unknown, of another purpose, used or expired (R-INV-5). */
  async use(token: string, purposes: readonly LinkPurpose[], context: Context): Promise<{ link: Link; tokenHash: string; change: Change }> {
    const tokenHash = hashToken(token);
    const from = await this.streams.load(linkStream(tokenHash), link);
    const events = link.decide(from.state, { type: 'UseLink', purposes }, context);
    return { link: from.state, tokenHash, change: { from, events } };
  }
}
