import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { trace } from '@opentelemetry/api';
import { shutdownTracing, startTracing, traced, traceHeaders } from '../../src/shared/tracing';
import { KafkaPublisher } from '../../src/messaging/kafka-publisher';
import type { Recorded } from '../../domain/events';
import { newOrgBody } from '../support/app';
import { mainWithoutBuild } from '../support/ts-process';

const ROOT = resolve(__dirname, '../..');

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

/** A stand-in collector: keeps every OTLP/HTTP (JSON) export posted to it. */
async function collector() {
  const exports: Array<{ path?: string; body: any }> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      exports.push({ path: request.url, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const resourceSpans = () => exports.flatMap((e) => e.body.resourceSpans ?? []);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports,
    spans: (): ExportedSpan[] => resourceSpans().flatMap((r: any) => r.scopeSpans ?? []).flatMap((s: any) => s.spans ?? []),
    serviceNames: (): string[] => resourceSpans().flatMap((r: any) => r.resource?.attributes ?? []).filter((a: any) => a.key === 'service.name').map((a: any) => a.value.stringValue),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((done) => server.close(() => done()));
    },
  };
}

const attribute = (span: ExportedSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value && Number(value.intValue ?? value.stringValue);
};

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as AddressInfo;
  await new Promise((done) => probe.close(done));
  return port;
}

/**
 * The real src/main.ts in a process of its own: the OTLP exporter loads `http` with a dynamic
 * import, which Jest's module sandbox cannot run, and main.ts is where tracing starts and flushes.
 */
async function startGatehouse(env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-tracing-'));
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, mainWithoutBuild(), {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), SQLITE_SYNCHRONOUS: 'normal', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.on('exit', done));
  const base = `http://127.0.0.1:${port}`;
  for (const started = Date.now(); ; ) {
    if (child.exitCode !== null) throw new Error(`gatehouse exited at start:\n${output}`);
    if (await fetch(`${base}/health`).then(() => true, () => false)) break;
    if (Date.now() - started > 45_000) throw new Error(`gatehouse not listening after 45 s:\n${output}`);
    await new Promise((done) => setTimeout(done, 200));
  }
  return {
    base,
    /** SIGTERM, as Kubernetes stops a pod: the exit code once it has stopped (spans flushed). */
    async stop(): Promise<number | null> {
      child.kill('SIGTERM');
      const code = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
  };
}

const createOrgOver = (base: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/orgs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(newOrgBody()) });

describe('tracing: spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set, nothing otherwise', () => {
  let otlp: Awaited<ReturnType<typeof collector>>;
  let gatehouse: Awaited<ReturnType<typeof startGatehouse>> | undefined;
  beforeEach(async () => {
    otlp = await collector();
  });
  afterEach(async () => {
    gatehouse?.kill();
    gatehouse = undefined;
    await shutdownTracing();
    await otlp.close();
  });

  it("a command over HTTP: an HTTP span continuing the caller's traceparent, its commit span a child, flushed on SIGTERM", async () => {
    gatehouse = await startGatehouse({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';
    expect((await createOrgOver(gatehouse.base, { traceparent: `00-${traceId}-${callerSpanId}-01` })).status).toBe(201);
    expect((await createOrgOver(gatehouse.base)).status).toBe(201); // no traceparent: a trace of its own
    expect(await gatehouse.stop()).toBe(0);

    expect(otlp.exports.length).toBeGreaterThan(0);
    expect(otlp.exports.every((e) => e.path === '/v1/traces')).toBe(true);
    expect(otlp.serviceNames()).toContain('gatehouse');
    const spans = otlp.spans();
    const requests = spans.filter((s) => s.name === 'HTTP POST /v1/orgs');
    expect(requests).toHaveLength(2);
    const continued = requests.find((s) => s.traceId === traceId)!;
    expect(continued).toMatchObject({ traceId, parentSpanId: callerSpanId });
    expect(attribute(continued, 'http.response.status_code')).toBe(201);
    const commits = spans.filter((s) => s.name === 'commit' && s.traceId === traceId);
    expect(commits.length).toBeGreaterThan(0);
    for (const commit of commits) expect(commit.parentSpanId).toBe(continued.spanId);
    expect(attribute(commits[0], 'gatehouse.events')).toBeGreaterThan(0);
    expect(attribute(commits[0], 'gatehouse.streams')).toBeGreaterThan(0);

    const own = requests.find((s) => s.traceId !== traceId)!;
    expect(own.parentSpanId ?? '').toBe('');
    expect(spans.find((s) => s.name === 'commit' && s.traceId === own.traceId)?.parentSpanId).toBe(own.spanId);
  });

  it('OTEL_SERVICE_NAME names the service', async () => {
    gatehouse = await startGatehouse({ OTEL_EXPORTER_OTLP_ENDPOINT: `${otlp.url}/`, OTEL_SERVICE_NAME: 'gatehouse-eu' });
    expect((await createOrgOver(gatehouse.base)).status).toBe(201);
    expect(await gatehouse.stop()).toBe(0);
    expect(otlp.serviceNames()).toContain('gatehouse-eu');
    expect(otlp.spans().map((s) => s.name)).toEqual(expect.arrayContaining(['HTTP POST /v1/orgs', 'commit']));
  });

  it('with OTEL_EXPORTER_OTLP_ENDPOINT unset nothing is sent', async () => {
    gatehouse = await startGatehouse({});
    expect((await createOrgOver(gatehouse.base, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })).status).toBe(201);
    expect(await gatehouse.stop()).toBe(0);
    expect(otlp.exports).toEqual([]);
  });

  it('a Kafka publish batch puts the W3C traceparent of its span on every message; none when tracing is off', async () => {
    // The publisher's batch step with a producer that keeps what it is given (no broker here).
    const sent: Array<{ headers?: Record<string, string> }> = [];
    const bus = { topics: { events: 'gatehouse.events' } };
    const readStore = { write: async () => ({ refused: [] }) };
    const publisher = new KafkaPublisher({} as never, readStore as never, {} as never, bus as never);
    (publisher as unknown as { producer: unknown }).producer = { send: async (_topic: string, messages: typeof sent) => void sent.push(...messages) };
    const event = (position: bigint) =>
      ({ eventId: `e${position}`, type: 'OrganizationRenamed', data: { orgId: 'o1' }, stream: 'org-o1', streamVersion: Number(position), position, recordedAt: new Date(), schemaVersion: 1 }) as unknown as Recorded;
    const publish = (events: Recorded[]) => (publisher as unknown as { publishEvents(b: unknown, e: Recorded[], n: bigint): Promise<void> }).publishEvents(bus, events, events[events.length - 1].position);

    await publish([event(1n)]);
    expect(sent[0].headers).not.toHaveProperty('traceparent');
    expect(await startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url })).toBe(true);
    sent.length = 0;
    await publish([event(2n), event(3n)]);
    const parents = sent.map((m) => m.headers?.traceparent);
    expect(parents).toHaveLength(2);
    expect(parents[0]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(parents[1]).toBe(parents[0]); // one span per batch
    expect(sent[0].headers).toMatchObject({ 'gatehouse-event-id': 'e2', 'gatehouse-position': '2' });
    const { headers, span } = await traced('kafka publish', {}, async () => ({ headers: traceHeaders(), span: trace.getActiveSpan()!.spanContext() }));
    expect(headers).toEqual({ traceparent: `00-${span.traceId}-${span.spanId}-01` });
  });
});
