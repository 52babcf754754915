import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

/**
 * A command's answer carries the global position of its last event, in the body and the Gatehouse-Position header (SPEC 3.1).
 * A Fastify hook on the answer about to be serialized, not a Nest interceptor: every interceptor wraps every
 * request in an rxjs pipeline and an async resource, which cost more than this check does.
 */
@Injectable()
export class PositionHook implements OnModuleInit {
  constructor(private readonly host: HttpAdapterHost) {}

  onModuleInit(): void {
    // An application context with no HTTP server (the CLI) answers nothing.
    if (!this.host.httpAdapter) return;
    this.host.httpAdapter.getInstance().addHook('preSerialization', (_request: unknown, reply: { header(name: string, value: string): unknown }, body: unknown, done: (error: null, body: unknown) => void) => {
      if (!body || typeof body !== 'object' || typeof (body as { position?: unknown }).position !== 'bigint') return done(null, body);
      const position = String((body as { position: bigint }).position);
      reply.header('Gatehouse-Position', position);
      done(null, { ...body, position });
    });
  }
}
