/**
 * One Gatehouse process for bench/signin.ts: the app as main.ts builds it
 * (createApp, embedded SQLite stores), listening on 127.0.0.1 on a free port, on
 * the DATA_DIR it is given. Forked by the bench (signin-client.ts) and driven
 * over IPC:
 *   → { type: 'ready', port, threadpool }            once it listens
 *   ← { type: 'settle' }  → { type: 'settled', ok, head, position }   projections have reached the log's head
 *   ← { type: 'cpu' }     → { type: 'cpu', micros }  CPU time of this process, all threads (argon2 runs on the libuv pool)
 *   ← { type: 'stop' }    closes the app and exits
 * Not part of the app: nothing here changes how it runs.
 */
import 'reflect-metadata';
import { ConsoleLogger } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app';
import { loadSettings } from '../../src/config/config';
import { ProjectionRunner } from '../../src/readmodels/projection-runner';
import { EVENT_STORE } from '../../src/shared/tokens';
import type { EventStore } from '../../infra/eventstore/port';

type Message = { type: 'settle'; timeoutMs?: number } | { type: 'cpu' } | { type: 'stop' };

async function main(): Promise<void> {
  if (!process.send) throw new Error('signin-server runs as a child of bench/signin.ts (it needs the IPC channel)');
  // The process environment as main.ts reads it (DATA_DIR, SQLITE_SYNCHRONOUS, ...): the bench sets DATA_DIR.
  const settings = loadSettings(process.env);
  // Warnings and errors only: start-up route listings would only fill the log.
  const app = await createApp({ settings, logger: new ConsoleLogger({ logLevels: ['error', 'warn'] }) });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  const runner = app.get(ProjectionRunner);
  const store = app.get<EventStore>(EVENT_STORE);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(3), 10_000);
    try {
      await app.close();
    } finally {
      clearTimeout(timer);
      process.exit(0);
    }
  };

  process.on('message', (message: Message) => {
    switch (message.type) {
      case 'settle':
        void (async () => {
          const head = await store.headPosition();
          const ok = await runner.waitFor(head, message.timeoutMs ?? 120_000);
          process.send!({ type: 'settled', ok, head: head.toString(), position: runner.position().toString() });
        })().catch((error) => process.send!({ type: 'settled', ok: false, error: String(error) }));
        break;
      case 'cpu': {
        const { user, system } = process.cpuUsage();
        process.send!({ type: 'cpu', micros: user + system });
        break;
      }
      case 'stop':
        void stop();
        break;
    }
  });
  // The bench gone (killed, crashed): do not outlive it.
  process.on('disconnect', () => void stop());
  process.send({ type: 'ready', port, threadpool: process.env.UV_THREADPOOL_SIZE ?? '' });
}

main().catch((error) => {
  process.stderr.write(`[signin-server] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
