import { Inject, Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { KafkaContext } from '@nestjs/microservices';
import type { FastifyInstance } from 'fastify';
import { createHash } from 'node:crypto';
import { Optional } from '@nestjs/common';
import { Settings } from '../config/config';
import { IDEMPOTENCY_KEY, IdempotentCommands } from '../shared/idempotency';
import { DEAD_LETTER_SINK, type DeadLetterSink } from '../shared/dead-letters';
import { topicsOf } from '../../infra/messaging/port';
import { isErrorCode, kindOf, type ErrorCode, type ErrorKind } from '../../domain/shared/errors';
import { kindOfStatus } from '../shared/api-error';

/**
 * Command types on `gatehouse.commands` and the HTTP route each one is: the same
 * validation, authorization and error codes as HTTP, because it is the same path
 * through the app. `{org}`, `{user}`, … are taken from the payload; the rest of
 * the payload is the body.
 */
export const COMMAND_ROUTES: Record<string, { method: 'POST' | 'PUT' | 'PATCH' | 'DELETE'; path: string }> = {
  // Signing in and links (the answer is a session, or a 202)
  'sessions.create': { method: 'POST', path: '/v1/sessions' },
  'sessions.mfa': { method: 'POST', path: '/v1/sessions/mfa' },
  'magic-links.request': { method: 'POST', path: '/v1/magic-links' },
  'magic-links.redeem': { method: 'POST', path: '/v1/magic-links/redeem' },
  'password-resets.request': { method: 'POST', path: '/v1/password-resets' },
  'password-resets.redeem': { method: 'POST', path: '/v1/password-resets/redeem' },
  'invitations.accept': { method: 'POST', path: '/v1/invitations/accept' },
  'identities.verified': { method: 'POST', path: '/v1/identities/verified' },
  'unsubscribe': { method: 'POST', path: '/v1/unsubscribe?token={token}' },
  // The caller's own account
  'me.update': { method: 'PATCH', path: '/v1/me' },
  'me.password.change': { method: 'PUT', path: '/v1/me/password' },
  'me.mfa.start': { method: 'POST', path: '/v1/me/mfa/totp' },
  'me.mfa.verify': { method: 'POST', path: '/v1/me/mfa/totp/verify' },
  'me.sessions.revoke-all': { method: 'DELETE', path: '/v1/me/sessions' },
  'me.sessions.revoke': { method: 'DELETE', path: '/v1/me/sessions/{session}' },
  'me.preferences.update': { method: 'PUT', path: '/v1/me/preferences' },
  'me.erase': { method: 'POST', path: '/v1/me/erase' },
  'impersonation.start': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/impersonation' },
  'impersonation.end': { method: 'DELETE', path: '/v1/impersonation' },
  // Orgs and their settings
  'orgs.create': { method: 'POST', path: '/v1/orgs' },
  'orgs.locations.add': { method: 'POST', path: '/v1/orgs/{org}/locations' },
  'orgs.policy.change': { method: 'PATCH', path: '/v1/orgs/{org}/policy' },
  'orgs.roles.create': { method: 'POST', path: '/v1/orgs/{org}/roles' },
  'orgs.roles.update': { method: 'PATCH', path: '/v1/orgs/{org}/roles/{role}' },
  'orgs.owner.transfer': { method: 'POST', path: '/v1/orgs/{org}/owner-transfer' },
  'orgs.sms.inbound': { method: 'POST', path: '/v1/orgs/{org}/sms/inbound' },
  // SPEC 5.7: the authorization check, with the same body and answer as POST /v1/orgs/{org}/authorize
  'authorize': { method: 'POST', path: '/v1/orgs/{org}/authorize' },
  // Invitations and members
  'invitations.create': { method: 'POST', path: '/v1/orgs/{org}/invitations' },
  'invitations.resend': { method: 'POST', path: '/v1/orgs/{org}/invitations/{invitation}/resend' },
  'invitations.revoke': { method: 'DELETE', path: '/v1/orgs/{org}/invitations/{invitation}' },
  'members.create': { method: 'POST', path: '/v1/orgs/{org}/members' },
  'members.update': { method: 'PATCH', path: '/v1/orgs/{org}/members/{user}' },
  'members.remove': { method: 'DELETE', path: '/v1/orgs/{org}/members/{user}' },
  'members.role.change': { method: 'PUT', path: '/v1/orgs/{org}/members/{user}/role' },
  'members.disable': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/disable' },
  'members.enable': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/enable' },
  'members.approve': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/approve' },
  'members.pending': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/pending' },
  'members.ban': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/ban' },
  'members.unban': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/unban' },
  'members.grant': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/grants' },
  'members.grant.revoke': { method: 'DELETE', path: '/v1/orgs/{org}/members/{user}/grants/{grant}' },
  'members.access-code.set': { method: 'PUT', path: '/v1/orgs/{org}/members/{user}/access-code' },
  'members.setup-link.send': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/setup-link' },
  'members.password.set': { method: 'PUT', path: '/v1/orgs/{org}/members/{user}/password' },
  'members.temporary-password': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/temporary-password' },
  'members.password-reset.send': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/password-reset' },
  'members.mfa.reset': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/mfa-reset' },
  'members.availability.set': { method: 'PUT', path: '/v1/orgs/{org}/members/{user}/availability' },
  'members.stripe-customer.set': { method: 'PUT', path: '/v1/orgs/{org}/members/{user}/stripe-customer' },
  'members.stripe-balance.adjust': { method: 'POST', path: '/v1/orgs/{org}/members/{user}/stripe-balance' },
  'service-keys.create': { method: 'POST', path: '/v1/orgs/{org}/service-keys' },
  'service-keys.revoke': { method: 'DELETE', path: '/v1/orgs/{org}/service-keys/{key}' },
  // Partners and system administration
  'partners.create': { method: 'POST', path: '/v1/partners' },
  'partners.orgs.create': { method: 'POST', path: '/v1/partners/{partner}/orgs' },
  'partners.users.place': { method: 'POST', path: '/v1/partners/{partner}/users' },
  'system.orgs.suspend': { method: 'POST', path: '/v1/system/orgs/{org}/suspend' },
  'system.orgs.reactivate': { method: 'POST', path: '/v1/system/orgs/{org}/reactivate' },
  'system.orgs.plan.change': { method: 'PUT', path: '/v1/system/orgs/{org}/plan' },
  'system.orgs.delete': { method: 'DELETE', path: '/v1/system/orgs/{org}' },
  'system.users.erase': { method: 'POST', path: '/v1/system/users/{user}/erase' },
  'system.dead-letters.redrive': { method: 'POST', path: '/v1/system/dead-letters/{id}/redrive' },
};

/** HTTP commands with no Kafka type, and why. */
export const HTTP_ONLY: Record<string, string> = {
  'POST /v1/orgs/{org}/imports': 'a file (text/csv or application/x-ndjson) of up to 100 000 rows, not a JSON command: send rows as members.create commands instead',
};


/** A refusal: the code of the HTTP answer (or of the Kafka checks), and its kind from the one catalogue. */
export interface CommandError {
  code: string;
  kind: ErrorKind;
  message: string;
  details?: unknown;
}

export interface CommandReply {
  ok: boolean;
  result?: unknown;
  error?: CommandError;
  position?: string;
}

const PARAM = /\{(\w+)\}/g;

/**
 * Commands over Kafka (SPEC 3.2): request/reply on `gatehouse.commands` through
 * @nestjs/microservices' Kafka transport (the reply goes to the request's
 * `kafka_replyTopic` with its `kafka_correlationId`). The caller's credentials
 * ride in the `authorization` header. An idempotency key makes a retried command
 * (a redelivery after a crash, or the caller's own retry) return the first reply
 * without running again.
 */
@Injectable()
export class KafkaCommands {
  private readonly logger = new Logger('kafka-commands');

  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly idempotent: IdempotentCommands,
    private readonly settings: Settings,
    @Optional() @Inject(DEAD_LETTER_SINK) private readonly deadLetters?: DeadLetterSink,
  ) {}

  /** The handler of the commands topic (registered on the Kafka server in src/app.ts). */
  async handle(message: unknown, context: KafkaContext): Promise<CommandReply> {
    const headers = context.getMessage().headers ?? {};
    const authorization = headers.authorization?.toString();
    const command = message as { type?: unknown; payload?: unknown; idempotencyKey?: unknown } | null;
    if (!command || typeof command !== 'object' || typeof command.type !== 'string' || !COMMAND_ROUTES[command.type]) {
      // A poison message: answered if it can be, and kept for operators — its reason, never its content (it may hold a password).
      const kafkaMessage = context.getMessage();
      await this.deadLetters
        ?.publishDeadLetter(topicsOf(this.settings.KAFKA_TOPIC_PREFIX).commands, {
          source: topicsOf(this.settings.KAFKA_TOPIC_PREFIX).commands,
          reason: typeof command === 'object' && command !== null ? 'unknown command type' : 'not a JSON object',
          type: typeof command?.type === 'string' ? command.type.slice(0, 100) : null,
          partition: context.getPartition(),
          offset: kafkaMessage.offset,
          bytes: kafkaMessage.value?.length ?? 0,
          correlationId: headers.kafka_correlationId?.toString() ?? null,
          failedAt: new Date().toISOString(),
        })
        .catch((error) => this.logger.error({ message: 'dead letter not published', error: String((error as Error).name) }));
      return rejected('unknown_command', `type must be one of ${Object.keys(COMMAND_ROUTES).join(', ')}`);
    }
    if (command.payload !== undefined && (typeof command.payload !== 'object' || command.payload === null || Array.isArray(command.payload))) {
      return rejected('validation_failed', 'payload must be an object');
    }
    if (command.idempotencyKey !== undefined && (typeof command.idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(command.idempotencyKey))) {
      return rejected('validation_failed', 'idempotencyKey must be 8 to 200 letters, digits or ._:-');
    }
    const run = () => this.dispatch(command.type as string, (command.payload ?? {}) as Record<string, unknown>, authorization);
    if (!command.idempotencyKey) return run();
    // Keyed per caller: one service's key never answers another's command. A rejection is not kept:
    // the same command, fixed or retried later, may pass.
    const id = createHash('sha256').update(`${authorization ?? ''}\u0000${command.idempotencyKey}`).digest('hex');
    return this.idempotent.once(id, IdempotentCommands.fingerprintOf({ type: command.type, payload: command.payload ?? {} }), run, (reply) => reply.ok);
  }

  private async dispatch(type: string, payload: Record<string, unknown>, authorization: string | undefined): Promise<CommandReply> {
    const route = COMMAND_ROUTES[type];
    const body = { ...payload };
    let missing: string | undefined;
    const url = route.path.replace(PARAM, (_, name: string) => {
      const value = body[name];
      delete body[name];
      if (typeof value !== 'string' || value === '') missing ??= name;
      return encodeURIComponent(String(value ?? ''));
    });
    if (missing) return rejected('validation_failed', `payload.${missing} is required`);
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    const hasBody = route.method !== 'DELETE' || Object.keys(body).length > 0;
    let payloadText: string | undefined;
    try {
      payloadText = hasBody ? JSON.stringify(body) : undefined;
    } catch {
      // A payload nested deep enough to overflow the stack: the HTTP checks refuse anything past 32 levels anyway (R-SEC-5).
      return rejected('too_deep', 'the payload is nested too deeply');
    }
    const response = await fastify.inject({
      method: route.method,
      url,
      headers: { ...(authorization ? { authorization } : {}), ...(hasBody ? { 'content-type': 'application/json' } : {}) },
      ...(payloadText !== undefined ? { payload: payloadText } : {}),
    });
    const parsed = response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {};
    if (response.statusCode >= 400) {
      if (response.statusCode >= 500) this.logger.error({ message: 'command failed', type, status: response.statusCode });
      return { ok: false, error: commandError(response.statusCode, parsed) };
    }
    const { position, ...result } = parsed as { position?: string };
    return { ok: true, result, ...(position ? { position } : {}) };
  }
}

function rejected(code: ErrorCode, message: string): CommandReply {
  return { ok: false, error: { code, kind: kindOf(code), message } };
}

/** The error of an HTTP answer as a reply carries it: its code kept, its kind the catalogue's (the status's for a code not ours). */
export function commandError(status: number, body: { code?: unknown; message?: unknown; details?: unknown }): CommandError {
  const code = typeof body.code === 'string' ? body.code : 'error';
  const message = typeof body.message === 'string' ? body.message : '';
  return { code, kind: isErrorCode(code) ? kindOf(code) : kindOfStatus(status), message, ...(body.details ? { details: body.details } : {}) };
}
