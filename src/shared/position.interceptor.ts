import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { map } from 'rxjs';

/** A command's answer carries the global position of its last event, in the body and the Gatehouse-Position header (SPEC 3.1). */
@Injectable()
export class PositionInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler) {
    return next.handle().pipe(
      map((body: unknown) => {
        if (!body || typeof body !== 'object' || typeof (body as { position?: unknown }).position !== 'bigint') return body;
        const position = String((body as { position: bigint }).position);
        void context.switchToHttp().getResponse<FastifyReply>().header('Gatehouse-Position', position);
        return { ...body, position };
      }),
    );
  }
}
