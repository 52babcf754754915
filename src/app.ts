import { ConsoleLogger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ServerKafka, type MicroserviceOptions } from '@nestjs/microservices';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import secureJson from 'secure-json-parse';
import { AppModule, type AppOptions } from './app.module';
import { KafkaCommands } from './messaging/kafka-commands';
import { topicsOf } from './messaging/kafka-publisher';
import { ApiError } from './shared/api-error';

const BODY_LIMIT = 1024 * 1024;

/** Builds the HTTP app (used by main.ts and by the API tests). */
export async function createApp(options: AppOptions & { logger?: false | LoggerService }): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(options),
    new FastifyAdapter({ bodyLimit: BODY_LIMIT }),
    {
      logger: options.logger ?? new ConsoleLogger({ json: options.settings.LOG_FORMAT === 'json' }),
      abortOnError: false,
      // Our own JSON parser (acceptJson) answers malformed bodies in the API's error shape.
      bodyParser: false,
    },
  );
  app.enableShutdownHooks();
  acceptJson(app);
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Gatehouse')
      .setDescription('People of many organizations: invitations, accounts, roles, access, credentials — with their full history.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  const brokers = options.settings.KAFKA_BROKERS;
  if (brokers && options.settings.CONSUMERS === 'on') {
    // SPEC 3.2: commands in over Kafka, request/reply on gatehouse.commands (the topic's name comes from settings).
    const topics = topicsOf(options.settings);
    const server = new ServerKafka({
      client: { clientId: 'gatehouse', brokers: brokers.split(','), retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } },
      consumer: { groupId: `${topics.groupPrefix}.commands`, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2_000 } },
      // Replies need no order between them; commands of all partitions run side by side (bench/kafka).
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
  if (brokers && options.settings.CONSUMERS === 'on') await app.startAllMicroservices();
  return app;
}

/** Fastify's JSON parser, with a malformed body answered in the API's error shape (`malformed_json`) and prototype poisoning refused. */
function acceptJson(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, secureJson.parse(body as string, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch {
      done(new ApiError(400, { code: 'malformed_json', message: 'the request body is not valid JSON' }), undefined);
    }
  });
}
