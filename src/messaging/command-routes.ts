import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import type { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ExternalContextCreator, ModulesContainer } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { RouteParamsFactory } from '@nestjs/core/router/route-params-factory';
import { ApiErrorFilter } from '../shared/api-error';
import { parseJsonBody } from '../shared/json-body';
import { COMMAND_TYPE, type CommandTypeOptions } from './command-type';

/** A command type's HTTP route, as the controllers declare it: `{org}`, `{user}`, … are payload fields. */
export interface CommandRoute {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
}

/** What running a command gave: the controller's answer, or the status and body HTTP would have answered with. */
export type Outcome = { ok: true; body: unknown } | { ok: false; status: number; body: ErrorBody };
type ErrorBody = { code?: unknown; message?: unknown; details?: unknown };

/** As Fastify's defaults are in src/app.ts (bodyLimit) and find-my-way's (maxParamLength). */
const BODY_LIMIT = 1024 * 1024;
const MAX_PARAM_LENGTH = 100;
/** Commands over Kafka come from no socket: as `inject` made them, from the loopback address. */
const LOCAL_IP = '127.0.0.1';

interface Entry extends CommandRoute {
  params: string[];
  query: string[];
  template: string;
  run: (request: unknown, reply: unknown) => Promise<unknown>;
}

const paramsFactory = new RouteParamsFactory();

/**
 * The command types of `gatehouse.commands`, read off the controllers' `@CommandType` at boot,
 * each run through the same Nest pipeline as its HTTP route — the controller's guards
 * (SessionGuard, SystemAdminGuard), the global and parameter pipes (ValidationPipe on the DTO,
 * the id pipes), the interceptors, and the API's error filter — without Fastify's request
 * and response round trip (light-my-request), which was most of the difference from HTTP.
 */
export class CommandRoutes {
  private readonly entries = new Map<string, Entry>();
  private readonly errors = new ApiErrorFilter();

