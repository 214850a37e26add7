// Load benchmark (`npm run bench:load`): the product as `npm start` runs it, under concurrent
// clients, then a check that nothing acknowledged was lost or fails verification.
//
// The gateway runs as its own process — `node --import tsx src/main.ts`, the same entry point
// `npm start` execs (without tsx's CLI wrapper process, so the pid measured is the gateway's) —
// with the embedded local audit service in a temp DATA_DIR and the default settings (root
// published every 2 s, integrity check every 30 s; the service in a child process of its own).
// The gateway's RSS is read from /proc/<pid>/status (VmRSS sampled every 250 ms; VmHWM, the
// kernel's peak, at the end), and the service process's VmRSS every 10 s and its VmHWM at the end.
//
// LOAD_CLIENTS clients (default 16) each loop for LOAD_SECONDS (default 60), each with one request
// in flight, picking per iteration:
//   30% log      one event, options { verify: true } (membership + consistency from the previous
//                verified root, checked by the gateway)
//   10% logBulk  50 events
//   30% search   actor:<this client>, first 20 (a fresh result set over a growing log)
//   30% page     the next 20 after the client's last endCursor — every other search is paged with
//                search(after:), the others with results(resultId, after:) — or a new search when
//                the last page was the end
// Pages ask for each event's published flag and verdict: the published events they showed are
// counted by verdict (a PENDING one, with its reason, is printed, not an error: it is one whose
// root the gateway could not prove at that moment).
// Any HTTP status but 200, any GraphQL error, any error union member and any FAIL in a log's
// verification is an error: they are counted by kind and printed.
//
// Afterwards (once the last events are published) every acknowledged event is searched for — by
// client and by a bucket of at most 4000 events kept in `target`, so no result set reaches the
// 10 000 cap — paged through 1000 at a time; none may be FAILED, hash and membership must PASS,
// and every one must be VERIFIED (published and proven; a PENDING one fails the run). Exit status 1 when there were errors or a check failed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runtimeSample, runtimeSummary, upstreamSummary } from './support/gateway-metrics.js';
import { startGatewayProcess } from './support/gateway-process.js';
import { GraphQLClient } from './support/graphql-client.js';
import { measure } from './support/measure.js';
import { percentile } from './support/stats.js';

const CLIENTS = Number(process.env.LOAD_CLIENTS ?? 16);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 60);
const BULK_SIZE = 50;
const BUCKET = 4000;
const RUN = randomBytes(3).toString('hex');

const LOG = `mutation Log($e: AuditEventInput!) { log(event: $e, options: { verify: true }) { __typename ... on LogResult { hash verification { hash membership consistency signature failures } } ... on Error { message } } }`;
const BULK = `mutation Bulk($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename ... on LogBulkResult { results { hash } } ... on Error { message } } }`;
const PAGE_FIELDS = `__typename ... on AuditEventConnection { totalCount resultId edges { node { hash published verification { hash membership consistency signature verdict verdictReason } } } pageInfo { hasNextPage endCursor } } ... on Error { message }`;
const SEARCH = `query Search($q: String!) { search(query: $q, first: 20) { ${PAGE_FIELDS} } }`;
const SEARCH_AFTER = `query More($q: String!, $after: String!) { search(query: $q, first: 20, after: $after) { ${PAGE_FIELDS} } }`;
const RESULTS_AFTER = `query Results($id: ID!, $after: String!) { results(resultId: $id, first: 20, after: $after) { ${PAGE_FIELDS} } }`;
const VERIFY = `query Verify($q: String!, $after: String) { search(query: $q, order: ASC, first: 1000, after: $after, maxResults: 10000) { __typename ... on AuditEventConnection { totalCount edges { node { hash published verification { hash membership consistency signature verdict verdictReason failures } } } pageInfo { hasNextPage endCursor } } ... on Error { message } } }`;
const INTEGRITY = `{ integrity { state lastVerifiedSize latestPublishedSize failure checkError } }`;

type Kind = 'log' | 'logBulk' | 'search' | 'page';
const KINDS: Kind[] = ['log', 'logBulk', 'search', 'page'];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

// ---------------------------------------------------------------------------------------------
// The gateway process

