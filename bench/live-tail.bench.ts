// Live-tail benchmark (`npm run bench:live-tail`): how long a logged event takes to reach the
// Subscription.auditEvents subscribers of its query, and what idle subscribers cost the gateway.
//
// The product runs as `npm start` runs it: `node --import tsx src/main.ts` in a process of its own
// (bench/support/gateway-process.ts), a temp DATA_DIR, default settings (live-tail poll every
// LIVE_TAIL_INTERVAL_MS = 1000 ms, root published every 2 s, integrity check every 30 s; the
// embedded local audit service in the gateway's child process). This process only subscribes,
// logs and checks.
//
// Subscribers: SUBSCRIBERS_PER_QUERY (default 10) graphql-sse clients (each its own client, the
// default distinct-connections mode: one streaming HTTP request per subscription) on each of
// QUERIES (default 10) distinct queries `actor:tail-<k>`, so 100 subscribers and, the gateway
// sharing one watcher per query, 10 upstream watchers. They are counted as connected once the
// gateway's /metrics shows audit_gateway_live_tail{kind="subscribers"} = 100 and
// {kind="watchers"} = 10 (a watcher starts at the current time, so nothing logged after that is
// missed).
//
// 1. Gateway CPU of idle subscribers: /proc/<pid>/stat utime + stime of the gateway's process
//    (processCpuMs) over IDLE_SECONDS (default 10) with nothing logged, first with no subscriber
//    (the baseline: the integrity monitor, the publisher checks, and whatever else runs idle),
//    then with the 100 subscribers connected (5 s after they are: their watchers' first ~50 polls,
//    where the poll path is compiled, stay out of the window).
//    Printed: CPU ms per second in each window, µs of CPU per second per subscriber, and the
//    difference over the baseline per subscriber. The service process's CPU and the upstream
//    calls the gateway made (its /metrics, read outside the windows) are printed alongside, and the
//    difference divided by the added v1/search calls (gateway CPU per watcher poll: a watcher is
//    shared by its query's subscribers, so idle cost follows queries more than subscribers). Clock
//    ticks are 10 ms: over 10 s that is 1 ms/s, 10 µs/s per subscriber at 100 subscribers. The
//    integrity check runs every 30 s, so a window may or may not hold one.
// 2. Push latency: for LOG_SECONDS (default 20) one logger per query logs events of actor tail-<k>
//    through the gateway's `log` mutation (GraphQL over HTTP), one at a time, at RATE (default 3)
//    per second per query, the queries' schedules staggered across the period. For each event the
//    time its `log` answered with the hash is the acknowledgement; for each of the query's 10
//    subscribers, the arrival is the time the first push of that hash with verdictUpdate false
//    reached this process. Printed: p50, p99 and max of arrival − acknowledgement over all
//    (event, subscriber) pairs, and how many pairs. Both times are read in this process
//    (performance.now()), which also parses the 100 streams, so its own event loop is in them.
//
// Checks: every subscriber's first pushes (verdictUpdate false) are exactly its query's
// acknowledged events, each once, in the order they were logged (a logger waits for each answer,
// so that is received_at order). Missing, duplicate, foreign and out-of-order pushes, subscription
// errors, failed logs and a gateway that does not exit 0 on SIGTERM are wrong: they are printed
// and the run exits 1. verdictUpdate pushes (an event pushed PENDING, pushed again once published)
// that arrive during the run are counted and printed, not checked.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-sse';
import { startGatewayProcess, processCpuMs, type GatewayProcess } from './support/gateway-process.js';
import { GraphQLClient } from './support/graphql-client.js';
import { percentile } from './support/stats.js';

const QUERIES = Number(process.env.QUERIES ?? 10);
const SUBSCRIBERS_PER_QUERY = Number(process.env.SUBSCRIBERS_PER_QUERY ?? 10);
const SUBSCRIBERS = QUERIES * SUBSCRIBERS_PER_QUERY;
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 10);
const LOG_SECONDS = Number(process.env.LOG_SECONDS ?? 20);
const RATE = Number(process.env.RATE ?? 3);
/** How long after the last acknowledgement the last pushes may take (3 poll intervals). */
const DRAIN_MS = 3000;

