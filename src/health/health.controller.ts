import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { EventStore } from '../../infra/eventstore/port';
import type { ReadStore } from '../../infra/readstore/port';
import { GrantExpiry } from '../access/grant-expiry.service';
import { ImportJobs } from '../imports/import-jobs';
import { Settings } from '../config/config';
import { ConsumerRunner } from '../messaging/consumer-runner';
import { KafkaPublisher } from '../messaging/kafka-publisher';
import { ProjectionRunner } from '../readmodels/projection-runner';
import { EVENT_STORE, READ_STORE } from '../shared/tokens';
import { reportWorkers, within } from './workers';
import { HealthDto, LiveDto } from './dto';

const CHECK_TIMEOUT_MS = 2000;

@ApiTags('ops')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(READ_STORE) private readonly readStore: ReadStore,
    private readonly runner: ProjectionRunner,
    private readonly consumers: ConsumerRunner,
    private readonly publisher: KafkaPublisher,
    private readonly grantExpiry: GrantExpiry,
    private readonly imports: ImportJobs,
    private readonly settings: Settings,
  ) {}

  /** Liveness: the process answers. */
  @Get('live')
  @HttpCode(200)
  @ApiOperation({ operationId: 'live', summary: 'Liveness: the process answers' })
  @ApiOkResponse({ type: LiveDto })
  live() {
    return { status: 'ok' };
  }

  /**
   * Readiness: every configured store answers, and every background worker this
   * replica runs (projections, consumers, the Kafka publisher, grant expiry) is
   * running and no more than HEALTH_MAX_LAG_SECONDS behind the log; 503 otherwise
   * (`unavailable` when a store does not answer, `behind` when a worker is stopped,
   * restarting, not yet started or lagging), 200 again once it has caught up. A
   * projection that skipped events it cannot apply makes the service `degraded`,
   * not unready: every instance meets the same event, and taking them all out of
   * service would stop every org for the fault of one (R-SEC-5).
   */
  @Get()
  @ApiOperation({ operationId: 'ready', summary: 'Readiness: stores answer and every worker has caught up (503 otherwise, with the same report)' })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto, description: 'not ready: a store does not answer, or a worker is stopped or behind' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const eventStore = await within(this.store.ping(), CHECK_TIMEOUT_MS)
      .then(() => ({ status: 'up', adapter: this.store.name }))
      .catch((error: Error) => ({ status: 'down', adapter: this.store.name, reason: error.message }));
    const readStore = await within(this.readStore.ping(), CHECK_TIMEOUT_MS)
      .then(() => ({ status: 'up', adapter: this.readStore.name }))
      .catch((error: Error) => ({ status: 'down', adapter: this.readStore.name, reason: error.message }));
    const projections = await within(this.runner.status(), CHECK_TIMEOUT_MS).catch(() => []);
    const workers = await reportWorkers(
      [...this.runner.workers(), ...this.consumers.workers(), ...this.publisher.workers(), ...this.grantExpiry.workers(), ...this.imports.workers()],
      this.store,
      this.settings.HEALTH_MAX_LAG_SECONDS,
    );
    const up = eventStore.status === 'up' && readStore.status === 'up';
    const caughtUp = workers.every((w) => w.ready);
    void reply.status(up && caughtUp ? 200 : 503);
    const head = (await within(this.store.headPosition(), CHECK_TIMEOUT_MS).catch(() => undefined)) ?? 0n;
    const consumers = this.consumers.status().map((c) => ({ ...c, behind: BigInt(c.position) < head }));
    const publisher = this.publisher.enabled ? { ...this.publisher.status(), behind: this.publisher.position < head } : { enabled: false };
    const degraded = projections.some((p) => p.skippedEvents > 0);
    return { status: !up ? 'unavailable' : !caughtUp ? 'behind' : degraded ? 'degraded' : 'ok', checks: { eventStore, readStore }, workers, projections, consumers, kafka: publisher };
  }
}
