// Audit client benchmark (`npm run bench:client`). Prints figures; exits non-zero only when an
// answer is wrong (a search that does not return its 20 events).
//
// Requests/second, p50/p99 latency and CPU per request of `root` and of a 20-event `search`, with
// 1, 10 and 50 requests in flight, for this client (undici) and the vendor Node SDK
// (pangea-node-sdk, on the global fetch), in the same run:
//   1. against the local audit service, seeded with a few hundred events and published, in its
//      own process (as `npm run local-audit`): every figure includes the service's work;
//   2. against a replay server, in its own process, answering every call with the response the
//      service gave to the same call: what each client costs by itself.
// "client CPU" is this process's CPU time per request, "server CPU" the server process's (/proc).
//
// Search rows:
//   audit-client             POST v1/search, envelope parsed; no verification (the gateway does
//                            that separately with src/merkle)
//   sdk (no verification)    AuditService.search with skipEventVerification: the SDK's transport
//   sdk (verifyConsistency)  the SDK's fully verified search: event hashes and signatures, then
//                            published roots from arweave.net (answered in-process with an empty
//                            list, see below), falling back to v1/root for each size it needs
//
// BENCH_SECONDS=n sets the measuring time per row (default 2).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditService, PangeaConfig } from 'pangea-node-sdk';
import { AuditClient, TreeNotFoundError } from '../src/audit-client/index.js';
import { spawnLocalAudit, spawnReplayServer, type ServerProcess } from './support/processes.js';
import { measure as measureLoop } from './support/measure.js';

const TOKEN = 'bench-client-token';
const SEED_EVENTS = 400;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const IN_FLIGHT = [1, 10, 50];
const QUERY = 'actor:bench';
const SEARCH = { query: QUERY, limit: 20, order: 'desc', order_by: 'received_at' } as const;

// ---------------------------------------------------------------------------------------------
// Keeping the SDK offline: it asks arweave.net (GraphQL) for published roots before falling back
// to v1/root. Requests to that host are answered at once with an empty transaction list; every
// other request goes to the real fetch.

function stubArweave(): () => void {
  const original = globalThis.fetch;
  const empty = JSON.stringify({ data: { transactions: { edges: [] } } });
  globalThis.fetch = async (input, init) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const host = new URL(href).hostname;
    if (host === 'arweave.net' || host.endsWith('.arweave.net')) {
      return new Response(empty, { status: 200, headers: { 'content-type': 'application/json' } });
    }
    return original(input, init);
  };
  return () => {
    globalThis.fetch = original;
  };
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Row {
  operation: string;
  client: string;
  inFlight: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU time this (client) process spent per request, in ms: the client's own cost. */
  cpuPerRequest: number;
  /** CPU time the service process spent per request, in ms (NaN where /proc is not readable). */
  serviceCpuPerRequest: number;
}

/** CPU time (user + system, ms) of another process, from /proc (Linux); NaN elsewhere. */
function processCpuMs(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}
// USER_HZ: 100 on every Linux build Node supports.
const CLOCK_TICKS = 100;


/** One row: `inFlight` calls kept going for `seconds`, with this process's and the server's CPU time. */
async function measure(call: () => Promise<unknown>, inFlight: number, seconds: number, servicePid: number): Promise<Omit<Row, 'operation' | 'client'>> {
  let cpuBefore = process.cpuUsage();
  let serviceBefore = 0;
  const m = await measureLoop(call, {
    inFlight,
    seconds,
    onStart: () => {
      cpuBefore = process.cpuUsage();
      serviceBefore = processCpuMs(servicePid);
    },
  });
  const cpu = process.cpuUsage(cpuBefore);
  const serviceCpu = processCpuMs(servicePid) - serviceBefore;
  return {
    inFlight,
    requests: m.requests,
    perSecond: m.perSecond,
    p50: m.p50,
    p99: m.p99,
    cpuPerRequest: (cpu.user + cpu.system) / 1000 / m.requests,
    serviceCpuPerRequest: serviceCpu / m.requests,
  };
}