const TAIL = `subscription Tail($q: String) { auditEvents(query: $q) { cursor verdictUpdate event { hash receivedAt actor verification { verdict } } } }`;
const LOG = `mutation Log($e: AuditEventInput!) { log(event: $e) { __typename ... on LogResult { hash } ... on Error { message } } }`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const actorOf = (k: number) => `tail-${k}`;

// ---------------------------------------------------------------------------------------------
// Subscribers

interface Subscriber {
  query: number;
  client: Client;
  /** Hash and arrival time of each push with verdictUpdate false, in arrival order. */
  firsts: Array<{ hash: string; at: number }>;
  verdictUpdates: number;
  errors: string[];
  stop: () => void;
}

function subscribe(url: URL, query: number): Subscriber {
  const client = createClient({ url: url.href });
  const sub: Subscriber = { query, client, firsts: [], verdictUpdates: 0, errors: [], stop: () => {} };
  sub.stop = client.subscribe<Json>(
    { query: TAIL, variables: { q: `actor:${actorOf(query)}` } },
    {
      next: (r) => {
        const at = performance.now();
        if (r.errors) sub.errors.push(...r.errors.map((e) => e.message));
        const push = r.data?.auditEvents;
        if (!push) return;
        if (push.verdictUpdate) sub.verdictUpdates++;
        else sub.firsts.push({ hash: push.event.hash, at });
      },
      error: (e) => sub.errors.push(`stream error: ${e instanceof Error ? e.message : JSON.stringify(e)}`),
      complete: () => {},
    },
  );
  return sub;
}

