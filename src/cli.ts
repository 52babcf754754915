import 'reflect-metadata';
import { CommandBus } from '@nestjs/cqrs';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppModule } from './app.module';
import { verifyFile, verifyStore, type Verdict } from './audit/verify';
import { historyLines } from './audit/history';
import { InvalidConfiguration, loadSettings, type Settings } from './config/config';
import { CreateOrganization } from './organizations/create-organization.handler';
import { PROJECTIONS, ProjectionRunner } from './readmodels/projection-runner';
import { openSecretBox, openServiceEventStore } from './shared/event-store.provider';
import { openReadStore } from './shared/read-store.provider';
import { importMembers } from './imports/import-cli';

const USAGE = `Gatehouse operator commands (configured by the same environment as the service):
  node dist/src/cli.js projections            status of every projection
  node dist/src/cli.js rebuild <projection>   rebuild into a fresh generation, then switch to it (no downtime)
  GATEHOUSE_ADMIN_PASSWORD=… node dist/src/cli.js create-system-org --name N --email E --first F --last L
                                              the org whose admins administer every org; prints its id for SYSTEM_ADMIN_ORG
  node dist/src/cli.js verify                 check the hash chain of every stream in the event store (R-AUD-3)
  node dist/src/cli.js verify --file F        check a history export (JSON lines); each stream's first line is taken as given
                                              both print the first broken link and exit 1, or the counts and exit 0
  node dist/src/cli.js export --org O --out F [--from ISO] [--to ISO] [--user U] [--types A,B]
                                              an org's history as JSON lines, as GET /v1/orgs/{org}/history answers it (R-AUD-2)
  node dist/src/cli.js import F --org O [--mode setup-email|invite|silent] [--format csv|ndjson]
                                              bulk import (SPEC 5.6) as the org's Owner, progress on stderr; exit 1 if the job failed
Projections: ${PROJECTIONS.map((p) => p.name).join(', ')}`;

const log = (fields: Record<string, unknown>) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');
const progress = (fields: Record<string, unknown>) => process.stderr.write(JSON.stringify({ time: new Date().toISOString(), ...fields }) + '\n');

async function main(args: string[]): Promise<number> {
  const [command, name] = args;
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE + '\n');
    return command ? 0 : 2;
  }
  // An auditor checks an export with no Gatehouse configuration at all.
  const file = flagOf(args, 'file');
  if (command === 'verify' && file) return verdict(await verifyFile(file, progress), { file });
  // Operator commands never send the service's emails or Stripe calls: the running service does.
  const settings = loadSettings({ ...process.env, CONSUMERS: 'off' });
  if (command === 'create-system-org') return createSystemOrg(settings, args.slice(1));
  if (command === 'import') return importMembers(() => NestFactory.createApplicationContext(AppModule.forRoot({ settings }), { logger: false }), args.slice(1), log, progress);
  const clock = () => new Date();
  const readStore = openReadStore(settings);
  // As the service reads it: projections rebuilt here see personal data decrypted, an export shows it under `personal`.
  const events = await openServiceEventStore(settings, clock, openSecretBox(settings), () => readStore);
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
      case 'verify': {
        const outcome = await verifyStore(events, progress);
        const { chainedAt, legacyEvents, legacyThrough } = await events.chainOrigin();
        const legacy = legacyEvents
          ? { legacyEvents, chainedAt, legacyThrough: legacyThrough?.toString(), legacyNote: `the ${legacyEvents} events up to position ${legacyThrough} were stored before the hash chain and chained at ${chainedAt}: their hashes prove them unchanged since then, not since they were appended` }
          : { legacyEvents };
        return verdict(outcome, { store: events.name, ...legacy });
      }
      case 'export':
        return await exportHistory(events, args.slice(1));
      case 'rebuild': {
        if (!name) throw new Error('rebuild needs a projection name');
        const started = Date.now();
        log({ msg: 'rebuild started', projection: name });
        const done = await runner.rebuild(name, ({ position, head, events: applied }) =>
          log({ msg: 'rebuild progress', projection: name, events: applied, eventsPerSecond: Math.round(applied / ((Date.now() - started) / 1000)), position: String(position), head: String(head) }),
        );
        log({ msg: 'rebuild done; the service now reads the new generation', projection: name, generation: done.generation, events: done.events, skipped: done.skipped, seconds: (Date.now() - started) / 1000 });
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

function flagOf(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/** R-AUD-2: the lines GET /v1/orgs/{org}/history answers, into a file that `verify --file` accepts. */
async function exportHistory(store: Awaited<ReturnType<typeof openServiceEventStore>>, args: string[]): Promise<number> {
  const [orgId, out, from, to, userId, types] = ['org', 'out', 'from', 'to', 'user', 'types'].map((flag) => flagOf(args, flag));
  if (!orgId || !out) throw new Error('export needs --org and --out');
  const time = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const at = new Date(value);
    if (Number.isNaN(at.getTime())) throw new Error(`--${name} is not an ISO time: ${value}`);
    return at;
  };
  const query = { orgId, from: time('from', from), to: time('to', to), userId, types: types?.split(',') };
  let lines = 0;
  let last = Date.now();
  async function* counted() {
    for await (const chunk of historyLines(store, query, store.personal)) {
      lines += chunk.split('\n').length - 1;
      if (Date.now() - last > 2000) {
        last = Date.now();
        progress({ msg: 'export progress', org: orgId, lines });
      }
      yield chunk;
    }
  }
  await pipeline(Readable.from(counted()), createWriteStream(out));
  log({ msg: 'history exported: check it with verify --file', org: orgId, file: out, lines });
  return 0;
}

function verdict(outcome: Verdict, about: Record<string, unknown>): number {
  if (outcome.ok) {
    log({ msg: 'every hash chain holds', ...about, ...outcome.counts });
    // Honest about what erasure cannot reach: events from before encryption keep their personal data in clear.
    if (outcome.counts.clearPersonal > 0) log({ msg: 'events written before encryption hold personal data in clear: an erasure cannot remove it from them', ...about, events: outcome.counts.clearPersonal });
    return 0;
  }
  log({ msg: 'broken link', ...about, ...outcome.broken, verifiedBefore: outcome.counts.events });
  return 1;
}

/** R-SYS-1: the first system admin is the Owner of a new org; SYSTEM_ADMIN_ORG then names it. The password comes from the environment, never the command line. */
async function createSystemOrg(settings: Settings, args: string[]): Promise<number> {
  const [name, email, firstName, lastName] = ['name', 'email', 'first', 'last'].map((flag) => flagOf(args, flag));
  const password = process.env.GATEHOUSE_ADMIN_PASSWORD;
  if (!name || !email || !firstName || !lastName || !password) throw new Error('create-system-org needs --name --email --first --last and GATEHOUSE_ADMIN_PASSWORD');
  const app = await NestFactory.createApplicationContext(AppModule.forRoot({ settings }), { logger: false });
  try {
    const meta = { actor: { kind: 'system' as const, id: 'cli' }, correlationId: randomUUID(), causationId: randomUUID() };
    const created = await app.get(CommandBus).execute(new CreateOrganization({ name, preset: 'team', owner: { email, firstName, lastName, password } }, meta));
    log({ msg: 'system org created: start Gatehouse with SYSTEM_ADMIN_ORG set to its id', orgId: created.orgId, ownerId: created.ownerId });
    return 0;
  } finally {
    await app.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${error instanceof InvalidConfiguration ? error.message : `error: ${(error as Error).message}`}\n`);
    process.exit(1);
  },
);