  constructor(modules: ModulesContainer, contexts: ExternalContextCreator) {
    for (const [moduleKey, module] of modules) {
      // The creator looks for a host's module among providers only, and a controller is none: its guards, pipes and
      // interceptors are looked up in its module, so the module is named here, else they would silently be none
      // (test/api/kafka-commands.spec.ts fails then: a command without credentials would not be refused).
      const creator = Object.assign(Object.create(contexts) as object, { getHostModuleKey: () => moduleKey }) as unknown as ExternalContextCreator;
      for (const wrapper of module.controllers.values()) {
        const controller = wrapper.metatype as (new (...args: never[]) => object) | undefined;
        if (!controller || !wrapper.instance) continue;
        const base = pathOf(Reflect.getMetadata(PATH_METADATA, controller));
        const instance = wrapper.instance as Record<string, (...args: unknown[]) => unknown>;
        for (const name of Object.getOwnPropertyNames(controller.prototype)) {
          const handler = (controller.prototype as Record<string, unknown>)[name];
          if (typeof handler !== 'function') continue;
          const declared = Reflect.getMetadata(COMMAND_TYPE, handler) as ({ type: string } & CommandTypeOptions) | undefined;
          if (!declared) continue;
          if (this.entries.has(declared.type)) throw new Error(`command type ${declared.type} is declared twice`);
          const template = `/${[base, pathOf(Reflect.getMetadata(PATH_METADATA, handler))].filter(Boolean).join('/')}`.replace(/\/+/g, '/');
          const run = creator.create(instance, handler as (...args: unknown[]) => unknown, name, ROUTE_ARGS_METADATA, {
            // Nest's route-argument factory, given the (request, reply) pair the external context passes.
            exchangeKeyForValue: (key: number, data: unknown, args: unknown[]) => paramsFactory.exchangeKeyForValue(key as RouteParamtypes, data as string, { req: args[0] as Record<string, unknown>, res: args[1], next: () => undefined }),
          }, undefined, undefined, { guards: true, interceptors: true, filters: false }, 'http') as Entry['run'];
          this.entries.set(declared.type, {
            method: RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod] as CommandRoute['method'],
            path: template.replace(/:(\w+)/g, '{$1}') + (declared.query?.length ? `?${declared.query.map((q) => `${q}={${q}}`).join('&')}` : ''),
            params: [...template.matchAll(/:(\w+)/g)].map((m) => m[1]),
            query: declared.query ?? [],
            template,
            run,
          });
        }
      }
    }
  }

  /** Every command type and its route (SPEC 5.7's coverage walk compares them with the HTTP API). */
  get routes(): Record<string, CommandRoute> {
    return Object.fromEntries([...this.entries].map(([type, { method, path }]) => [type, { method, path }]));
  }

  has(type: string): boolean {
    return this.entries.has(type);
  }

  /** Runs a command as its HTTP route would: `{org}`, `{user}`, … and the query fields taken from the payload, the rest the body. */
  async run(type: string, payload: Record<string, unknown>, authorization: string | undefined): Promise<Outcome> {
    const entry = this.entries.get(type)!;
    const body = { ...payload };
    const take = (names: string[]): Record<string, string> | string => {
      const values: Record<string, string> = {};
      for (const name of names) {
        const value = body[name];
        delete body[name];
        if (typeof value !== 'string' || value === '') return name;
        values[name] = value;
      }
      return values;
    };
    const params = take(entry.params);
    if (typeof params === 'string') return refused(422, 'validation_failed', `payload.${params} is required`);
    const query = take(entry.query);
    if (typeof query === 'string') return refused(422, 'validation_failed', `payload.${query} is required`);
    if (Object.values(params).some((v) => encodeURIComponent(v).length > MAX_PARAM_LENGTH)) return refused(414, 'uri_too_long', 'a path segment of the URL is too long');
    const hasBody = entry.method !== 'DELETE' || Object.keys(body).length > 0;
    const headers: Record<string, string> = { ...(authorization ? { authorization } : {}), ...(hasBody ? { 'content-type': 'application/json' } : {}) };
    const url = entry.template.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name])) + (entry.query.length ? `?${new URLSearchParams(query)}` : '');
    const request: Record<string, unknown> = { method: entry.method, url, params, query, headers, ip: LOCAL_IP, raw: { headers }, routeOptions: { url: entry.template, method: entry.method } };
    const reply = new RecordedReply();
    try {
      if (hasBody) {
        // The HTTP body's checks, on the same bytes (R-SEC-5: depth, prototype keys, well-formed strings, size).
        let text: string;
        try {
          text = JSON.stringify(body);
        } catch {
          return refused(400, 'too_deep', 'the payload is nested too deeply');
        }
        if (Buffer.byteLength(text) > BODY_LIMIT) return refused(413, 'body_too_large', 'the payload is larger than 1 MiB');
        request.body = parseJsonBody('application/json', Buffer.from(text));
      }
      return { ok: true, body: await entry.run(request, reply) };
    } catch (error) {
            // The API's one error mapping, as the HTTP answer would carry it.
      this.errors.catch(error, new ExecutionContextHost([request, reply]));
      return { ok: false, status: reply.statusCode, body: (reply.payload ?? {}) as ErrorBody };
    }
  }
}

function pathOf(metadata: unknown): string {
  const path = Array.isArray(metadata) ? metadata[0] : metadata;
  return typeof path === 'string' ? path.replace(/^\/+|\/+$/g, '') : '';
}

function refused(status: number, code: string, message: string): Outcome {
  return { ok: false, status, body: { code, message } };
}

/** What the error filter answers with, kept instead of sent. */
class RecordedReply {
  statusCode = 200;
  payload: unknown;
  status(code: number): this {
    this.statusCode = code;
    return this;
  }
  code(code: number): this {
    return this.status(code);
  }
  header(): this {
    return this;
  }
  send(payload: unknown): this {
    this.payload = payload;
    return this;
  }
}
