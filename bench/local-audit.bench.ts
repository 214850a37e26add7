// Local audit service benchmark (`npm run bench:local-audit`). Prints figures; exits non-zero only
// when an answer is wrong (a search that does not find its 20 events, a proof that fails).
//  (a) ingest: v2/log with 1000-event batches from 4 concurrent keep-alive HTTP clients for ~10 s
//      against the service in its own process: events/second (target >= 50,000), p50/p99 latency,
//      and how far the trigram index (written by a thread of its own) was behind at the end.
//  (b) a 1M-event database (built in-process through AuditLog.append in big batches, then
//      published), served by the service in its own process: p50 of v1/root (target <= 20 ms) and
//      of selective searches returning 20 events with verbose proofs (target <= 100 ms): a query on
//      a rare actor value, and search_restriction ones.
//      Also, without targets: a bare-value search, a non-selective one (44,400 hits), one tenant's
//      searches (search_restriction on one of the 100 tenants: 10,000 events), a match-all.
//      Each timed search asks for its own max_results, so none reuses the matches a search worker
//      kept from an earlier one (store/match-cache.ts); a repeated search (kept matches) is timed
//      apart.
//      Then v1/log, one request at a time for ~10 s, while 4 clients keep running the worst search
//      the query bounds allow (bare values joined by OR, matching nothing: every event scanned,
//      the most field tests per event): p99 (target <= 50 ms). Searches run in worker threads.
//  (c) startup time of startLocalAudit on that 1M-event database (target <= 2 s).
//  (a') the ingest of (a) again, into the 1M-event database.
//  (a2) single events: v1/log, one event per request, 50 in flight, for ~5 s (no target): what
//      many callers logging one event each get (their appends share commits).
//  (d) a verifier's root requests (no target): 200,000 events logged and published, then v1/root
//      16 in flight for ~5 s each, for the latest root and for sizes among the last 8,000 (the
//      sizes a verifier of new events asks for, one request per size): requests/s, p50/p99 and
//      the service process's CPU per request (all its threads, from /proc). Then the search a
//      verifier's proof that a new root extends an older one starts with (every event received
//      since a time, oldest first: here the last 8,000), one at a time: p50/p99 and CPU.
// Data lives under os.tmpdir() and is deleted at the end. BENCH_EVENTS=n changes the 1M.
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { STANDARD_SCHEMA, startLocalAudit } from '../src/local-audit/index.js';
import { MAX_FIELD_TESTS, MAX_OR_WIDTH } from '../src/local-audit/query/index.js';
import { microTimestamp } from '../src/local-audit/core/clock.js';
import type { StoredEnvelope } from '../src/local-audit/store/event-store.js';
import { verifyMembership } from '../src/merkle/index.js';
import { processCpuMs } from './support/gateway-process.js';
import { spawnLocalAudit, type ServerProcess } from './support/processes.js';
import { benchEvent } from './support/events.js';
import { percentile } from './support/stats.js';
import { measure, timeEach } from './support/measure.js';

const TOKEN = 'bench-token';
const BIG = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const INGEST_SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 10);

type Json = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// Helpers


function stats(samples: number[]): { p50: number; p99: number; min: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), min: s[0]!, max: s[s.length - 1]! };
}

const ms = (n: number): string => `${n.toFixed(2)} ms`;
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

let failures = 0;
function check(ok: boolean, what: string): void {
  if (!ok) {
    failures++;
    console.error(`  WRONG: ${what}`);
  }
}

async function postJson(pool: Pool, path: string, body: string): Promise<Json> {
  const res = await pool.request({
    method: 'POST',
    path,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body,
  });
  const out = (await res.body.json()) as Json;
  if (out.status !== 'Success') throw new Error(`${path}: ${out.status} ${out.summary}`);
  return out.result as Json;
}

/**
 * `count` clients calling `call` back to back: 1 s of warm-up, then `seconds` measured. Returns the
 * latency of each measured call, the events they reported (call's result) and the measured seconds.
 */
async function measureClients(
  count: number,
  seconds: number,
  call: (client: number, n: number) => Promise<number>,
): Promise<{ latencies: number[]; events: number; elapsed: number }> {
  const m = await measure(call, { inFlight: count, seconds, warmupMs: 1000 });
  return { latencies: m.latencies, events: m.units, elapsed: m.elapsedMs / 1000 };
}

