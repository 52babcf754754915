import 'reflect-metadata';
import { InvalidConfiguration, loadSettings } from './config/config';
import { PROJECTIONS, ProjectionRunner } from './readmodels/projection-runner';
import { openEventStore } from './shared/event-store.provider';
import { openReadStore } from './shared/read-store.provider';

const USAGE = `Gatehouse operator commands (configured by the same environment as the service):
  node dist/src/cli.js projections            status of every projection
  node dist/src/cli.js rebuild <projection>   rebuild into a fresh generation, then switch to it (no downtime)
Projections: ${PROJECTIONS.map((p) => p.name).join(', ')}`;

const log = (fields: Record<string, unknown>) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');

async function main(args: string[]): Promise<number> {
  const [command, name] = args;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 2;
  }
  const settings = loadSettings(process.env);
  const clock = () => new Date();
  const events = await openEventStore(settings, clock);
  const readStore = openReadStore(settings);
  const runner = new ProjectionRunner(events, readStore, clock);
  try {
    switch (command) {
      case 'projections': {
        const head = await events.headPosition();
        for (const p of PROJECTIONS) {
          const generation = await readStore.generation(p.name);
          log({ projection: p.name, generation, checkpoint: String(await readStore.checkpoint(generation <= 1 ? p.name : `${p.name}@g${generation}`)), head: String(head) });
        }
        return 0;
      }
      case 'rebuild': {
        if (!name) throw new Error('rebuild needs a projection name');
        const started = Date.now();
        log({ msg: 'rebuild started', projection: name });
        const done = await runner.rebuild(name, ({ position, head, events: applied }) =>
          log({ msg: 'rebuild progress', projection: name, events: applied, eventsPerSecond: Math.round(applied / ((Date.now() - started) / 1000)), position: String(position), head: String(head) }),
        );
        log({ msg: 'rebuild done; the service now reads the new generation', projection: name, generation: done.generation, events: done.events, seconds: (Date.now() - started) / 1000 });
        return 0;
      }
      default:
        process.stderr.write(`unknown command ${command}\n${USAGE}\n`);
        return 2;
    }
  } finally {
    await events.close();
    await readStore.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${error instanceof InvalidConfiguration ? error.message : `error: ${(error as Error).message}`}\n`);
    process.exit(1);
  },
);
