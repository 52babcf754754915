import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app';
import { InvalidConfiguration, loadSettings } from './config/config';

async function main() {
  let settings;
  try {
    settings = loadSettings(process.env);
  } catch (error) {
    if (error instanceof InvalidConfiguration) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const app = await createApp({ settings });
  await app.listen(settings.PORT, settings.HOST);
  const metrics = settings.METRICS_PORT === undefined ? '/metrics' : `http://localhost:${settings.METRICS_PORT}/metrics`;
  new Logger('gatehouse').log({ message: 'listening', url: `http://localhost:${settings.PORT}`, eventStore: settings.EVENT_STORE, docs: '/docs', metrics });
}

void main();
