import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { EventStore } from '../../infra/eventstore/port';
import type { ReadStore } from '../../infra/readstore/port';
import { ConsumerRunner } from '../messaging/consumer-runner';
import { KafkaPublisher } from '../messaging/kafka-publisher';
import { ProjectionRunner } from '../readmodels/projection-runner';
import { EVENT_STORE, READ_STORE } from '../shared/tokens';

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
  ) {}

  /** Liveness: the process answers. */
  @Get('live')
  @HttpCode(200)
  live() {
    return { status: 'ok' };
  }

  /**
   * Readiness: every configured store answers; 503 when one does not. A projection
   * that skipped events it cannot apply makes the service `degraded`, not unready:
   * every instance meets the same event, and taking them all out of service would
   * stop every org for the fault of one (R-SEC-5).
   */
  @Get()
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const eventStore = await within(this.store.ping(), CHECK_TIMEOUT_MS)
      .then(() => ({ status: 'up', adapter: this.store.name }))
      .catch((error: Error) => ({ status: 'down', adapter: this.store.name, reason: error.message }));
    const readStore = await within(this.readStore.ping(), CHECK_TIMEOUT_MS)
      .then(() => ({ status: 'up', adapter: this.readStore.name }))
      .catch((error: Error) => ({ status: 'down', adapter: this.readStore.name, reason: error.message }));
    const projections = await within(this.runner.status(), CHECK_TIMEOUT_MS).catch(() => []);
    const up = eventStore.status === 'up' && readStore.status === 'up';
    void reply.status(up ? 200 : 503);
    // Consumers and Kafka publication lag behind a broker or Stripe outage without making the service unready.
    const head = (await within(this.store.headPosition(), CHECK_TIMEOUT_MS).catch(() => undefined)) ?? 0n;
    const consumers = this.consumers.status().map((c) => ({ ...c, behind: BigInt(c.position) < head }));
    const publisher = this.publisher.enabled ? { ...this.publisher.status(), behind: this.publisher.position < head } : { enabled: false };
    const degraded = projections.some((p) => p.status !== 'ok');
    return { status: !up ? 'unavailable' : degraded ? 'degraded' : 'ok', checks: { eventStore, readStore }, projections, consumers, kafka: publisher };
  }
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