/** Runs `work` against the service in its own process on an empty data directory, then removes it. */
async function onFreshService(prefix: string, connections: number, work: (pool: Pool, svc: ServerProcess) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const svc = await spawnLocalAudit({ dataDir, token: TOKEN });
  const pool = new Pool(svc.url, { connections, pipelining: 1 });
  try {
    await work(pool, svc);
  } finally {
    await pool.close();
    await svc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// (a) ingest

async function ingest(existing?: string): Promise<void> {
  const dataDir = existing ?? mkdtempSync(join(tmpdir(), 'audit-bench-ingest-'));
  const svc = await spawnLocalAudit({ dataDir, token: TOKEN });
  const pool = new Pool(svc.url, { connections: 4, pipelining: 1 });
  try {
    // Bodies are built up front so the clients spend their CPU on HTTP, not on JSON.
    const bodies = Array.from({ length: 8 }, (_, b) =>
      JSON.stringify({ events: Array.from({ length: 1000 }, (_, i) => ({ event: benchEvent(b * 1000 + i) })) }),
    );
    const { latencies, events, elapsed } = await measureClients(4, INGEST_SECONDS, async (c, n) => {
      const r = await postJson(pool, '/v2/log', bodies[(c * 2 + n) % bodies.length]!);
      return r.results.length;
    });
    const rate = events / elapsed;
    const l = stats(latencies);
    console.log(`  ${events} events in ${latencies.length} requests over ${elapsed.toFixed(2)} s`);
    console.log(`  ingest rate: ${Math.round(rate)} events/s (target >= 50000: ${verdict(rate >= 50_000)})`);
    console.log(`  request latency: p50 ${ms(l.p50)}, p99 ${ms(l.p99)}, max ${ms(l.max)}`);
    const lag = await trigramIndexLag(dataDir);
    console.log(`  trigram index (its own thread): ${lag.behind} events behind when the load ended, caught up ${lag.ms.toFixed(0)} ms later`);
  } finally {
    await pool.close();
    await svc.stop();
    if (!existing) rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * How far the service's trigram index (audit-trigrams.sqlite, written by a thread of its own) is
 * behind the events right now, and how long it takes to cover them all, read from the files.
 */
async function trigramIndexLag(dataDir: string): Promise<{ behind: number; ms: number }> {
  const events = new Database(join(dataDir, 'audit.sqlite'), { readonly: true, fileMustExist: true });
  const index = new Database(join(dataDir, 'audit-trigrams.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const total = (events.prepare('SELECT coalesce(max(leaf_index) + 1, 0) FROM events').pluck().get() as number) ?? 0;
    const indexed = index.prepare(`SELECT value FROM meta WHERE key = 'indexed_size'`).pluck();
    const started = performance.now();
    const behind = total - Number(indexed.get());
    while (Number(indexed.get()) < total) {
      if (performance.now() - started > 60_000) throw new Error('the trigram index did not catch up within a minute');
      await new Promise((r) => setTimeout(r, 5));
    }
    return { behind, ms: performance.now() - started };
  } finally {
    events.close();
    index.close();
  }
}

// ---------------------------------------------------------------------------------------------
// (a2) single events

const SINGLE_IN_FLIGHT = 50;
const SINGLE_SECONDS = 5;

async function singleEvents(): Promise<void> {
  await onFreshService('audit-bench-single-', SINGLE_IN_FLIGHT, async (pool) => {
    const bodies = Array.from({ length: 100 }, (_, i) => JSON.stringify({ event: benchEvent(i) }));
    const { latencies, elapsed } = await measureClients(SINGLE_IN_FLIGHT, SINGLE_SECONDS, async (c, n) => {
      const r = await postJson(pool, '/v1/log', bodies[(c + n) % bodies.length]!);
      check(typeof r.hash === 'string' && r.hash.length === 64, 'v1/log answered with its hash');
      return 1;
    });
    const l = stats(latencies);
    console.log(`  ${latencies.length} events over ${elapsed.toFixed(2)} s: ${Math.round(latencies.length / elapsed)} events/s (no target)`);
    console.log(`  request latency: p50 ${ms(l.p50)}, p99 ${ms(l.p99)}, max ${ms(l.max)}`);
  });
}

// ---------------------------------------------------------------------------------------------
// (d) a verifier's root requests

const ROOT_EVENTS = 200_000;
const RECENT_SIZES = 8_000;
const ROOT_IN_FLIGHT = 16;
const ROOT_SECONDS = 5;

async function rootRequests(): Promise<void> {
  await onFreshService('audit-bench-roots-', ROOT_IN_FLIGHT, async (pool, svc) => {
    for (let at = 0; at < ROOT_EVENTS; at += 1000) {
      await postJson(pool, '/v2/log', JSON.stringify({ events: Array.from({ length: 1000 }, (_, i) => ({ event: benchEvent(at + i) })) }));
    }
    const deadline = Date.now() + 30_000;
    while ((await postJson(pool, '/v1/root', '{}').catch(() => ({ data: { size: 0 } }))).data.size < ROOT_EVENTS) {
      if (Date.now() > deadline) throw new Error(`the ${ROOT_EVENTS} events were not published within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    let seed = 777;
    const recentSize = (): number => ROOT_EVENTS - ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % RECENT_SIZES);
    const kinds: Array<[string, () => number | undefined]> = [
      ['latest root', () => undefined],
      [`one of the last ${RECENT_SIZES.toLocaleString('en')} sizes`, recentSize],
    ];
    for (const [name, size] of kinds) {
      const call = async (): Promise<void> => {
        const want = size();
        const root = await postJson(pool, '/v1/root', want === undefined ? '{}' : JSON.stringify({ tree_size: want }));
        check(root.data.size === (want ?? ROOT_EVENTS) && (want === undefined || want === 1 || Array.isArray(root.data.consistency_proof)), `v1/root for ${want ?? 'latest'}`);
      };
      await measure(call, { inFlight: ROOT_IN_FLIGHT, seconds: 1 });
      const cpuBefore = processCpuMs(svc.proc.pid!);
      const m = await measure(call, { inFlight: ROOT_IN_FLIGHT, seconds: ROOT_SECONDS });
      const cpuUs = ((processCpuMs(svc.proc.pid!) - cpuBefore) * 1000) / m.requests;
      console.log(`  v1/root, ${name}: ${m.perSecond.toFixed(0)} requests/s, p50 ${ms(m.p50)}, p99 ${ms(m.p99)}, service CPU ${cpuUs.toFixed(0)} µs per request`);
    }
    // The search a verifier's proof that a new root extends an older one starts with: every event
    // received since the older root's last leaf, oldest first, up to 10,000.
    const leafAt = ROOT_EVENTS - RECENT_SIZES;
    const startAt = (await postJson(pool, '/v1/search', JSON.stringify({ query: `message:"record ${leafAt} from"`, limit: 1, verbose: true }))).events[0]?.envelope.received_at;
    check(typeof startAt === 'string', `event ${leafAt} found by its message`);
    const extension = JSON.stringify({ query: '', start: startAt, order: 'asc', order_by: 'received_at', limit: 1, max_results: 10_000, verbose: true });
    const searchSince = async (): Promise<void> => {
      const found = await postJson(pool, '/v1/search', extension);
      check(found.count === RECENT_SIZES && found.events[0]?.leaf_index === leafAt, `the search since event ${leafAt}: ${found.count} events from leaf ${found.events[0]?.leaf_index}`);
    };
    for (let i = 0; i < 5; i++) await searchSince();
    const cpuBefore = processCpuMs(svc.proc.pid!);
    const times = await timeEach(200, searchSince, 0);
    const cpuUs = ((processCpuMs(svc.proc.pid!) - cpuBefore) * 1000) / times.length;
    const t = stats(times);
    console.log(`  v1/search of the ${RECENT_SIZES.toLocaleString('en')} events received since a time, oldest first, one at a time: p50 ${ms(t.p50)}, p99 ${ms(t.p99)}, service CPU ${cpuUs.toFixed(0)} µs per request`);
  });
}

// ---------------------------------------------------------------------------------------------
// (b) + (c) on a big database

const RARE_ACTOR = 'rare-actor-77';
const RARE_TENANT = 'tenant-rare';

async function buildBig(dataDir: string): Promise<void> {
  console.log(`\n(b) building a ${BIG.toLocaleString('en')}-event database in-process (AuditLog.append, 10,000 per transaction)`);
  const service = await startLocalAudit({ dataDir, port: 0, token: TOKEN, publishIntervalMs: 0, onError: (e) => console.error(e) });
  const every = Math.floor(BIG / 20);
  const t0 = performance.now();
  let last = t0;
  for (let start = 0; start < BIG; start += 10_000) {
    const envelopes: StoredEnvelope[] = [];
    for (let i = start; i < Math.min(BIG, start + 10_000); i++) {
      const event = benchEvent(i);
      // 20 events carry a rare actor, 20 others a rare tenant: what the selective searches find.
      if (i % every === 7) event.actor = RARE_ACTOR;
      if (i % every === Math.floor(every / 2)) event.tenant_id = RARE_TENANT;
      envelopes.push({ event, received_at: microTimestamp() });
    }
    service.log.append(envelopes);
    const done = start + envelopes.length;
    if (done % 100_000 === 0 || done === BIG) {
      const now = performance.now();
      console.log(`  ${done.toLocaleString('en')} events, ${((now - t0) / 1000).toFixed(1)} s (${Math.round(100_000 / ((now - last) / 1000))} events/s lately)`);
      last = now;
    }
  }
  service.log.publish();
  console.log(`  published size ${service.log.latestPublishedSize()}; build took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // The searches below are timed through a complete trigram index, as a service that has been
  // running gives them.
  const built = performance.now();
  await service.trigramsIndexed();
  console.log(`  the trigram index (its own thread) covered every event ${((performance.now() - built) / 1000).toFixed(1)} s after the last append`);
  await service.close();
  console.log(`  data directory: ${(dirBytes(dataDir) / 2 ** 20).toFixed(0)} MiB`);
}

async function startup(dataDir: string): Promise<void> {
  console.log(`\n(c) startLocalAudit on the ${BIG.toLocaleString('en')}-event database (in-process, 3 runs)`);
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const service = await startLocalAudit({ dataDir, port: 0, token: TOKEN, publishIntervalMs: 0 });
    runs.push(performance.now() - t);
    check(service.log.size === BIG, `restarted size ${service.log.size} != ${BIG}`);
    await service.close();
  }
  const worst = Math.max(...runs);
  console.log(`  startup: ${runs.map(ms).join(', ')} (target <= 2000 ms: ${verdict(worst <= 2000)})`);
}

async function queries(dataDir: string): Promise<void> {
  console.log(`\n(b) latency over HTTP, the service in its own process on the ${BIG.toLocaleString('en')}-event database`);
  const svc = await spawnLocalAudit({ dataDir, token: TOKEN });
  console.log(`  (process start to listening, node + tsx included: ${ms(svc.readyMs)})`);
  const pool = new Pool(svc.url, { connections: 1 });
  try {
    const root = await postJson(pool, '/v1/root', '{}');
    check(root.data.size === BIG, `v1/root size ${root.data.size}`);
    const latest = stats(await timeEach(200, async () => void (await postJson(pool, '/v1/root', '{}'))));
    console.log(`  v1/root latest:            p50 ${ms(latest.p50)}, p99 ${ms(latest.p99)} (target p50 <= 20 ms: ${verdict(latest.p50 <= 20)})`);
    let seed = 12345;
    const nextSize = (): number => 1 + ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % BIG);
    const sized = stats(await timeEach(200, async () => void (await postJson(pool, '/v1/root', JSON.stringify({ tree_size: nextSize() })))));
    console.log(`  v1/root random tree_size:  p50 ${ms(sized.p50)}, p99 ${ms(sized.p99)}`);

    const searches: Array<[string, Json]> = [
      [`query actor:${RARE_ACTOR}`, { query: `actor:${RARE_ACTOR}` }],
      [`restriction actor`, { query: '', search_restriction: { actor: [RARE_ACTOR] } }],
      [`restriction tenant_id`, { query: '', search_restriction: { tenant_id: [RARE_TENANT] } }],
      [`bare value ${RARE_ACTOR}`, { query: RARE_ACTOR }],
    ];
    // Not selective: actor:user-12 also matches user-120..129 and user-1200..1299 (44,400 events).
    const common = JSON.stringify({ query: 'actor:user-12', limit: 20, verbose: true });
    const commonFirst = await postJson(pool, '/v1/search', common);
    check(commonFirst.count === 10_000, `actor:user-12: count ${commonFirst.count} (max_results caps it at 10,000)`);
    for (const [label, body] of searches) {
      const text = JSON.stringify({ ...body, limit: 20, verbose: true });
      const first = await postJson(pool, '/v1/search', text);
      check(first.count === 20 && first.events.length === 20, `${label}: count ${first.count}`);
      for (const e of first.events) {
        const ok = verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: first.root.root_hash }).status === 'PASS';
        check(ok && e.published === true, `${label}: proof of leaf ${e.leaf_index}`);
      }
      // A search worker keeps the matches of recent searches (store/match-cache.ts); each timed
      // search differs in max_results, so each is found afresh.
      const s = stats(await timeEach(30, async (i) => void (await postJson(pool, '/v1/search', afresh(body, i))), 3));
      const target = label.startsWith('query') || label.startsWith('restriction') ? ` (target p50 <= 100 ms: ${verdict(s.p50 <= 100)})` : '';
      console.log(`  search ${label.padEnd(30)} p50 ${ms(s.p50)}, p99 ${ms(s.p99)}${target}`);
    }
    const c = stats(await timeEach(10, async (i) => void (await postJson(pool, '/v1/search', afresh({ query: 'actor:user-12' }, i))), 2));
    console.log(`  search ${'query actor:user-12 (44,400 hits)'.padEnd(30)} p50 ${ms(c.p50)}, p99 ${ms(c.p99)} (no target)`);
    // A tenant's own search: restricted to one of the 100 tenants (10,000 events, 1%).
    const tenant = stats(await timeEach(10, async (i) => void (await postJson(pool, '/v1/search', afresh({ query: '', search_restriction: { tenant_id: ['tenant-12'] } }, i))), 2));
    console.log(`  search ${'restriction tenant-12 (10,000 hits)'.padEnd(30)} p50 ${ms(tenant.p50)}, p99 ${ms(tenant.p99)} (no target)`);
    const tenantQuery = stats(await timeEach(10, async (i) => void (await postJson(pool, '/v1/search', afresh({ query: 'action:login', search_restriction: { tenant_id: ['tenant-12'] } }, i))), 2));
    console.log(`  search ${'action:login, tenant-12'.padEnd(30)} p50 ${ms(tenantQuery.p50)}, p99 ${ms(tenantQuery.p99)} (no target)`);
    // The same search again over the unchanged log: its kept matches.
    for (const [label, body] of [[`query actor:${RARE_ACTOR}`, searches[0]![1]], ['query actor:user-12 (44,400 hits)', { query: 'actor:user-12' }]] as const) {
      const text = JSON.stringify({ ...body, limit: 20, verbose: true });
      const again = stats(await timeEach(30, async () => void (await postJson(pool, '/v1/search', text)), 3));
      console.log(`  search ${label} repeated (kept matches): p50 ${ms(again.p50)}, p99 ${ms(again.p99)} (no target)`);
    }
    const all = stats(await timeEach(5, async (i) => void (await postJson(pool, '/v1/search', afresh({ query: '' }, i))), 1));
    console.log(`  search "" (every event, 10,000-result set) p50 ${ms(all.p50)}, p99 ${ms(all.p99)} (no target)`);
    await logWhileSearching(svc.url, pool);
  } finally {
    await pool.close();
    await svc.stop();
  }
}

/** A search body no search worker has kept the matches of: max_results differs per call `i` (>= -3). */
function afresh(body: Json, i: number): string {
  return JSON.stringify({ ...body, limit: 20, verbose: true, max_results: 9_997 - i });
}

const WORST_SEARCHES = 4;
const LOG_WHILE_SEARCHING_SECONDS = 10;

/** The dearest query the bounds allow on the standard schema: bare values (each tests every searchable field) joined by OR, found nowhere. */
function worstAllowedQuery(): string {
  const searchable = STANDARD_SCHEMA.fields.filter((f) => f.type !== 'string-unindexed').length;
  const terms = Math.min(MAX_OR_WIDTH, Math.floor(MAX_FIELD_TESTS / searchable));
  return Array.from({ length: terms }, (_, i) => `absent-${i}`).join(' OR ');
}

async function logWhileSearching(url: string, pool: Pool): Promise<void> {
  // Each search asks for a different max_results, so none reuses the matches a worker kept.
  let searchesStarted = 0;
  const body = (): string => JSON.stringify({ query: worstAllowedQuery(), limit: 20, max_results: 10_000 - (searchesStarted++ % 5000) });
  const searchPool = new Pool(url, { connections: WORST_SEARCHES });
  let searching = true;
  let finished = 0;
  let pastDeadline = 0;
  const searchers = Array.from({ length: WORST_SEARCHES }, async () => {
    while (searching) {
      const res = await searchPool.request({ method: 'POST', path: '/v1/search', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body() });
      const out = (await res.body.json()) as Json;
      if (out.status === 'Success') {
        finished++;
        check(out.result.count === 0, `the worst search found ${out.result.count} events`);
      } else if (out.status === 'ValidationError' && String(out.summary).startsWith('search too expensive')) {
        pastDeadline++;
      } else {
        check(false, `the worst search answered ${out.status} ${out.summary}`);
      }
    }
  });
  let m: Awaited<ReturnType<typeof measure>>;
  try {
    const bodies = Array.from({ length: 100 }, (_, i) => JSON.stringify({ event: benchEvent(i) }));
    m = await measure(
      async (_w, n) => {
        const r = await postJson(pool, '/v1/log', bodies[n % bodies.length]!);
        check(typeof r.hash === 'string' && r.hash.length === 64, 'v1/log answered with its hash');
      },
      { inFlight: 1, seconds: LOG_WHILE_SEARCHING_SECONDS, warmupRounds: 5 },
    );
  } finally {
    // The searches in progress run to their end (or their deadline) before they are counted.
    searching = false;
    await Promise.all(searchers);
    await searchPool.close();
  }
  console.log(
    `  v1/log p99 while ${WORST_SEARCHES} of the worst allowed searches run: p50 ${ms(m.p50)}, p99 ${ms(m.p99)}, max ${ms(m.latencies[m.latencies.length - 1]!)} (target p99 <= 50 ms: ${verdict(m.p99 <= 50)})`,
  );
  console.log(`    ${m.requests} logs in ${(m.elapsedMs / 1000).toFixed(1)} s; ${finished} of the worst searches ran to their end, ${pastDeadline} stopped at the search deadline`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(`local-audit benchmark — node ${process.version}, ${BIG.toLocaleString('en')} events for (b)/(c)`);
  const only = process.env.BENCH_ONLY; // "ingest", "roots" or "big", to run one part
  if (only !== 'big' && only !== 'roots') {
    console.log(`\n(a) ingest: v2/log, 1000-event batches, 4 concurrent keep-alive clients, ${INGEST_SECONDS} s, empty database`);
    await ingest();
    console.log(`\n(a2) single events: v1/log, one event per request, ${SINGLE_IN_FLIGHT} in flight, ${SINGLE_SECONDS} s, empty database`);
    await singleEvents();
  }
  if (only === 'roots' || only === undefined) {
    console.log(`\n(d) a verifier's root requests: v1/root, ${ROOT_IN_FLIGHT} in flight, ${ROOT_SECONDS} s each, ${ROOT_EVENTS.toLocaleString('en')} events`);
    await rootRequests();
  }
  if (only !== 'ingest' && only !== 'roots') {
    const dataDir = mkdtempSync(join(tmpdir(), 'audit-bench-big-'));
    try {
      await buildBig(dataDir);
      await startup(dataDir);
      await queries(dataDir);
      console.log(`\n(a') the same ingest into the ${BIG.toLocaleString('en')}-event database (no target; shows what a big index costs)`);
      await ingest(dataDir);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  if (failures > 0) {
    console.error(`\n${failures} wrong answer(s)`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
