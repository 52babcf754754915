import { Inject, Injectable } from '@nestjs/common';
import { isLive, session, sessionStream, type StartSession } from '../../domain/session/session';
import { hashToken, newId, newToken } from '../../infra/crypto/secrets';
import type { Actor } from '../../infra/eventstore/port';
import { Settings } from '../config/config';
import { Streams, type Change, type CommandMeta } from '../shared/streams';
import { CLOCK, type Clock } from '../shared/tokens';

export interface IssuedSession {
  token: string;
  sessionId: string;
  expiresAt: string;
}

const HOUR_MS = 3_600_000;

@Injectable()
export class Sessions {
  constructor(
    private readonly streams: Streams,
    private readonly settings: Settings,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Prepares a session for `userId`: the token goes to the caller once; only its
   * hash names the stream. Returned as a change so it commits with the command that signs the user in.
   */
  async prepare(userId: string, method: StartSession['method']): Promise<{ issued: IssuedSession; change: Change }> {
    const token = newToken();
    const from = await this.streams.load(sessionStream(hashToken(token)), session);
    const expiresAt = new Date(this.clock().getTime() + this.settings.SESSION_TTL_HOURS * HOUR_MS).toISOString();
    const command: StartSession = { type: 'StartSession', sessionId: newId(), userId, method, expiresAt };
    const events = session.decide(from.state, command, { now: this.clock(), actor: { kind: 'user', id: userId } });
    return { issued: { token, sessionId: command.sessionId, expiresAt }, change: { from, events } };
  }

  async start(userId: string, method: StartSession['method'], meta: CommandMeta): Promise<IssuedSession> {
    const { issued, change } = await this.prepare(userId, method);
    await this.streams.commit([change], meta);
    return issued;
  }

  /** The actor behind a bearer token, or undefined. Reads the session's stream each time, so an end is seen at once. */
  async authenticate(token: string): Promise<Actor | undefined> {
    if (token.length < 20 || token.length > 200) return undefined;
    const { state } = await this.streams.load(sessionStream(hashToken(token)), session);
    return isLive(state, this.clock()) ? { kind: 'user', id: state.userId } : undefined;
  }
}
