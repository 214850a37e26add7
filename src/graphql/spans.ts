// Spans of the gateway's own work inside a request (the verification of a page or a log), through
// the OpenTelemetry API only: without a registered provider (tracing off, see
// src/gateway/otel.ts) they are the API's no-ops.
import { context, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

const tracer = trace.getTracer('audit-gateway');

/** Counts of each verdict, as span attributes (`audit.verdict.VERIFIED`: 12, …). */
export function verdictCounts(verdicts: Iterable<string>): Attributes {
  const counts: Record<string, number> = {};
  for (const verdict of verdicts) counts[`audit.verdict.${verdict}`] = (counts[`audit.verdict.${verdict}`] ?? 0) + 1;
  return counts;
}

/**
 * Runs `work` in a span named `name`; the span ends when the work does (at once for a value,
 * when it settles for a promise) and takes the attributes `describe` reads off the outcome.
 */
export function inSpan<T>(name: string, attributes: Attributes, work: () => T | Promise<T>, describe?: (outcome: T) => Attributes): T | Promise<T> {
  if (!trace.getActiveSpan()) return work();
  const span: Span = tracer.startSpan(name, { attributes }, context.active());
  const finish = (outcome: T): T => {
    if (describe) span.setAttributes(describe(outcome));
    span.end();
    return outcome;
  };
  const failed = (err: unknown): never => {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    throw err;
  };
  try {
    const outcome = context.with(trace.setSpan(context.active(), span), work);
    return outcome instanceof Promise ? outcome.then(finish, failed) : finish(outcome);
  } catch (err) {
    return failed(err);
  }
}
