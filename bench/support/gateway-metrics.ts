// What a gateway's Prometheus text (GET /metrics) says about its upstream calls, for the
// benchmarks that report where a request's work went.

async function metricsText(graphqlUrl: URL): Promise<string> {
  return (await fetch(new URL('/metrics', graphqlUrl))).text();
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
  const sums = new Map<string, { count: number; seconds: number }>();
  for (const m of (await metricsText(graphqlUrl)).matchAll(/^audit_gateway_upstream_request_duration_seconds_(sum|count)\{endpoint="([^"]+)"\} (\S+)$/gm)) {
    const entry = sums.get(m[2]!) ?? { count: 0, seconds: 0 };
    if (m[1] === 'sum') entry.seconds = Number(m[3]);
    else entry.count = Number(m[3]);
    sums.set(m[2]!, entry);
  }
  return [...sums].map(([endpoint, e]) => `${endpoint} ${e.count} (mean ${((e.seconds * 1000) / Math.max(1, e.count)).toFixed(1)} ms)`).join(', ');
}
