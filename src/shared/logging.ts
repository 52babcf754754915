import { Inject, Injectable, type LoggerService, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { pinoHttp, type Options } from 'pino-http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { storage, Store } from 'nestjs-pino/storage';
import { pino, type Level, type Logger as Pino } from 'pino';
import { secretScrubber, type Settings } from '../config/config';
import { correlationIdOf } from './request-context';

/** Where log lines go: stdout, or a LoggerService a test gives (each line as its text), or nowhere. */
export type LogTarget = false | LoggerService | undefined;

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const EMAIL_ENCODED = /[A-Za-z0-9._%+-]+%40[A-Za-z0-9.-]+\.[A-Za-z]{2,}/gi;
/** Fields whose values never print, wherever a log call puts them (bodies are never logged at all). */
const REDACT = ['password', 'newPassword', 'currentPassword', 'token', 'secret', 'authorization', 'cookie', 'email']
  .flatMap((key) => [key, `*.${key}`, `*.*.${key}`])
  .concat(['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]']);

const logs = new WeakMap<object, Pino>();

/** The one pino logger of an app (per settings object): LOG_LEVEL, LOG_FORMAT, redaction. */
export function logOf(settings: Settings, target?: LogTarget): Pino {
  let log = logs.get(settings);
  if (!log) {
    const scrub = secretScrubber(settings as unknown as Record<string, unknown>) ?? ((text: string) => text);
    const text = settings.LOG_FORMAT === 'text';
    const out = target ? (line: string) => target.log(line) : (line: string) => void process.stdout.write(line + '\n');
    const destination = {
      // Personal data and secret settings are taken out of the whole line, whatever field they hide in.
      write: (line: string) => out(asText(text, scrub(line.trimEnd()).replace(EMAIL, '[email]').replace(EMAIL_ENCODED, '[email]'))),
    };
    log = pino({ level: target === false ? 'silent' : settings.LOG_LEVEL, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
    logs.set(settings, log);
  }
  return log;
}

/** One line per request, with its request id and correlation id; headers and bodies are never logged. */
export function httpLogging(log: Pino): Options {
  return {
      logger: log,
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const id = randomUUID();
        // Set here, at the request's start, so every answer (errors too) carries both.
        res.setHeader('X-Request-Id', id);
        res.setHeader('X-Correlation-Id', correlationIdOf(req));
        return id;
      },
      customProps: (req: IncomingMessage) => ({ correlationId: correlationIdOf(req) }),
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      serializers: {
        req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      wrapSerializers: false,
      quietReqLogger: true,
  };
}

export const HTTP_LOG = Symbol('HTTP_LOG');

/**
 * pino-http on Fastify's onRequest hook (nestjs-pino's middleware ran for no route under
 * Fastify here), with nestjs-pino's request store so Nest's lines inside a request carry its ids.
 */
@Injectable()
export class HttpLogging implements OnModuleInit {
  constructor(private readonly host: HttpAdapterHost, @Inject(HTTP_LOG) private readonly log: Pino) {}
  onModuleInit(): void {
    // An application context with no HTTP server (the CLI) has no requests to log.
    if (!this.host.httpAdapter) return;
    const http = pinoHttp(httpLogging(this.log));
    this.host.httpAdapter.getInstance().addHook('onRequest', (request: { raw: IncomingMessage }, reply: { raw: ServerResponse }, done: () => void) => {
      http(request.raw, reply.raw);
      storage.run(new Store((request.raw as IncomingMessage & { log: Pino }).log), done);
    });
  }
}

/** Nest's own logging (bootstrap, Logger instances) through the same pino; inside a request, with its ids. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: Pino) {}
  log(message: unknown, ...rest: unknown[]) { this.write('info', message, rest); }
  error(message: unknown, ...rest: unknown[]) { this.write('error', message, rest); }
  warn(message: unknown, ...rest: unknown[]) { this.write('warn', message, rest); }
  debug(message: unknown, ...rest: unknown[]) { this.write('debug', message, rest); }
  verbose(message: unknown, ...rest: unknown[]) { this.write('trace', message, rest); }
  fatal(message: unknown, ...rest: unknown[]) { this.write('fatal', message, rest); }

  private write(level: Level, message: unknown, rest: unknown[]): void {
    const log = storage.getStore()?.logger ?? this.root;
    // Nest passes the context last; an error's stack, when there is one, before it.
    const context = rest.length > 0 && typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const stack = typeof rest[0] === 'string' ? rest[0] : undefined;
    if (message instanceof Error) return log[level]({ context, err: message }, message.message);
    if (message !== null && typeof message === 'object') {
      const { message: text, ...fields } = message as Record<string, unknown>;
      return log[level]({ context, ...fields, ...(stack ? { stack } : {}) }, typeof text === 'string' ? text : undefined);
    }
    log[level]({ context, ...(stack ? { stack } : {}) }, String(message));
  }
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** LOG_FORMAT=text: `time LEVEL [context] message key=value…`, one line per entry. */
function asText(text: boolean, line: string): string {
  if (!text) return line;
  try {
    const { time, level, context, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const pairs = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    return [time, LEVELS[level as number] ?? level, context ? `[${String(context)}]` : '', msg ?? '', ...pairs].filter((p) => p !== '').join(' ');
  } catch {
    return line;
  }
}
