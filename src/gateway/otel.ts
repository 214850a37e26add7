// OpenTelemetry traces, configured by the standard OTEL_* variables: on when they name an OTLP
// exporter (OTEL_TRACES_EXPORTER=otlp, or an OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT), off otherwise
// and when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Off, nothing is registered and
// every span below is the API's no-op.
//
// A span per GraphQL request (named after its operation once yoga has parsed it), a child span per
// upstream HTTP exchange (from the audit client's onCall observer: endpoint and outcome, never the
// token or a body), and the verification of a page or a log as spans of their own (page-verifier.ts,
// log.ts). An incoming W3C traceparent continues the caller's trace.
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { IncomingHttpHeaders } from 'node:http';
import { Kind, type DocumentNode, type GraphQLError, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AuditClientOptions } from '../audit-client/index.js';
import type { GatewayMetrics } from './metrics.js';

const TRACER = 'audit-gateway';

export interface Tracing {
  /** Exports the spans still buffered and stops; called by the gateway's close(). */
  shutdown(): Promise<void>;
}

/** Whether the OTEL_* variables ask for traces exported over OTLP. */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  if (exporters.includes('none')) return false;
  if (exporters.includes('otlp')) return true;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/**
 * Registers the tracer provider (AsyncLocalStorage context, W3C trace context) when the variables
 * ask for it; undefined otherwise. The exporter reads its endpoint, headers and timeout from the
 * same variables; the resource takes OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
 */
export function startTracing(env: NodeJS.ProcessEnv): Tracing | undefined {
  if (!tracingRequested(env)) return undefined;
  const provider = new NodeTracerProvider({
    // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (envDetector) win over the default name.
    resource: defaultResource()
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'audit-gateway' }))
      .merge(detectResources({ detectors: [envDetector] })),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(tracesUrl(env)))],
  });
  provider.register();
  return { shutdown: () => provider.shutdown() };
}

/**
 * The exporter reads OTEL_EXPORTER_OTLP_* from process.env by itself; the endpoint is taken from
 * `env` so that a caller passing its own variables (the bench) is heard.
 */
function tracesUrl(env: NodeJS.ProcessEnv): { url?: string } {
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return { url: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT };
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) return { url: `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` };
  return {};
}

/** The context a request runs in: the caller's trace when it sent a traceparent, else a new one. */
export function requestContext(headers: IncomingHttpHeaders): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

/**
 * Runs the handling of one GraphQL request inside its server span. The span is named
 * `POST /graphql` until yoga knows the operation (operationSpans renames it).
 */
export function withRequestSpan<T>(headers: IncomingHttpHeaders, method: string, path: string, handle: () => Promise<T>): Promise<T> {
  const tracer = trace.getTracer(TRACER);
  const span = tracer.startSpan(`${method} ${path}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path } }, requestContext(headers));
  return context.with(trace.setSpan(context.active(), span), async () => {
    try {
      return await handle();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Names the request's span after its operation and marks it failed when the result has errors. */
export const operationSpans: Plugin = {
  onExecute({ args }) {
    const span = trace.getActiveSpan();
    if (!span) return;
    const document = args.document as DocumentNode;
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (args.operationName == null || d.name?.value === args.operationName));
    if (!operation) return;
    const name = operation.name?.value;
    span.updateName(name ? `${operation.operation} ${name}` : operation.operation);
    span.setAttribute('graphql.operation.type', operation.operation);
    if (name) span.setAttribute('graphql.operation.name', name);
    return {
      onExecuteDone({ result }) {
        const errors = 'errors' in result ? (result.errors as readonly GraphQLError[] | undefined) : undefined;
        if (!errors?.length) return;
        const codes = [...new Set(errors.map((e) => (typeof e.extensions?.code === 'string' ? e.extensions.code : 'INTERNAL_SERVER_ERROR')))];
        span.setAttribute('graphql.error.codes', codes);
        span.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(', ') });
      },
    };
  },
};

/**
 * For the audit client's onCall: a client span per upstream exchange, ended when the exchange
 * ended and started `ms` before, under the span active when the call was made.
 */
export function upstreamSpan(endpoint: string, outcome: string, ms: number): void {
  const parent = trace.getActiveSpan();
  // Calls outside a request (the integrity monitor, readiness probes) are not traced.
  if (!parent) return;
  const end = performance.timeOrigin + performance.now();
  const span: Span = trace.getTracer(TRACER).startSpan(
    `audit ${endpoint}`,
    { kind: SpanKind.CLIENT, startTime: end - ms, attributes: { 'audit.endpoint': endpoint, 'audit.outcome': outcome } },
    context.active(),
  );
  if (outcome !== 'ok' && outcome !== 'accepted') span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
  span.end(end);
}

/** Each upstream exchange counted (metrics) and traced (a span under the request's), as configured. */
export function upstreamObserver(metrics: GatewayMetrics | undefined, tracing: Tracing | undefined): Pick<AuditClientOptions, 'onCall'> {
  if (metrics && tracing) {
    return {
      onCall: (endpoint, outcome, ms) => {
        metrics.upstreamObserver(endpoint, outcome, ms);
        upstreamSpan(endpoint, outcome, ms);
      },
    };
  }
  if (metrics) return { onCall: metrics.upstreamObserver };
  return tracing ? { onCall: upstreamSpan } : {};
}
