import { Inject, Injectable, Logger, Optional, type OnModuleInit } from '@nestjs/common';
import { ExternalContextCreator, ModulesContainer } from '@nestjs/core';
import type { KafkaContext } from '@nestjs/microservices';
import { createHash } from 'node:crypto';
import { Histogram, type Registry } from 'prom-client';
import { Settings } from '../config/config';
import { IDEMPOTENCY_KEY, IdempotentCommands } from '../shared/idempotency';
import { DEAD_LETTER_SINK, type DeadLetterSink } from '../shared/dead-letters';
import { topicsOf } from '../../infra/messaging/port';
import { isErrorCode, kindOf, type ErrorCode, type ErrorKind } from '../../domain/shared/errors';
import { kindOfStatus } from '../shared/api-error';
import { CommandRoutes, type CommandRoute } from './command-routes';

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

/**
 * Commands over Kafka (SPEC 3.2): request/reply on `gatehouse.commands` through
 * @nestjs/microservices' Kafka transport (the reply goes to the request's
 * `kafka_replyTopic` with its `kafka_correlationId`). The caller's credentials
 * ride in the `authorization` header. An idempotency key makes a retried command
 * (a redelivery after a crash, or the caller's own retry) return the first reply
 * without running again.
 */
@Injectable()
export class KafkaCommands implements OnModuleInit {
  private readonly logger = new Logger('kafka-commands');
  private table?: CommandRoutes;
  /** What HTTP's request histogram is for a route, for a command that never passed through HTTP. */
  private readonly durations = new Histogram({
    name: 'gatehouse_kafka_command_duration_seconds',
    help: 'Commands taken from the commands topic, by type and the HTTP status the same request would have had (200 for any success)',
    labelNames: ['type', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [],
  });

  constructor(
    private readonly modules: ModulesContainer,
    private readonly contexts: ExternalContextCreator,
    private readonly idempotent: IdempotentCommands,
    private readonly settings: Settings,
    @Optional() @Inject(DEAD_LETTER_SINK) private readonly deadLetters?: DeadLetterSink,
  ) {}

  /** Every controller is made by now, and the global pipes are registered. */
  onModuleInit(): void {
    this.table = new CommandRoutes(this.modules, this.contexts);
  }

  registerMetrics(registry: Registry): void {
    registry.registerMetric(this.durations);
  }

  /** The command types and the HTTP route each one is (`@CommandType` on the controllers). */
  get routes(): Record<string, CommandRoute> {
    return this.table!.routes;
  }

  /** The handler of the commands topic (registered on the Kafka server in src/app.ts). */
  async handle(message: unknown, context: KafkaContext): Promise<CommandReply> {
    const headers = context.getMessage().headers ?? {};
    const authorization = headers.authorization?.toString();
    const command = message as { type?: unknown; payload?: unknown; idempotencyKey?: unknown } | null;
    if (!command || typeof command !== 'object' || typeof command.type !== 'string' || !this.table!.has(command.type)) {
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
      return rejected('unknown_command', `type must be one of ${Object.keys(this.routes).join(', ')}`);
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
    const started = process.hrtime.bigint();
    const outcome = await this.table!.run(type, payload, authorization);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const status = outcome.ok ? 200 : outcome.status;
    this.durations.observe({ type, status }, seconds);
    // The line HTTP's request log writes, for a command: its type and outcome, never its payload.
    this.logger.log({ message: 'command completed', type, status, ...(!outcome.ok && typeof outcome.body.code === 'string' ? { code: outcome.body.code } : {}), responseTime: Math.round(seconds * 1000) });
    if (!outcome.ok) {
      if (outcome.status >= 500) this.logger.error({ message: 'command failed', type, status: outcome.status });
      return { ok: false, error: commandError(outcome.status, outcome.body) };
    }
    // The answer as HTTP serializes it (a Date as its string, no undefined fields), `position` apart (SPEC 3.2).
    const { position, ...result } = (outcome.body ?? {}) as { position?: bigint | string };
    return { ok: true, result: JSON.parse(JSON.stringify(result)) as unknown, ...(position ? { position: String(position) } : {}) };
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