/** The gateway's live-tail gauges and upstream call counts by endpoint, from /metrics. */
async function metrics(gateway: GatewayProcess): Promise<{ subscribers: number; watchers: number; upstream: Map<string, number> }> {
  const text = await (await fetch(new URL('/metrics', gateway.url))).text();
  const gauge = (kind: string) => Number(new RegExp(`^audit_gateway_live_tail\\{kind="${kind}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const upstream = new Map<string, number>();
  for (const m of text.matchAll(/^audit_gateway_upstream_requests_total\{endpoint="([^"]+)",outcome="[^"]+"\} (\S+)$/gm)) {
    upstream.set(m[1]!, (upstream.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return { subscribers: gauge('subscribers'), watchers: gauge('watchers'), upstream };
}

function upstreamDelta(before: Map<string, number>, after: Map<string, number>, seconds: number): string {
  const parts = [...after].map(([endpoint, n]) => [endpoint, n - (before.get(endpoint) ?? 0)] as const).filter(([, n]) => n > 0);
  return parts.length === 0 ? 'none' : parts.map(([endpoint, n]) => `${endpoint} ${n} (${(n / seconds).toFixed(1)}/s)`).join(', ');
}

interface IdleWindow {
  gatewayMsPerS: number;
  serviceMsPerS: number;
  upstream: string;
  /** The gateway's upstream v1/search calls per second (the watchers' polls, when idle). */
  searchesPerS: number;
}

/** CPU of the gateway's and the service's processes over IDLE_SECONDS of nothing but what runs by itself. */
async function idleWindow(gateway: GatewayProcess): Promise<IdleWindow> {
  const before = await metrics(gateway);
  const g0 = processCpuMs(gateway.pid);
  const s0 = processCpuMs(gateway.servicePid);
  const t0 = performance.now();
  await sleep(IDLE_SECONDS * 1000);
  const g1 = processCpuMs(gateway.pid);
  const s1 = processCpuMs(gateway.servicePid);
  const seconds = (performance.now() - t0) / 1000;
  const after = await metrics(gateway);
  const searches = (after.upstream.get('v1/search') ?? 0) - (before.upstream.get('v1/search') ?? 0);
  return {
    gatewayMsPerS: (g1 - g0) / seconds,
    serviceMsPerS: (s1 - s0) / seconds,
    upstream: upstreamDelta(before.upstream, after.upstream, seconds),
    searchesPerS: searches / seconds,
  };
}

// ---------------------------------------------------------------------------------------------
// The run

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'live-tail-bench-'));
  const gateway = await startGatewayProcess(join(dir, 'data'), { INTEGRITY_KEY_FILE: join(dir, 'integrity-key') });
  try {
    await run(gateway);
  } finally {
    // Already stopped after a complete run; here for a run cut short by an exception.
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(gateway: GatewayProcess): Promise<void> {
  const client = new GraphQLClient(gateway.url, QUERIES + 2);
  const problems: string[] = [];
  console.log(
    `live-tail: gateway pid ${gateway.pid} at ${gateway.url.href}; ${SUBSCRIBERS} SSE subscribers on ${QUERIES} queries, ` +
      `idle windows of ${IDLE_SECONDS} s, then ${RATE} events/s per query for ${LOG_SECONDS} s`,
  );

  // ------------------------------------------------------------------------------------------
  // Idle CPU: no subscriber, then 100

  await sleep(2000); // startup work (first publisher check, compilation) out of the baseline
  const baseline = await idleWindow(gateway);

  const connectStarted = performance.now();
  const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => subscribe(gateway.url, i % QUERIES));
  let live = await metrics(gateway);
  while ((live.subscribers !== SUBSCRIBERS || live.watchers !== QUERIES) && performance.now() - connectStarted < 20_000) {
    await sleep(100);
    live = await metrics(gateway);
  }
  const connectMs = performance.now() - connectStarted;
  if (live.subscribers !== SUBSCRIBERS || live.watchers !== QUERIES) {
    problems.push(`after 20 s the gateway counts ${live.subscribers} subscribers and ${live.watchers} watchers, not ${SUBSCRIBERS} and ${QUERIES}`);
  }
  await sleep(5000); // the poll path compiled and warm before the window
  const loaded = await idleWindow(gateway);

  // ------------------------------------------------------------------------------------------
  // Push latency

  const expected: Array<Array<{ hash: string; acked: number }>> = Array.from({ length: QUERIES }, () => []);
  let logFailures = 0;
  const periodMs = 1000 / RATE;
  const logStarted = performance.now();
  const logger = async (k: number): Promise<void> => {
    // Staggered so the queries' events fall all over the watchers' poll cycles.
    for (let i = 0; ; i++) {
      const due = logStarted + (k / QUERIES) * periodMs + i * periodMs;
      if (due - logStarted >= LOG_SECONDS * 1000) return;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      try {
        const { status, body, text } = await client.run(LOG, { e: { message: `live tail ${k} #${i}`, actor: actorOf(k), action: 'bench' } });
        const hash = body.data?.log?.hash;
        if (status !== 200 || body.errors || body.data?.log?.__typename !== 'LogResult' || typeof hash !== 'string') {
          logFailures++;
          if (problems.length < 30) problems.push(`log failed: HTTP ${status}: ${text.slice(0, 200)}`);
          continue;
        }
        expected[k]!.push({ hash, acked: performance.now() });
      } catch (err) {
        logFailures++;
        if (problems.length < 30) problems.push(`log failed: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: QUERIES }, (_, k) => logger(k)));
  const logSeconds = (performance.now() - logStarted) / 1000;
  const drainUntil = performance.now() + DRAIN_MS;
  const complete = () => subscribers.every((s) => s.firsts.length >= expected[s.query]!.length);
  while (!complete() && performance.now() < drainUntil) await sleep(50);
  await sleep(300); // a duplicate right after the last push would still be seen

  // ------------------------------------------------------------------------------------------
  // Checks and latencies

  const latencies: number[] = [];
  const wrong = { missing: 0, duplicate: 0, foreign: 0, outOfOrder: 0, errors: 0 };
  for (const [i, s] of subscribers.entries()) {
    const want = expected[s.query]!;
    const wantIndex = new Map(want.map((e, n) => [e.hash, n]));
    const arrived = new Map<string, number>();
    let lastIndex = -1;
    for (const push of s.firsts) {
      const n = wantIndex.get(push.hash);
      if (n === undefined) {
        wrong.foreign++;
        continue;
      }
      if (arrived.has(push.hash)) {
        wrong.duplicate++;
        continue;
      }
      arrived.set(push.hash, push.at);
      if (n < lastIndex) wrong.outOfOrder++;
      lastIndex = Math.max(lastIndex, n);
    }
    for (const e of want) {
      const at = arrived.get(e.hash);
      if (at === undefined) wrong.missing++;
      else latencies.push(at - e.acked);
    }
    wrong.errors += s.errors.length;
    const got = s.firsts.map((p) => p.hash).join(',');
    if (got !== want.map((e) => e.hash).join(',') || s.errors.length > 0) {
      if (problems.length < 30) {
        problems.push(`subscriber ${i} (actor:${actorOf(s.query)}): ${s.firsts.length} pushes for ${want.length} events logged${s.errors.length ? `; errors: ${s.errors.slice(0, 3).join('; ')}` : ''}`);
      }
    }
  }
  latencies.sort((a, b) => a - b);
  const events = expected.reduce((n, e) => n + e.length, 0);
  const verdictUpdates = subscribers.reduce((n, s) => n + s.verdictUpdates, 0);

  for (const s of subscribers) s.stop();
  for (const s of subscribers) s.client.dispose();
  await client.close();
  const exitCode = await gateway.stop();
  if (exitCode !== 0) problems.push(`gateway: SIGTERM -> exit ${exitCode}`);

  // ------------------------------------------------------------------------------------------
  // Report

  const perSub = (msPerS: number) => ((msPerS * 1000) / SUBSCRIBERS).toFixed(1);
  console.log('');
  console.log(`idle CPU over ${IDLE_SECONDS} s (gateway process; service process alongside):`);
  console.log(`  0 subscribers:   gateway ${baseline.gatewayMsPerS.toFixed(2)} ms/s; service ${baseline.serviceMsPerS.toFixed(2)} ms/s; upstream calls: ${baseline.upstream}`);
  console.log(
    `  ${SUBSCRIBERS} subscribers: gateway ${loaded.gatewayMsPerS.toFixed(2)} ms/s = ${perSub(loaded.gatewayMsPerS)} µs/s per subscriber; ` +
      `service ${loaded.serviceMsPerS.toFixed(2)} ms/s; upstream calls: ${loaded.upstream}`,
  );
  console.log(
    `  difference:      gateway +${(loaded.gatewayMsPerS - baseline.gatewayMsPerS).toFixed(2)} ms/s = ${perSub(loaded.gatewayMsPerS - baseline.gatewayMsPerS)} µs/s per subscriber; ` +
      `service +${(loaded.serviceMsPerS - baseline.serviceMsPerS).toFixed(2)} ms/s`,
  );
  const polls = loaded.searchesPerS - baseline.searchesPerS;
  if (polls > 0) console.log(`  per watcher poll (the difference over the added v1/search calls): gateway ${((loaded.gatewayMsPerS - baseline.gatewayMsPerS) / polls).toFixed(2)} ms CPU`);
  console.log(`  (${SUBSCRIBERS} subscribers and ${QUERIES} watchers counted by the gateway ${(connectMs / 1000).toFixed(1)} s after subscribing)`);
  console.log('');
  console.log(
    `push latency (arrival − log acknowledged), ${latencies.length} (event, subscriber) pairs of ${events} events logged in ${logSeconds.toFixed(1)} s ` +
      `(${(events / logSeconds).toFixed(1)}/s), interval 1000 ms:`,
  );
  console.log(`  p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms, max ${(latencies.at(-1) ?? NaN).toFixed(0)} ms, min ${(latencies[0] ?? NaN).toFixed(0)} ms`);
  console.log(
    `  deliveries: ${wrong.missing} missing, ${wrong.duplicate} duplicate, ${wrong.foreign} foreign, ${wrong.outOfOrder} out of order, ` +
      `${wrong.errors} subscription errors, ${logFailures} failed logs; ${verdictUpdates} verdictUpdate pushes during the run (not checked)`,
  );
  for (const p of problems) console.log(`  ${p}`);

  const ok = problems.length === 0 && Object.values(wrong).every((n) => n === 0) && logFailures === 0 && latencies.length === events * SUBSCRIBERS_PER_QUERY && events > 0;
  console.log(
    `live-tail: ${SUBSCRIBERS} subscribers / ${QUERIES} queries; push latency p50/p99/max ${percentile(latencies, 50).toFixed(0)}/${percentile(latencies, 99).toFixed(0)}/${(latencies.at(-1) ?? NaN).toFixed(0)} ms ` +
      `over ${latencies.length} pairs; idle gateway CPU ${perSub(loaded.gatewayMsPerS)} µs/s per subscriber (+${perSub(loaded.gatewayMsPerS - baseline.gatewayMsPerS)} over the ${baseline.gatewayMsPerS.toFixed(2)} ms/s baseline)` +
      `${ok ? '' : ' — FAILED'}`,
  );
  if (!ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error('live-tail bench failed:', err);
  process.exitCode = 1;
});
