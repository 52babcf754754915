import { Inject, Injectable } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { emailRequestsStream, linkRequested, type RequestedLinkPurpose } from '../../domain/link/link-request';
import { normalizeEmail } from '../../domain/shared/email';
import { SecretBox } from '../../infra/crypto/sealing';
import { newToken } from '../../infra/crypto/secrets';
import type { EventStore } from '../../infra/eventstore/port';
import type { CommandMeta } from '../shared/streams';
import { EVENT_STORE } from '../shared/tokens';
import { limitEmailRequests, RequestLimit } from './throttle';
import { NameKeys } from '../../infra/crypto/name-keys';

/** R-CRED-6: email a sign-in link (30 minutes). */
export class RequestMagicLink extends Command<void> {
  constructor(readonly email: string, readonly ip: string, readonly meta: CommandMeta) {
    super();
  }
}

/** The public "forgot my password" (1 hour). */
export class RequestPasswordReset extends Command<void> {
  constructor(readonly email: string, readonly ip: string, readonly meta: CommandMeta) {
    super();
  }
}

/**
 * R-SEC-3: the public link requests do the same work whether or not the email has
 * an account: limited per address and per email alike, then one `LinkRequested`
 * appended to the email hash's stream, and a 202. Whether a link goes out is
 * decided from the log (LinkRequestConsumer), out of the answer's time; the
 * request is in the log before the answer, so none accepted is lost.
 */
@Injectable()
abstract class LinkRequestHandler {
  constructor(
    private readonly limit: RequestLimit,
    private readonly box: SecretBox,
    private readonly names: NameKeys,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  protected async request(purpose: RequestedLinkPurpose, limitKind: string, email: string, ip: string, meta: CommandMeta): Promise<void> {
    const key = this.names.email(normalizeEmail(email));
    await limitEmailRequests(this.limit, limitKind, key, ip);
    const { type, data } = linkRequested(purpose, key, this.box.seal(newToken()));
    await this.store.append(emailRequestsStream(key), [{ eventId: randomUUID(), type, data, metadata: meta }], 'any');
  }
}

@CommandHandler(RequestMagicLink)
export class RequestMagicLinkHandler extends LinkRequestHandler implements ICommandHandler<RequestMagicLink> {
  execute({ email, ip, meta }: RequestMagicLink): Promise<void> {
    return this.request('magic-link', 'magic', email, ip, meta);
  }
}

@CommandHandler(RequestPasswordReset)
export class RequestPasswordResetHandler extends LinkRequestHandler implements ICommandHandler<RequestPasswordReset> {
  execute({ email, ip, meta }: RequestPasswordReset): Promise<void> {
    return this.request('password-reset', 'reset', email, ip, meta);
  }
}
