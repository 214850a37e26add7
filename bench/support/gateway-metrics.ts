// What a gateway's Prometheus text (GET /metrics) says about its upstream calls and its runtime, for the
// benchmarks that report where a request's work went.

async function metricsText(graphqlUrl: URL): Promise<string> {
  return (await fetch(new URL('/metrics', graphqlUrl))).text();
}

/** A histogram's observations and their total (its _count and _sum, in seconds) per value of its one label. */
function histogramTotals(text: string, metric: string, label: string): Map<string, { count: number; seconds: number }> {
  const totals = new Map<string, { count: number; seconds: number }>();
  for (const m of text.matchAll(new RegExp(`^${metric}_(sum|count)\\{${label}="([^"]+)"\\} (\\S+)$`, 'gm'))) {
    const entry = totals.get(m[2]!) ?? { count: 0, seconds: 0 };
    if (m[1] === 'sum') entry.seconds = Number(m[3]);
    else entry.count = Number(m[3]);
    totals.set(m[2]!, entry);
  }
  return totals;
}

/** The gateway's upstream v1/log and v2/log calls so far (every outcome). */
export async function upstreamLogCalls(graphqlUrl: URL): Promise<{ v1: number; v2: number }> {
  const calls = { v1: 0, v2: 0 };
  for (const m of (await metricsText(graphqlUrl)).matchAll(/^audit_gateway_upstream_requests_total\{[^}]*endpoint="v([12])\/log"[^}]*\} (\S+)$/gm)) {
    calls[m[1] === '1' ? 'v1' : 'v2'] += Number(m[2]);
  }
  return calls;
}

/** Calls and mean duration per upstream endpoint: `v1/search 9652 (mean 29.7 ms), …`. */
export async function upstreamSummary(graphqlUrl: URL): Promise<string> {
  const sums = histogramTotals(await metricsText(graphqlUrl), 'audit_gateway_upstream_request_duration_seconds', 'endpoint');
  return [...sums].map(([endpoint, e]) => `${endpoint} ${e.count} (mean ${((e.seconds * 1000) / Math.max(1, e.count)).toFixed(1)} ms)`).join(', ');
}

/** Garbage-collection pauses so far, by kind, and the event-loop delay since the previous scrape. */
export interface RuntimeSample {
  /** prom-client's nodejs_gc_duration_seconds: pauses counted and their total, per kind (minor, major, incremental, weakcb). */
  gc: Map<string, { count: number; seconds: number }>;
  /** nodejs_eventloop_lag_p99_seconds in ms: prom-client resets its delay histogram at every scrape. */
  eventLoopDelayP99Ms: number;
}

export async function runtimeSample(graphqlUrl: URL): Promise<RuntimeSample> {
  const text = await metricsText(graphqlUrl);
  const gc = histogramTotals(text, 'nodejs_gc_duration_seconds', 'kind');
  const lag = /^nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
  return { gc, eventLoopDelayP99Ms: lag ? Number(lag[1]) * 1000 : Number.NaN };
}

/**
 * What the runtime cost the gateway between two samples over `seconds` of wall time: the share of
 * it spent in GC pauses, each kind's pauses, and the event-loop delay p99 of the second sample.
 */
export function runtimeSummary(before: RuntimeSample, after: RuntimeSample, seconds: number): string {
  let paused = 0;
  const kinds: string[] = [];
  for (const [kind, end] of after.gc) {
    const start = before.gc.get(kind) ?? { count: 0, seconds: 0 };
    const [count, spent] = [end.count - start.count, end.seconds - start.seconds];
    if (count <= 0) continue;
    paused += spent;
    kinds.push(`${kind} ${count} x ${((spent * 1000) / count).toFixed(1)} ms mean`);
  }
  return `GC pauses ${((paused / seconds) * 100).toFixed(1)}% of the time (${kinds.join(', ')}), event-loop delay p99 ${after.eventLoopDelayP99Ms.toFixed(0)} ms`;
}
