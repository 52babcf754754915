import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import type { EventStore } from '../../infra/eventstore/port';
import { MongoReadStore } from '../../infra/readstore/mongo';
import type { Doc, ReadStore } from '../../infra/readstore/port';
import { SqliteReadStore } from '../../infra/readstore/sqlite';
import { PROJECTIONS, ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE } from '../../src/shared/tokens';
import { createOrg, startApp, type TestApp } from '../support/app';

const ROOT = resolve(__dirname, '../..');

/** Node's arguments that run test/support/projector-process.ts, compiled on the fly as Jest does. */
function projectorProcess(): string[] {
  const hook = `
const swc = require(${JSON.stringify(join(ROOT, 'node_modules/@swc/core'))});
const fs = require('node:fs');
const options = { swcrc: false, module: { type: 'commonjs' }, jsc: { target: 'es2022', parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true }, keepClassNames: true } };
require.extensions['.ts'] = (module, filename) => module._compile(swc.transformSync(fs.readFileSync(filename, 'utf8'), { ...options, filename }).code, filename);
require(${JSON.stringify(join(ROOT, 'test/support/projector-process.ts'))});
`;
  return ['-e', hook];
}

/**
 * Runs the projector until `killWhen` says so for a line it printed (then SIGKILL, and
 * resolves once the process is gone) or until it has caught up. Resolves how it ended.
 */
function runProjector(env: Record<string, string>, killWhen: (line: string) => boolean): Promise<'killed' | 'caught-up'> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, projectorProcess(), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let stderr = '';
    let outcome: 'killed' | 'caught-up' | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith('@@') || outcome) continue;
        if (line === '@@caught-up') outcome = 'caught-up';
        else if (killWhen(line.slice(2))) {
          outcome = 'killed';
          child.kill('SIGKILL');
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code, signal) => {
      if (outcome === 'killed' && signal === 'SIGKILL') resolvePromise('killed');
      else if (outcome === 'caught-up' && code === 0) resolvePromise('caught-up');
      else reject(new Error(`projector ended with ${code ?? signal}: ${stderr.slice(-2000)}`));
    });
  });
}

async function dump(store: ReadStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const projection of PROJECTIONS) {
    for (const collection of projection.collections) out[collection] = await store.find({ collection, where: {}, orderBy: [['id', 'asc']], limit: 1_000_000 });
  }
  return out;
}

/** Whether some document holds an event past its projection's checkpoint: the kill came between documents and checkpoint. */
async function documentsAheadOfCheckpoint(store: ReadStore): Promise<boolean> {
  for (const projection of PROJECTIONS) {
    const checkpoint = await store.checkpoint(projection.name);
    for (const collection of projection.collections) {
      const docs = await store.find<Doc>({ collection, where: {}, orderBy: [['id', 'asc']], limit: 1_000_000 });
      if (docs.some((d) => d._pos !== undefined && BigInt(d._pos) > checkpoint)) return true;
    }
  }
  return false;
}

describe('a projector SIGKILLed between documents and checkpoint (issue 14, item 8)', () => {
  let t: TestApp;
  let events: EventStore;

  beforeAll(async () => {
    t = await startApp();
    events = t.app.get(EVENT_STORE);
    for (let o = 0; o < 2; o++) {
      const org = await createOrg(t);
      const m = `/v1/orgs/${org.orgId}/members`;
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await t.request('POST', m, { token: org.token, body: { email: `k${o}-${i}@example.com`, firstName: `K${i}`, lastName: `Org${o}`, mode: 'setup-email' } })).body.userId);
      await t.request('PUT', `${m}/${ids[1]}/role`, { token: org.token, body: { role: 'admin' } });
      await t.request('DELETE', `${m}/${ids[2]}`, { token: org.token });
      await t.request('PATCH', `${m}/${ids[3]}`, { token: org.token, body: { firstName: 'Renamed' } });
      await t.request('POST', `${m}/${ids[4]}/grants`, { token: org.token, body: { permission: 'users.list.any', reason: 'x' } });
    }
  });
  afterAll(() => t.close());

  const adapters: Array<[string, () => Promise<{ env: Record<string, string>; open: () => ReadStore; cleanup: () => Promise<void> }>]> = [
    [
      'embedded (SQLite)',
      async () => {
        const file = join(t.dataDir, `killed-${randomUUID().slice(0, 8)}.db`);
        return { env: { PROJECTOR_SQLITE: file }, open: () => new SqliteReadStore(file), cleanup: async () => undefined };
      },
    ],
    [
      'MongoDB (FerretDB, or MONGODB_URL)',
      async () => {
        const url = process.env.MONGODB_URL!;
        const database = `gh_kill_${randomUUID().slice(0, 8)}`;
        return {
          env: { PROJECTOR_MONGODB_URL: url, PROJECTOR_MONGODB_DATABASE: database },
          open: () => new MongoReadStore(url, database),
          cleanup: async () => {
            const client = await MongoClient.connect(url);
            await client.db(database).dropDatabase();
            await client.close();
          },
        };
      },
    ],
  ];

  it.each(adapters)('a real process, SIGKILLed between a batch\'s documents and its checkpoint, then as writes begin, then run to the end: equal to a clean rebuild: %s', async (_name, setup) => {
    const { env, open, cleanup } = await setup();
    const base = { PROJECTOR_DATA_DIR: t.dataDir, PROJECTOR_BATCH: '4', ...env };
    try {
      const clean = new SqliteReadStore(':memory:');
      const cleanRunner = new ProjectionRunner(events, clean, () => new Date());
      cleanRunner.batchSize = 4;
      await cleanRunner.onApplicationBootstrap();
      await cleanRunner.caughtUp();
      const expected = await dump(clean);
      await cleanRunner.onApplicationShutdown();
      await clean.close();

      // Documents of the third batch stored, the process killed before its checkpoint.
      expect(await runProjector({ ...base, PROJECTOR_GAP_AT: '3' }, (line) => line === 'gap')).toBe('killed');
      const store = open();
      expect(await documentsAheadOfCheckpoint(store)).toBe(true);
      // Then killed as a write begins, a few times (on MongoDB the documents of a batch go one by one, so often half of them).
      for (const at of [2, 5, 3]) expect(await runProjector(base, (line) => line === `write ${at}`)).toBe('killed');
      expect(await runProjector(base, () => false)).toBe('caught-up');
      expect(await dump(store)).toEqual(expected);
      await store.close();
    } finally {
      await cleanup();
    }
  }, 120_000);
});
