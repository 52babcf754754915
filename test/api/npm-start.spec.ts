import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

/** The processes (pid and command) whose environment carries this DATA_DIR: whatever `npm start` started. */
function processesWith(dataDir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`DATA_DIR=${dataDir}`)) found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

const describeOnLinux = existsSync('/proc/self/environ') ? describe : describe.skip;

describeOnLinux('npm start', () => {
  it('SIGTERM to npm stops node too: npm exits 0 within 10 s and no process of it is left', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-npm-start-'));
    const port = await freePort();
    const npm = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', KAFKA_BROKERS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => npm.on('exit', (code, signal) => done({ code, signal })));
    try {
      // npm start builds first (the service, then the console with Vite): on a busy 2-core machine that can take a minute.
      const deadline = Date.now() + 150_000;
      while (!(await fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.ok, () => false))) {
        if (Date.now() > deadline) throw new Error(`not listening:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(processesWith(dataDir).some((p) => p.includes('dist/src/main.js'))).toBe(true);
      const sent = Date.now();
      npm.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - sent).toBeLessThan(10_000);
      await new Promise((r) => setTimeout(r, 200));
      expect(processesWith(dataDir)).toEqual([]);
    } finally {
      for (const p of processesWith(dataDir)) process.kill(Number(p.split(' ')[0]), 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 170_000);
});
