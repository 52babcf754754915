import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { link, linkExpiresAt, linkStream } from '../../domain/link/link';
import { normalizeEmail } from '../../domain/shared/email';
import { DomainError } from '../../domain/shared/errors';
import { emailReservation, emailStream, user, userStream } from '../../domain/user/user';
import { SecretBox } from '../../infra/crypto/sealing';
import { hashToken } from '../../infra/crypto/secrets';
import type { EventStore } from '../../infra/eventstore/port';
import type { RecordedOf } from '../../domain/events';
import { Links } from '../auth/links.service';
import { Streams } from '../shared/streams';
import { CLOCK, EVENT_STORE, type Clock } from '../shared/tokens';
import { derivedEventId, TableConsumer, type ConsumerHandlers, type Effect } from './consumer';
import { NameKeys } from '../../infra/crypto/name-keys';

/**
 * R-SEC-3: answers the public link requests from the log, out of the requests'
 * time. An email with an account gets its link (and, through the email consumer,
 * its email); any other gets nothing, and neither answer said which. The token was
 * chosen with the request and the events' ids derive from the request's, so
 * handling a request twice (a redelivery, a crash) issues one link and one email.
 * An address that had its emails for the hour gets none (R-SEC-6), silently.
 */
@Injectable()
export class LinkRequestConsumer extends TableConsumer {
  readonly name = 'link-requests';

  constructor(
    private readonly streams: Streams,
    private readonly links: Links,
    private readonly box: SecretBox,
    private readonly names: NameKeys,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    super();
  }

  protected readonly on: ConsumerHandlers = { LinkRequested: (event) => this.issue(event) };

  private async issue(event: RecordedOf<'LinkRequested'>): Promise<Effect | undefined> {
    // Let the request's answer leave first: what follows differs for known and unknown emails (R-SEC-3).
    await new Promise((resolve) => setImmediate(resolve));
    const { purpose, emailKey: key, sealedToken } = event.data;
    const now = this.clock();
    // A requested link lives from the moment it was asked for (R-CRED-2).
    if (linkExpiresAt({ purpose }, event.recordedAt) <= now.toISOString()) return undefined; // handled too late to be of use
    const { state: reservation } = await this.streams.load(emailStream(key), emailReservation);
    if (!reservation.userId) return undefined;
    const { state: account } = await this.streams.load(userStream(reservation.userId), user);
    // The address must still be the account's: a reservation outlived by an email change sends nothing.
    if (!account.exists || this.names.email(normalizeEmail(account.email)) !== key) return undefined;
    const token = this.box.open(sealedToken);
    if ((await this.streams.load(linkStream(hashToken(token)), link)).state.exists) return undefined; // issued already
    return async () => {
      let issued;
      try {
        const context = { now, actor: event.actor };
        const email = { to: account.email, ...(purpose === 'password-reset' ? { variant: 'self' } : {}) };
        issued = await this.links.issue({ purpose, userId: account.userId, askedAt: event.recordedAt.toISOString(), email }, context, token);
      } catch (error) {
        if (error instanceof DomainError && (error.code === 'too_many_requests' || error.code === 'link_exists')) return;
        throw error;
      }
      const metadata = { actor: event.actor, ...(event.realActor ? { realActor: event.realActor } : {}), correlationId: event.correlationId, causationId: event.eventId };
      const events = issued.change.events.map((e, i) => ({ eventId: derivedEventId(createHash('sha256').update(`link-request:${event.eventId}:${i}`).digest('hex')), type: e.type, data: e.data, metadata }));
      // Ids derived from the request: appending again after a crash is the same append, not a second link.
      await this.store.append(issued.change.from.stream, events, 'no_stream');
    };
  }
}