function print(rows: Row[]): void {
  const header = ['operation', 'client', 'in flight', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'client CPU ms/req', 'server CPU ms/req'];
  const table = rows.map((r) => [
    r.operation,
    r.client,
    String(r.inFlight),
    String(r.requests),
    r.perSecond.toFixed(0),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    r.cpuPerRequest.toFixed(3),
    Number.isNaN(r.serviceCpuPerRequest) ? 'n/a' : r.serviceCpuPerRequest.toFixed(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const t of table) console.log(line(t));
}

/** The target (at least 2x the SDK's throughput at 50 in flight), and what bounds each side. */
function summarise(title: string, rows: Row[]): void {
  const at50 = (operation: string, client: string): Row => rows.find((r) => r.operation === operation && r.client === client && r.inFlight === 50)!;
  console.log(`\n${title}, at 50 in flight (target: audit-client >= 2x the SDK):`);
  for (const [operation, sdkClient] of [['root', 'sdk'], ['search 20', 'sdk (no verification)']] as const) {
    const ours = at50(operation, 'audit-client');
    const theirs = at50(operation, sdkClient);
    const ratio = ours.perSecond / theirs.perSecond;
    console.log(
      `  ${operation}: ${ours.perSecond.toFixed(0)} vs ${theirs.perSecond.toFixed(0)} req/s = ${ratio.toFixed(2)}x (${ratio >= 2 ? 'met' : 'MISSED'}); ` +
        `client CPU per request ${ours.cpuPerRequest.toFixed(3)} vs ${theirs.cpuPerRequest.toFixed(3)} ms (${(theirs.cpuPerRequest / ours.cpuPerRequest).toFixed(1)}x less), ` +
        `server CPU per request ${ours.serviceCpuPerRequest.toFixed(3)} ms`,
    );
  }
}

/**
 * What bounds the search row against the service: its single thread at its CPU per search, and
 * the SDK's own CPU per search (from the replay pass, where the server costs next to nothing).
 * 2x the SDK needs the service to answer at least twice the SDK's own ceiling.
 */
function bounds(serviceRows: Row[], replayRows: Row[]): void {
  const at50 = (rows: Row[], client: string): Row => rows.find((r) => r.operation === 'search 20' && r.client === client && r.inFlight === 50)!;
  const service = at50(serviceRows, 'audit-client');
  const sdkAlone = at50(replayRows, 'sdk (no verification)');
  const serviceCeiling = 1000 / service.serviceCpuPerRequest;
  console.log(
    `\nsearch 20 bounds: the service's one thread at ${service.serviceCpuPerRequest.toFixed(3)} ms per search answers at most ~${serviceCeiling.toFixed(0)} req/s; ` +
      `the SDK alone (replay) reached ${sdkAlone.perSecond.toFixed(0)} req/s, so 2x needs ~${(2 * sdkAlone.perSecond).toFixed(0)} req/s from the service ` +
      `(<= ${(500 / sdkAlone.perSecond).toFixed(3)} ms of service CPU per search).`,
  );
}

interface Operation {
  operation: string;
  client: string;
  call: () => Promise<unknown>;
}

/** The timed calls, for one client and one SDK pointed at the same server. */
function operationsFor(client: AuditClient, sdk: AuditService, withVerifiedSearch: boolean): Operation[] {
  const checkSearch = (count: number): void => {
    if (count !== 20) throw new WrongAnswer(`search returned ${count} events, not 20`);
  };
  return [
    { operation: 'root', client: 'audit-client', call: () => client.root() },
    { operation: 'root', client: 'sdk', call: () => sdk.root() },
    { operation: 'search 20', client: 'audit-client', call: async () => checkSearch((await client.search(SEARCH)).result.events.length) },
    { operation: 'search 20', client: 'sdk (no verification)', call: async () => checkSearch((await sdk.search(QUERY, { limit: 20 }, { skipEventVerification: true })).result.events.length) },
    ...(withVerifiedSearch
      ? [{ operation: 'search 20', client: 'sdk (verifyConsistency)', call: async () => checkSearch((await sdk.search(QUERY, { limit: 20 }, { verifyConsistency: true })).result.events.length) }]
      : []),
  ];
}

class WrongAnswer extends Error {}

async function measureAll(operations: Operation[], serverPid: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const op of operations) {
    for (const inFlight of IN_FLIGHT) {
      rows.push({ operation: op.operation, client: op.client, ...(await measure(op.call, inFlight, SECONDS, serverPid)) });
    }
  }
  return rows;
}

/** Raw response text of one POST, as the replay server will send it back. */
async function record(url: string, path: string, body: unknown): Promise<string> {
  const res = await fetch(`${url}/${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`recording ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return text;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-client-'));
  // Published every 100 ms, so the seed is published soon after it is written.
  const service = await spawnLocalAudit({ dataDir, token: TOKEN, publishIntervalMs: 100 });
  const restoreFetch = stubArweave();
  const clientOptions = { token: TOKEN, timeouts: { headersMs: 60_000, bodyMs: 60_000 } };
  const client = new AuditClient({ baseUrl: service.url, ...clientOptions });
  const sdk = new AuditService(TOKEN, new PangeaConfig({ baseUrlTemplate: service.url }));
  let replay: ServerProcess | undefined;
  let replayClient: AuditClient | undefined;
  try {
    // Seed: a few hundred events in bulk, then wait for the publisher so search results carry
    // published roots.
    for (let i = 0; i < SEED_EVENTS; i += 100) {
      await client.logBulk({
        events: Array.from({ length: 100 }, (_, j) => ({ event: { message: `bench event ${i + j}`, actor: 'bench', action: 'seed', target: `doc-${(i + j) % 17}` } })),
      });
    }
    const deadline = Date.now() + 10_000;
    const publishedSize = (): Promise<number> =>
      client.root().then(
        (r) => r.result.data.size,
        (err: unknown) => {
          if (err instanceof TreeNotFoundError) return 0; // nothing published yet
          throw err;
        },
      );
    while ((await publishedSize()) < SEED_EVENTS) {
      if (Date.now() > deadline) throw new Error('the seed was not published within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // Both clients must see the same thing before they are timed.
    const ours = await client.search(SEARCH);
    const theirs = await sdk.search(QUERY, { limit: 20 }, { verifyConsistency: true });
    if (ours.result.events.length !== 20 || theirs.result.events.length !== 20) throw new Error('a search did not return 20 events');
    if (ours.result.events[0]!.hash !== theirs.result.events[0]!.hash) throw new Error('the two clients disagree on the first event');
    if (theirs.result.events.some((e) => e.membership_verification !== 'pass')) throw new Error("the SDK's membership verification failed");

    console.log(`audit client benchmark: ${SEED_EVENTS} events, ${SECONDS} s per row, node ${process.version}`);
    console.log('\n1. against the local audit service (its own process; every figure includes its work)');
    const serviceRows = await measureAll(operationsFor(client, sdk, true), service.proc.pid!);
    print(serviceRows);

    // 2. The same calls answered by the replay server with the local service's own responses:
    // what each client costs by itself, once the server is no longer the bottleneck.
    const recorded = join(dataDir, 'replay.json');
    writeFileSync(recorded, JSON.stringify({ '/v1/root': await record(service.url, 'v1/root', {}), '/v1/search': await record(service.url, 'v1/search', SEARCH) }));
    replay = await spawnReplayServer(recorded);
    replayClient = new AuditClient({ baseUrl: replay.url, ...clientOptions });
    const replaySdk = new AuditService(TOKEN, new PangeaConfig({ baseUrlTemplate: replay.url }));
    console.log("\n2. against a replay server (its own process) answering with the service's recorded responses: the clients' own limits");
    const replayRows = await measureAll(operationsFor(replayClient, replaySdk, false), replay.proc.pid!);
    print(replayRows);

    summarise('1. local audit service', serviceRows);
    summarise('2. replay server', replayRows);
    bounds(serviceRows, replayRows);
  } finally {
    restoreFetch();
    await client.close();
    await replayClient?.close();
    await replay?.stop();
    await service.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
