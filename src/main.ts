import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { createApp } from './app';
import { InvalidConfiguration, loadSettings, scrubSecrets } from './config/config';
import { shutdownTracing, startTracing } from './shared/tracing';

/** SIGTERM/SIGINT: stop taking requests, let those in flight finish, stop workers, exit 0; 10 s at most. */
const STOP_WITHIN_MS = 10_000;

async function main() {
  const settings = loadSettings(process.env, (warning) => new Logger('settings').warn(warning));
  // Before anything is built, so every span of the app has a provider to go to (off without OTEL_EXPORTER_OTLP_ENDPOINT).
  await startTracing(settings);
  const app = await createApp({ settings });
  stopOnSignals(app);
  await app.listen(settings.PORT, settings.HOST);
  const metrics = settings.METRICS_PORT === undefined ? '/metrics' : `http://localhost:${settings.METRICS_PORT}/metrics`;
  new Logger('gatehouse').log({ message: 'listening', url: `http://localhost:${settings.PORT}`, eventStore: settings.EVENT_STORE, docs: '/docs', metrics });
}

function stopOnSignals(app: INestApplication): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    new Logger('gatehouse').log({ message: 'stopping', signal });
    setTimeout(() => {
      new Logger('gatehouse').error({ message: `not stopped within ${STOP_WITHIN_MS / 1000} s: exiting` });
      process.exit(1);
    }, STOP_WITHIN_MS).unref();
    app.close().then(shutdownTracing).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${scrubSecrets(`stop failed: ${describe(error)}`, process.env)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** A failed start says what failed, never a secret setting's value (a driver's error may quote its URL). */
function failedStart(error: unknown): never {
  const configuration = error instanceof InvalidConfiguration;
  const text = configuration ? error.message : `start failed: ${describe(error)}`;
  process.stderr.write(`${scrubSecrets(text, process.env)}\n`);
  process.exit(configuration ? 2 : 1);
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}

main().catch(failedStart);
