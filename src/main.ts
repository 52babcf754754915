import 'reflect-metadata';
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
  process.stdout.write(
    JSON.stringify({ level: 'log', msg: 'gatehouse listening', url: `http://localhost:${settings.PORT}`, eventStore: settings.EVENT_STORE, docs: '/docs' }) + '\n',
  );
}

void main();
