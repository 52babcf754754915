import { Controller, Get, Header, Headers, Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiExcludeEndpoint } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventStore } from '../../infra/eventstore/port';
import { GrantExpiry } from '../access/grant-expiry.service';
import { ImportJobs } from '../imports/import-jobs';
import { Settings } from '../config/config';
import { reportWorkers, type WorkerReport } from '../health/workers';
import { ConsumerRunner } from '../messaging/consumer-runner';
import { KafkaPublisher } from '../messaging/kafka-publisher';
import { ProjectionRunner } from '../readmodels/projection-runner';
import { KafkaCommands } from '../messaging/kafka-commands';
import { EVENT_STORE } from '../shared/tokens';
import { ApiError, type ApiErrorBody } from '../shared/api-error';

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Prometheus metrics: request rate and latency per route, projection positions and lag, the process itself.
 * With METRICS_PORT set they are served on a port of their own (one a firewall can keep inside), and only there.
 */
@Injectable()
export class Metrics implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  readonly registry = new Registry();
  private server?: Server;
  private readonly requests = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly settings: Settings,
    runner: ProjectionRunner,
    consumers: ConsumerRunner,
    publisher: KafkaPublisher,
    grantExpiry: GrantExpiry,
    imports: ImportJobs,
    @Inject(EVENT_STORE) store: EventStore,
    commands: KafkaCommands,
  ) {
    // Node's process metrics under their standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, …), as dashboards expect.
    collectDefaultMetrics({ register: this.registry });
    // The projections' fault counts (R-SEC-5), beside their lag.
    runner.registerMetrics(this.registry);
    // Commands that came over Kafka, which HTTP's request histogram never sees.
    commands.registerMetrics(this.registry);
    // The registry collects its metrics side by side: each of the three asks for the same status, read once per scrape.
    let projections: { at: number; status: ReturnType<ProjectionRunner['status']> } | undefined;
    const status = () => {
      if (!projections || Date.now() - projections.at > 250) projections = { at: Date.now(), status: runner.status() };
      return projections.status;
    };
    const projectionGauge = (name: string, help: string, value: (s: Awaited<ReturnType<ProjectionRunner['status']>>[number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['projection'],
        registers: [this.registry],
        async collect() {
          for (const s of await status()) this.set({ projection: s.projection }, value(s));
        },
      });
    projectionGauge('gatehouse_projection_lag_seconds', 'How far behind the log a projection is: seconds since the oldest event it has not applied was recorded (0 when caught up; grows while it is stopped)', (s) => s.lagMs / 1000);
    projectionGauge('gatehouse_projection_behind', '1 while a projection has not reached the head of the log', (s) => (s.behind ? 1 : 0));
    projectionGauge('gatehouse_projection_position', 'Checkpoint of each projection (global log position)', (s) => Number(s.position));

    // Every supervised worker (projections, consumers, the publisher, grant expiry). The registry collects
    // its metrics side by side, so each asks for the same report, measured once per scrape.
    const workers = () => [...runner.workers(), ...consumers.workers(), ...publisher.workers(), ...grantExpiry.workers(), ...imports.workers()];
    let report: { at: number; workers: Promise<WorkerReport[]> } | undefined;
    const reports = () => {
      if (!report || Date.now() - report.at > 250) report = { at: Date.now(), workers: reportWorkers(workers(), store, settings.HEALTH_MAX_LAG_SECONDS) };
      return report.workers;
    };
    new Gauge({
      name: 'gatehouse_worker_lag_seconds',
      help: 'Time since the oldest event a background worker has not handled was recorded (0 when caught up; grows while it is stopped)',
      labelNames: ['worker'],
      registers: [this.registry],
      async collect() {
        for (const w of await reports()) this.set({ worker: w.worker }, w.lagSeconds);
      },
    });
    new Gauge({
      name: 'gatehouse_worker_lag_events',
      help: 'Events a background worker has not handled yet (counted up to 1000; absent while the log cannot be read)',
      labelNames: ['worker'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const w of await reports()) if (w.lagEvents !== undefined) this.set({ worker: w.worker }, w.lagEvents);
      },
    });
    new Gauge({
      name: 'gatehouse_worker_running',
      help: '1 while a background worker runs; 0 while it is restarting after a failure (until caught up again), starting, or stopped',
      labelNames: ['worker'],
      registers: [this.registry],
      async collect() {
        for (const w of await reports()) this.set({ worker: w.worker }, w.state === 'running' ? 1 : 0);
      },
    });
    new Counter({
      name: 'gatehouse_worker_restarts_total',
      help: 'Restarts of a background worker after a failure, since the process started',
      labelNames: ['worker'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const w of workers()) this.inc({ worker: w.name }, w.restarts);
      },
    });
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

  async onApplicationBootstrap(): Promise<void> {
    const port = this.settings.METRICS_PORT;
    // The CLI runs without an HTTP server: nothing to serve then either.
    if (port === undefined || !this.adapter.httpAdapter) return;
    const server = createServer((request, response) => void this.answer(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.settings.HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections(); // a scraper's keep-alive connection must not hold the shutdown
    await closed;
  }

  /** The metrics port: GET /metrics (with the token when one is set), nothing else. */
  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    const refusal = path !== '/metrics' || request.method !== 'GET'
      ? { status: 404, body: { code: 'not_found', message: 'only GET /metrics is served on this port' } }
      : scrapeRefusal(this.settings, request.headers.authorization);
    try {
      if (refusal) {
        response.writeHead(refusal.status, { 'content-type': 'application/json; charset=utf-8', ...(refusal.status === 401 ? { 'www-authenticate': 'Bearer' } : {}) });
        response.end(JSON.stringify(refusal.body));
        return;
      }
      const text = await this.registry.metrics();
      response.writeHead(200, { 'content-type': PROMETHEUS_TEXT });
      response.end(text);
    } catch {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify({ code: 'internal', message: 'internal error' }));
    }
  }
}

/**
 * Who may scrape: with METRICS_TOKEN set, only a caller with `Authorization: Bearer <token>`
 * (compared in constant time). Unset: anyone who reaches the port, as on a fresh `npm start`.
 */
function scrapeRefusal(settings: Settings, authorization: string | undefined): { status: number; body: ApiErrorBody } | undefined {
  const expected = settings.METRICS_TOKEN;
  if (!expected) return undefined;
  const given = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  if (timingSafeEqual(digest(given), digest(expected))) return undefined;
  return { status: 401, body: { code: 'unauthenticated', message: 'metrics need the bearer token set in METRICS_TOKEN' } };
}

@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly settings: Settings,
  ) {}

  @Get()
  @ApiExcludeEndpoint()
  @Header('content-type', PROMETHEUS_TEXT)
  scrape(@Headers('authorization') authorization?: string): Promise<string> {
    // With METRICS_PORT, metrics live on that port only: the API's port answers like any unknown route.
    if (this.settings.METRICS_PORT !== undefined) throw new ApiError(404, { code: 'not_found', message: 'Cannot GET /metrics' });
    const refusal = scrapeRefusal(this.settings, authorization);
    if (refusal) throw new ApiError(refusal.status, refusal.body);
    return this.metrics.registry.metrics();
  }
}
