import { Inject, Injectable, type LoggerService, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
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

/** The two patterns cost more than the rest of a line's way out: most lines have neither `@` nor `%40`, and skip them. */
function withoutEmails(line: string): string {
  if (line.includes('@')) line = line.replace(EMAIL, '[email]');
  return line.includes('%40') ? line.replace(EMAIL_ENCODED, '[email]') : line;
}

/** The one pino logger of an app (per settings object): LOG_LEVEL, LOG_FORMAT, redaction. */
export function logOf(settings: Settings, target?: LogTarget): Pino {
  let log = logs.get(settings);
  if (!log) {
    const scrub = secretScrubber(settings as unknown as Record<string, unknown>) ?? ((text: string) => text);
    const text = settings.LOG_FORMAT === 'text';
    const out = target ? (line: string) => target.log(line) : (line: string) => void process.stdout.write(line + '\n');
    const destination = {
      // Personal data and secret settings are taken out of the whole line, whatever field they hide in.
      write: (line: string) => out(asText(text, withoutEmails(scrub(line.trimEnd())))),
    };
    log = pino({ level: target === false ? 'silent' : settings.LOG_LEVEL, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACT, censor: '[redacted]' } }, destination);
    logs.set(settings, log);
  }
  return log;
}

export const HTTP_LOG = Symbol('HTTP_LOG');

interface Timed {
  [STARTED]?: number;
  [REQUEST_ID]?: string;
}
const STARTED = Symbol('started');
const REQUEST_ID = Symbol('requestId');

/**
 * One line per request, with its request id and correlation id; headers and bodies are never logged.
 * Written from Fastify's hooks by hand rather than by pino-http, which made three child loggers for
 * every request and ran the line through pino's key redaction: the line's fields are fixed (ids,
 * method, url, status, time) and none of them is a redacted key, so it goes through a child without
 * key redaction, and still through the destination's scrubbing of secrets and email addresses.
 * Nest's lines inside a request get their logger (with the request id) only when one is written.
 */
@Injectable()
export class HttpLogging implements OnModuleInit {
  constructor(private readonly host: HttpAdapterHost, @Inject(HTTP_LOG) private readonly log: Pino) {}
  onModuleInit(): void {
    // An application context with no HTTP server (the CLI) has no requests to log.
    if (!this.host.httpAdapter) return;
    const root = this.log;
    const lines = root.child({}, { redact: [] });
    const fastify = this.host.httpAdapter.getInstance();
    fastify.addHook('onRequest', (request: { raw: IncomingMessage & Timed }, reply: { raw: ServerResponse }, done: () => void) => {
      const id = randomUUID();
      request.raw[STARTED] = Date.now();
      request.raw[REQUEST_ID] = id;
      // Set here, at the request's start, so every answer (errors too) carries both.
      reply.raw.setHeader('X-Request-Id', id);
      reply.raw.setHeader('X-Correlation-Id', correlationIdOf(request.raw));
      let logger: Pino | undefined;
      const store = Object.create(Store.prototype, { logger: { get: () => (logger ??= root.child({ reqId: id })) } }) as Store;
      storage.run(store, done);
    });
    fastify.addHook('onResponse', (request: { raw: IncomingMessage & Timed }, reply: { raw: ServerResponse }, done: () => void) => {
      const raw = request.raw;
      const status = reply.raw.statusCode;
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (lines.isLevelEnabled(level)) {
        const line = { reqId: raw[REQUEST_ID], req: { id: raw[REQUEST_ID], method: raw.method, url: raw.url }, correlationId: correlationIdOf(raw), res: { statusCode: status } };
        const responseTime = Date.now() - (raw[STARTED] ?? Date.now());
        if (status >= 500) lines[level]({ ...line, err: { type: 'Error', message: `failed with status code ${status}` }, responseTime }, 'request errored');
        else lines[level]({ ...line, responseTime }, 'request completed');
      }
      done();
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

/** For logs: the kind of failure, never its message (which may carry personal data). */
export function errorName(error: unknown): string {
  const e = error as { name?: string; code?: string | number; statusCode?: number; type?: string };
  return [e.name ?? 'Error', e.type, e.statusCode, e.code].filter((x) => x !== undefined && x !== '').join(' ');
}
