import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** What tracing reads: the settings, or the environment as it is. */
export interface TracingSettings {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_SERVICE_NAME?: string;
}

/** How long a stop waits for the last spans to leave: a collector that is down must not hold up a clean stop. */
const FLUSH_WITHIN_MS = 3_000;

const tracer = trace.getTracer('gatehouse');
let provider: { shutdown(): Promise<void> } | undefined;

/**
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, spans go over OTLP/HTTP (batched) to `<endpoint>/v1/traces`
 * and incoming/outgoing W3C `traceparent` headers are honoured. Unset: nothing is registered (the SDK
 * is not even loaded) and every span below is the API's no-op.
 */
export async function startTracing(settings: TracingSettings): Promise<boolean> {
  const endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || provider) return !!provider;
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { W3CTraceContextPropagator }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
  const tracerProvider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.OTEL_SERVICE_NAME || 'gatehouse' }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  tracerProvider.register({ propagator: new W3CTraceContextPropagator() });
  provider = tracerProvider;
  return true;
}

/** Sends the spans still batched and unregisters (within FLUSH_WITHIN_MS); nothing to do when tracing is off. */
export async function shutdownTracing(): Promise<void> {
  const stopping = provider;
  provider = undefined;
  if (!stopping) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([stopping.shutdown().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, FLUSH_WITHIN_MS)))]);
  clearTimeout(timer);
  trace.disable();
  context.disable();
  propagation.disable();
}

/** Runs `work` inside a span named `name` (its child spans and `traceHeaders()` see it); an error marks the span and goes on. */
export function traced<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The W3C trace context of the current span, as message headers (`traceparent`); none when tracing is off. */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/**
 * One server span per HTTP request, `HTTP <method> <route>`, continuing the caller's `traceparent`.
 * The rest of the request (the handler, its commands) runs inside it.
 */
export function traceRequests(fastify: FastifyInstance): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (!provider) return done();
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url;
    const attributes: Attributes = { [ATTR_HTTP_REQUEST_METHOD]: request.method, ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}) };
    const span = tracer.startSpan(route ? `HTTP ${request.method} ${route}` : `HTTP ${request.method}`, { kind: SpanKind.SERVER, attributes }, parent);
    spans.set(request, span);
    context.with(trace.setSpan(parent, span), done);
  });
  const end = (request: FastifyRequest, status?: number) => {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    if (status !== undefined) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (status === undefined || status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  fastify.addHook('onResponse', (request, reply, done) => {
    end(request, reply.statusCode);
    done();
  });
  fastify.addHook('onRequestAbort', (request, done) => {
    end(request);
    done();
  });
}
