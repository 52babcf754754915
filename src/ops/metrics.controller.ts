import { Controller, Get, Header, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ProjectionRunner } from '../readmodels/projection-runner';

/** Prometheus metrics: request rate and latency per route, projection positions and lag, the process itself. */
@Injectable()
export class Metrics implements OnModuleInit {
  readonly registry = new Registry();
  private readonly requests = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(
    private readonly adapter: HttpAdapterHost,
    runner: ProjectionRunner,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_' });
    // One collect fills all three: the registry asks the first registered gauge first.
    const lag: Gauge<'projection'> = new Gauge({
      name: 'gatehouse_projection_lag_ms',
      help: 'How far behind the log a projection is, in ms (0 when caught up)',
      labelNames: ['projection'],
      registers: [this.registry],
      async collect() {
        for (const s of await runner.status()) {
          lag.set({ projection: s.projection }, s.lagMs);
          behind.set({ projection: s.projection }, s.behind ? 1 : 0);
          position.set({ projection: s.projection }, Number(s.position));
        }
      },
    });
    const behind = new Gauge({ name: 'gatehouse_projection_behind', help: '1 while a projection has not reached the head of the log', labelNames: ['projection'], registers: [this.registry] });
    const position = new Gauge({ name: 'gatehouse_projection_position', help: 'Checkpoint of each projection (global log position)', labelNames: ['projection'], registers: [this.registry] });
  }

  onModuleInit(): void {
    // No HTTP server in an application context (the CLI): nothing to observe.
    if (!this.adapter.httpAdapter) return;
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', async (request, reply) => {
      // The route pattern, not the URL: ids would make every request its own series.
      const route = request.routeOptions?.url ?? 'unmatched';
      this.requests.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
  }
}

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @ApiExcludeEndpoint()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