/** VmRSS and VmHWM (peak) of a process, in MB. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

// ---------------------------------------------------------------------------------------------
// Requests

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What went wrong with an answer, or undefined when it is a success. */
function problem(status: number, body: Json, field: string, success: string): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${JSON.stringify(body).slice(0, 200)}`;
  if (body.errors) return `GraphQL error: ${body.errors.map((e: Json) => e.message).join('; ')}`;
  const value = body.data?.[field];
  if (value?.__typename !== success) return `${value?.__typename ?? 'no data'}: ${value?.message ?? JSON.stringify(body).slice(0, 200)}`;
  return undefined;
}


// ---------------------------------------------------------------------------------------------
// The run

interface Acked {
  hash: string;
  client: number;
  bucket: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'load-bench-'));
  const gateway = await startGatewayProcess(join(dir, 'data'), { INTEGRITY_KEY_FILE: join(dir, 'integrity-key') });
  const client = new GraphQLClient(gateway.url, CLIENTS + 4);
  console.log(`load: gateway pid ${gateway.pid} at ${gateway.url.href}, ${CLIENTS} clients for ${SECONDS} s, run ${RUN}`);

  const latencies: Record<Kind, number[]> = { log: [], logBulk: [], search: [], page: [] };
  const errors: Array<{ kind: Kind; message: string }> = [];
  /** Verdicts of the published events the load's pages showed (a published event may be PENDING only while its root is being proven). */
  const publishedVerdicts = { verified: 0, failed: 0, pending: new Map<string, number>() };
  const acked: Acked[] = [];
  let peakRss = memoryOf(gateway.pid).rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, memoryOf(gateway.pid).rss)), 250);
  // RSS of both processes every 10 s: a plateau is bounded memory, a steady climb would be a leak.
  const rssTrail: string[] = [];
  const serviceRssTrail: string[] = [];
  const trail = setInterval(() => {
    const at = `${(rssTrail.length + 1) * 10}s`;
    rssTrail.push(`${at} ${memoryOf(gateway.pid).rss.toFixed(0)}`);
    // A service that was restarted has another pid: its trail says so rather than ending the run.
    let service: string;
    try {
      service = memoryOf(gateway.servicePid).rss.toFixed(0);
    } catch {
      service = 'gone';
    }
    serviceRssTrail.push(`${at} ${service}`);
  }, 10_000);

  /** Client c's next request: one log, logBulk, search or page, drawn at random. */
  const clientStep = (c: number): (() => Promise<void>) => {
    const name = `c${String(c).padStart(2, '0')}`;
    const actor = `load-${RUN}-${name}`;
    let seq = 0;
    // A cursor is bound to how it was issued: a chain pages with search(after:) or results(after:).
    let cursor: { after: string; resultId: string; query: string; viaResults: boolean } | undefined;
    let chains = 0;
    const event = () => {
      const n = seq++;
      const bucket = Math.floor(n / BUCKET);
      return { bucket, event: { message: `load ${RUN} ${name} #${n}`, actor, action: 'bench', target: `${name}-b${String(bucket).padStart(4, '0')}` } };
    };
    return async () => {
      const roll = Math.random();
      let kind: Kind = roll < 0.3 ? 'log' : roll < 0.4 ? 'logBulk' : roll < 0.7 ? 'search' : 'page';
      if (kind === 'page' && !cursor) kind = 'search';
      const started = performance.now();
      let failure: string | undefined;
      try {
        if (kind === 'log') {
          const { bucket, event: e } = event();
          const { status, body } = await client.run(LOG, { e });
          failure = problem(status, body, 'log', 'LogResult');
          if (!failure) {
            const v = body.data.log.verification;
            if ([v.hash, v.membership, v.consistency, v.signature].includes('FAIL')) failure = `log verification FAIL: ${v.failures.join('; ')}`;
            acked.push({ hash: body.data.log.hash, client: c, bucket });
          }
        } else if (kind === 'logBulk') {
          const items = Array.from({ length: BULK_SIZE }, event);
          const { status, body } = await client.run(BULK, { e: items.map((i) => i.event) });
          failure = problem(status, body, 'logBulk', 'LogBulkResult');
          if (!failure) body.data.logBulk.results.forEach((r: Json, i: number) => acked.push({ hash: r.hash, client: c, bucket: items[i]!.bucket }));
        } else {
          let status: number;
          let body: Json;
          if (kind === 'search') {
            const query = `actor:${actor}`;
            ({ status, body } = await client.run(SEARCH, { q: query }));
            failure = problem(status, body, 'search', 'AuditEventConnection');
            cursor = undefined;
            if (!failure && body.data.search.pageInfo.hasNextPage) {
              cursor = { after: body.data.search.pageInfo.endCursor, resultId: body.data.search.resultId, query, viaResults: chains++ % 2 === 1 };
            }
          } else {
            const viaResults = cursor!.viaResults;
            ({ status, body } = viaResults
              ? await client.run(RESULTS_AFTER, { id: cursor!.resultId, after: cursor!.after })
              : await client.run(SEARCH_AFTER, { q: cursor!.query, after: cursor!.after }));
            const field = viaResults ? 'results' : 'search';
            failure = problem(status, body, field, 'AuditEventConnection');
            const page = body.data?.[field];
            cursor = !failure && page.pageInfo.hasNextPage ? { ...cursor!, after: page.pageInfo.endCursor } : undefined;
            body = { data: { search: page } };
          }
          if (!failure) {
            for (const { node } of body.data.search.edges) {
              const v = node.verification;
              if ([v.hash, v.membership, v.consistency, v.signature].includes('FAIL')) failure = `${kind}: event ${node.hash} verification FAIL`;
              if (!node.published) continue;
              if (v.verdict === 'VERIFIED') publishedVerdicts.verified++;
              else if (v.verdict === 'FAILED') publishedVerdicts.failed++;
              else publishedVerdicts.pending.set(v.verdictReason, (publishedVerdicts.pending.get(v.verdictReason) ?? 0) + 1);
            }
          }
        }
      } catch (err) {
        failure = `request failed: ${(err as Error).message}`;
      }
      latencies[kind].push(performance.now() - started);
      if (failure) errors.push({ kind, message: failure });
    };
  };

  // Also resets the event-loop delay histogram, so the p99 read after the load is the load's.
  const runtimeBefore = await runtimeSample(gateway.url);
  const loadStarted = performance.now();
  const steps = Array.from({ length: CLIENTS }, (_, c) => clientStep(c));
  await measure((c) => steps[c]!(), { inFlight: CLIENTS, seconds: SECONDS, warmupRounds: 0 });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const runtimeAfter = await runtimeSample(gateway.url);
  clearInterval(sampler);
  clearInterval(trail);
  const loadPeakRss = Math.max(peakRss, memoryOf(gateway.pid).rss);

  // ------------------------------------------------------------------------------------------
  // Report of the load phase

  const total = KINDS.reduce((n, k) => n + latencies[k].length, 0);
  console.log('');
  console.log(`kind      requests    req/s    p50 ms    p99 ms    max ms  errors`);
  for (const kind of KINDS) {
    const sorted = [...latencies[kind]].sort((a, b) => a - b);
    const kindErrors = errors.filter((e) => e.kind === kind).length;
    console.log(
      `${kind.padEnd(8)}${String(sorted.length).padStart(10)}${(sorted.length / loadSeconds).toFixed(1).padStart(9)}` +
        `${percentile(sorted, 50).toFixed(1).padStart(10)}${percentile(sorted, 99).toFixed(1).padStart(10)}${(sorted.at(-1) ?? NaN).toFixed(1).padStart(10)}${String(kindErrors).padStart(8)}`,
    );
  }
  console.log(`all     ${String(total).padStart(10)}${(total / loadSeconds).toFixed(1).padStart(9)}`);
  console.log(`events acknowledged: ${acked.length} (${(acked.length / loadSeconds).toFixed(0)}/s)`);
  const pendingShown = [...publishedVerdicts.pending.values()].reduce((a, b) => a + b, 0);
  console.log(`published events on the load's pages: ${publishedVerdicts.verified} VERIFIED, ${pendingShown} PENDING, ${publishedVerdicts.failed} FAILED`);
  for (const [reason, n] of [...publishedVerdicts.pending].sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`  ${n} x PENDING: ${reason}`);
  console.log(`gateway RSS: peak ${loadPeakRss.toFixed(0)} MB during the load (sampled), VmHWM ${memoryOf(gateway.pid).hwm.toFixed(0)} MB`);
  console.log(`gateway RSS (MB) every 10 s: ${rssTrail.join(', ')}`);
  console.log(`embedded service RSS (MB) every 10 s: ${serviceRssTrail.join(', ')}`);
  console.log(`upstream calls during the load (the gateway's /metrics): ${await upstreamSummary(gateway.url)}`);
  console.log(`gateway runtime during the load (its /metrics): ${runtimeSummary(runtimeBefore, runtimeAfter, loadSeconds)}`);
  if (errors.length > 0) {
    const byMessage = new Map<string, number>();
    for (const e of errors) byMessage.set(`${e.kind}: ${e.message}`, (byMessage.get(`${e.kind}: ${e.message}`) ?? 0) + 1);
    console.log(`errors (${errors.length}):`);
    for (const [message, n] of [...byMessage].slice(0, 30)) console.log(`  ${n} x ${message}`);
  }

  // ------------------------------------------------------------------------------------------
  // Every acknowledged event is found and verifies

  await sleep(2500); // the embedded service publishes every 2 s: let the last events be published
  const verifyStarted = performance.now();
  const groups = new Map<string, Set<string>>();
  for (const a of acked) {
    const key = `${a.client}/${a.bucket}`;
    if (!groups.has(key)) groups.set(key, new Set());
    groups.get(key)!.add(a.hash);
  }
  const outcome = { found: 0, missing: 0, pass: 0, none: 0, fail: 0, published: 0 };
  const verifyProblems: string[] = [];
  /** Why events stayed PENDING, by verdictReason (printed: a PENDING event fails the run). */
  const pendingReasons = new Map<string, number>();
  const queue = [...groups.entries()];
  const verifyWorker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [key, hashes] = next;
      const [c, bucket] = key.split('/').map(Number) as [number, number];
      const name = `c${String(c).padStart(2, '0')}`;
      const q = `actor:load-${RUN}-${name} target:${name}-b${String(bucket).padStart(4, '0')}`;
      const seen = new Map<string, Json>();
      let after: string | null = null;
      for (let page = 0; page < 20; page++) {
        const { status, body } = await client.run(VERIFY, { q, after });
        const failure = problem(status, body, 'search', 'AuditEventConnection');
        if (failure) {
          verifyProblems.push(`${q}: ${failure}`);
          break;
        }
        for (const { node } of body.data.search.edges) seen.set(node.hash, node);
        if (!body.data.search.pageInfo.hasNextPage) break;
        after = body.data.search.pageInfo.endCursor;
      }
      for (const hash of hashes) {
        const node = seen.get(hash);
        if (!node) {
          outcome.missing++;
          if (verifyProblems.length < 30) verifyProblems.push(`${q}: acknowledged event ${hash} not found`);
          continue;
        }
        outcome.found++;
        if (node.published) outcome.published++;
        const v = node.verification;
        // Every event is published by now: each must be proven (VERIFIED), none FAILED.
        if (v.verdict === 'FAILED' || v.hash !== 'PASS' || v.membership !== 'PASS') {
          outcome.fail++;
          if (verifyProblems.length < 30) verifyProblems.push(`${hash}: ${JSON.stringify(v)}`);
        } else if (v.verdict === 'VERIFIED') outcome.pass++;
        else {
          outcome.none++;
          const reason = `${v.verdict}: ${v.verdictReason ?? 'no reason given'}`;
          pendingReasons.set(reason, (pendingReasons.get(reason) ?? 0) + 1);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, verifyWorker));
  const verifySeconds = (performance.now() - verifyStarted) / 1000;
  console.log('');
  console.log(
    `verification: ${outcome.found}/${acked.length} acknowledged events found (${outcome.published} published) in ${verifySeconds.toFixed(1)} s; ` +
      `${outcome.pass} VERIFIED, ${outcome.none} PENDING, ${outcome.fail} FAILED, ${outcome.missing} missing`,
  );
  for (const p of verifyProblems) console.log(`  ${p}`);
  for (const [reason, n] of [...pendingReasons].slice(0, 10)) console.log(`  ${n} x ${reason}`);

  const integrity = (await client.run(INTEGRITY, {})).body.data?.integrity;
  console.log(`integrity monitor: ${JSON.stringify(integrity)}`);
  const finalRss = memoryOf(gateway.pid);
  const serviceHwm = memoryOf(gateway.servicePid).hwm;
  await client.close();
  const exitCode = await gateway.stop();
  console.log(`gateway: VmHWM (peak RSS, load and verification) ${finalRss.hwm.toFixed(0)} MB; SIGTERM -> exit ${exitCode}`);
  console.log(`embedded service (its own process): VmHWM ${serviceHwm.toFixed(0)} MB`);
  rmSync(dir, { recursive: true, force: true });

  const sorted = (k: Kind) => [...latencies[k]].sort((a, b) => a - b);
  const p = (k: Kind) => `${k} p50/p99 ${percentile(sorted(k), 50).toFixed(0)}/${percentile(sorted(k), 99).toFixed(0)} ms`;
  // Every event is published by then, so each must be proven: one left PENDING is a failure too
  // (an unanchored history leaves them all PENDING without a single FAILED).
  const ok = errors.length === 0 && outcome.fail === 0 && outcome.none === 0 && outcome.missing === 0 && verifyProblems.length === 0 && exitCode === 0;
  console.log(
    `load: ${total} requests, ${errors.length} errors, ${(total / loadSeconds).toFixed(0)} req/s over ${loadSeconds.toFixed(0)} s with ${CLIENTS} clients, ` +
      `${KINDS.map(p).join(', ')}, peak RSS ${loadPeakRss.toFixed(0)} MB (+ service process VmHWM ${serviceHwm.toFixed(0)} MB), ${outcome.found}/${acked.length} acknowledged events found, ${outcome.pass} VERIFIED, ${outcome.none} PENDING, ${outcome.fail} verification failures${ok ? '' : ' — FAILED'}`,
  );
  if (!ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error('load bench failed:', err);
  process.exitCode = 1;
});
