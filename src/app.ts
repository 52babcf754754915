import { Logger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { SwaggerModule } from '@nestjs/swagger';
import { AppModule, type AppOptions } from './app.module';
import { scrubbingLogger } from './config/scrubbing-logger';
import { logOf, PinoNestLogger } from './shared/logging';
import { KafkaCommands } from './messaging/kafka-commands';
import { KafkaCommandServer } from './messaging/kafka-command-server';
import { connectionOptions } from '../infra/messaging/kafka';
import type { MessageBus } from '../infra/messaging/port';
import { MESSAGE_BUS } from './shared/tokens';
import { answerClientError, answerFrameworkError } from './shared/api-error';
import { parseJsonBody } from './shared/json-body';
import { acceptIdempotencyKeys } from './shared/idempotency-http';
import { traceRequests } from './shared/tracing';
import { openApiDocument } from './openapi/document';

const BODY_LIMIT = 1024 * 1024;

/** Builds the HTTP app (used by main.ts and by the API tests). */
export async function createApp(options: AppOptions & { logger?: false | LoggerService }): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(options),
    // Fastify answers some requests itself (a too-long path parameter, a malformed URL, oversized headers): in the API's error shape too.
    // TRUST_PROXY decides whose X-Forwarded-For counts: request.ip, which throttles and login activity key on, follows it.
    new FastifyAdapter({ bodyLimit: BODY_LIMIT, trustProxy: options.settings.trustProxy, frameworkErrors: answerFrameworkError, clientErrorHandler: answerClientError }),
    {
      // Whatever logs, a secret setting's value never shows (a driver's bootstrap error may quote its URL).
      logger: options.logger === false ? false : scrubbingLogger(options.logger ?? new PinoNestLogger(logOf(options.settings, options.logger)), options.settings),
      abortOnError: false,
      // Our own JSON parser (acceptJson) answers malformed bodies in the API's error shape.
      bodyParser: false,
    },
  );
  traceRequests(app.getHttpAdapter().getInstance());
  if (options.settings.corsOrigins.length > 0) {
    // A browser UI on another origin (issue 18): only the origins named, with the headers SPEC 3.1 uses.
    app.enableCors({
      origin: options.settings.corsOrigins,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'gatehouse-min-position', 'x-correlation-id'],
      exposedHeaders: ['gatehouse-position', 'x-correlation-id', 'idempotent-replay', 'retry-after'],
      maxAge: 600,
    });
  }
  acceptJson(app);
  acceptIdempotencyKeys(app);
  const document = openApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  const bus = app.get<typeof MESSAGE_BUS, MessageBus | null>(MESSAGE_BUS);
  const takesCommands = bus !== null && options.settings.CONSUMERS === 'on';
  if (takesCommands) {
    // SPEC 3.2: commands in over Kafka, request/reply on gatehouse.commands (the topic's name comes from settings).
    const topics = bus.topics;
    const server = new KafkaCommandServer({
      client: { clientId: 'gatehouse', ...connectionOptions(options.settings.kafka), retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } },
      consumer: { groupId: `${topics.groupPrefix}.commands`, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } },
      // Replies need no order between them; commands of all partitions, and of one partition's batch, run side by side (bench/kafka).
      producer: {},
      subscribe: { fromBeginning: false },
      run: { partitionsConsumedConcurrently: options.settings.KAFKA_PARTITIONS },
    });
    const commands = app.get(KafkaCommands);
    server.addHandler(topics.commands, (message, context) => commands.handle(message, context));
    app.connectMicroservice<MicroserviceOptions>({ strategy: server });
  }
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  if (takesCommands) await startCommandTransport(app, bus);
  return app;
}

/**
 * The Kafka command transport. With a broker answering, it has joined its group
 * before the app is ready (a command sent right after finds a consumer); with none,
 * it joins in the background, trying again with growing waits, so a broker that is
 * down at start delays commands over Kafka, never the HTTP port (issue 13).
 */
async function startCommandTransport(app: NestFastifyApplication, bus: MessageBus): Promise<void> {
  if (await bus.reach().then(() => true, () => false)) return void (await app.startAllMicroservices());
  const logger = new Logger('kafka-commands');
  let closed = false;
  const close = app.close.bind(app);
  app.close = () => {
    closed = true;
    return close();
  };
  void (async () => {
    for (let wait = 1_000; !closed; wait = Math.min(wait * 2, 30_000)) {
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
      if (closed || !(await bus.reach().then(() => true, () => false))) continue;
      try {
        await app.startAllMicroservices();
        logger.log({ message: 'taking commands from Kafka' });
        return;
      } catch (error) {
        logger.warn({ message: 'Kafka command transport not started, trying again', error: (error as Error).name, retryInMs: wait });
      }
    }
  })();
}

/** JSON bodies through parseJsonBody, and no other kind: anything refused is answered in the API's error shape before a later stage sees it (R-SEC-5). */
function acceptJson(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('application/json');
  fastify.removeContentTypeParser('text/plain'); // every body is JSON: anything else is 415 unsupported_media_type
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (request, body, done) => {
    try {
      done(null, parseJsonBody(request.headers['content-type'], body as Buffer));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
