// Comparison benchmark (`npm run bench:compare`): log, logBulk, a verified search page and root,
// each through the gateway, through the REST client directly and through the vendor SDK, in one
// run and one table, with the CPU each request costs the gateway's process and the service's.
//
// The product runs as `npm start` runs it: `node --import tsx src/main.ts` in a process of its own
// (bench/support/gateway-process.ts), a temp DATA_DIR, default settings (root published every
// 2 s, integrity check every 30 s), the embedded local audit service in the gateway's child
// process. The REST client (src/audit-client) and the SDK (pangea-node-sdk) rows talk to that same
// service directly, at its loopback port, with its token from DATA_DIR/token. This process only
// sends requests and checks answers.
//
// Data: BENCH_EVENTS events (default 3000, a third signed) are logged through the REST client
// and published before any row; `actor:bench-target` matches 30 of them, 20 on the first page.
// The search and root rows run first, while nothing is written, so every one of their answers is
// checked against the exact page and root read before the rows; the log rows come after.
//
// Every row checks every answer; a wrong one is counted, the row is marked FAILED in the table
// (last column), the first wrong answer is printed, and the run exits 1.
//
// CPU per request: /proc/<pid>/stat utime + stime of the gateway's process and of the service's
// process, read when the timed part of a row starts and when it ends, divided by the row's
// requests (clock ticks of 10 ms: a row of a few thousand requests reads to about 1 µs/req); and
// this process's own (the load generator and its checks), which shares the machine's cores with
// both, so a path that costs the client more leaves the servers less.
//
// The targets are read from a second measurement of their paths in alternating slices
// (bench/support/measure.ts measureAlternating, ABBA, BENCH_PAIRED_SECONDS per side, default twice
// BENCH_SECONDS): the page paths before anything is written, the log pair after the writes. Rows
// measured one after the other put the minutes between them into the ratio (on this VM the same
// code's log ratio read 30% in a full run and 37% in a run of the log rows alone); both ratios
// are printed. The page's paths include a third: REST + verify through a bare relay process
// (bench/support/relay-server.ts), the cost of the gateway's second HTTP hop with nothing else.
//
// BENCH_CONCURRENCY (default 16) requests in flight per row, BENCH_SECONDS (default 5) per row after
// BENCH_WARMUP_SECONDS (default 2) of untimed calls of the same path, and before the first row
// BENCH_PROCESS_WARMUP_SECONDS (default 10) of untimed calls over every read path of both sides;
// the search page is also measured at 1 in flight (latency, for the page target).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditService, PangeaConfig } from 'pangea-node-sdk';
import { GraphQLClient } from './support/graphql-client.js';
import { AuditClient, TreeNotFoundError } from '../src/audit-client/index.js';
import { verifySignatureNative } from '../src/crypto/native-ed25519.js';
import { verifyEnvelopeHashNative } from '../src/crypto/native-sha256.js';
import { PairCache, signEvent, verifyConsistency, verifyMembership } from '../src/merkle/index.js';
import type { PublishedRoot } from '../src/wire/index.js';
import { installArweaveStub } from '../test/support/arweave-stub.js';
import { upstreamLogCalls } from './support/gateway-metrics.js';
import { startGatewayProcess, processCpuMs, type GatewayProcess } from './support/gateway-process.js';
import { measure, measureAlternating, verdict, type Measured } from './support/measure.js';
import { spawnRelay, type ServerProcess } from './support/processes.js';
import { createRestPageVerifier, expectedPageChecks, pageChecksAre } from './support/rest-page.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SEED_EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
/** Untimed calls of each row's own path before its timed part (every path alike). */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
/** Untimed calls over all read paths, both sides, before the first row (the gateway's process is new). */
const PROCESS_WARMUP_SECONDS = Number(process.env.BENCH_PROCESS_WARMUP_SECONDS ?? 10);
/** Each side's time in a target's paired measurement (alternating slices). */
const PAIRED_SECONDS = Number(process.env.BENCH_PAIRED_SECONDS ?? 2 * SECONDS);
const BULK = 100;
const PAGE = 20;
/** The bound on a warm verified page: gateway p50 at most this times REST + verify p50. */
const PAGE_RATIO_TARGET = 1.3;
const QUERY = 'actor:bench-target';
/** The page pair's third side: REST + verify through the bare relay. */
const RELAYED_PAGE = 'REST + verify via a relay';
/** Every TARGET_EVERY-th seeded event is a bench-target event (30 in all). */
const TARGET_EVERY = Math.max(1, Math.floor(SEED_EVENTS / 30));
const RESULTS_FILE = fileURLToPath(new URL('./results/compare.md', import.meta.url));
const HEX64 = /^[0-9a-f]{64}$/;

// ---------------------------------------------------------------------------------------------
// GraphQL documents

const LOG = `mutation Log($e: AuditEventInput!) { log(event: $e) { __typename ... on LogResult { hash } ... on Error { message } } }`;
const LOG_VERIFY = `mutation LogVerify($e: AuditEventInput!) { log(event: $e, options: { verify: true }) { __typename ... on LogResult { hash verification { hash membership consistency signature verdict verdictReason failures } } ... on Error { message } } }`;
const LOG_BULK = `mutation LogBulk($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename ... on LogBulkResult { count results { hash } } ... on Error { message } } }`;
const ROOT = `query Root { root { __typename ... on PublishedRoot { size rootHash } ... on Error { message } } }`;
/** A request that reaches no upstream: what every GraphQL request costs before its resolvers call out. */
const TYPENAME = `query Typename { __typename }`;
/** The operation and path names of TYPENAME's rows. */
const NO_UPSTREAM = ['no upstream call', 'gateway { __typename }'] as const;
const SEARCH = `query Search($q: String!) {
  search(query: $q, first: ${PAGE}) {
    __typename
    ... on AuditEventConnection {
      totalCount
      edges {
        node {
          hash receivedAt message actor action target published leafIndex membershipProof signature publicKey
          verification { hash membership consistency signature witness verdict verdictReason verified failures }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
    ... on Error { message }
  }
}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

class WrongAnswer extends Error {}

/** A share as a percentage with one decimal: 49.7% is not printed as a 50% that missed 50%. */
function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function check(condition: unknown, what: () => string): asserts condition {
  if (!condition) throw new WrongAnswer(what());
}

/** The answer's data when it is JSON, HTTP 200 and has no errors; else WrongAnswer. */
async function answerData(client: GraphQLClient, query: string, variables: Record<string, unknown>): Promise<{ data: Json; text: string }> {
  const { status, body, text, json } = await client.run(query, variables);
  check(json, () => `HTTP ${status}, not JSON: ${text.slice(0, 200)}`);
  check(status === 200 && !body.errors, () => `HTTP ${status}: ${text.slice(0, 300)}`);
  return { data: body.data, text };
}

/** The field's value when the answer is HTTP 200, has no errors and the field is `typename`; else WrongAnswer. */
async function answerField(client: GraphQLClient, query: string, variables: Record<string, unknown>, field: string, typename: string): Promise<Json> {
  const { data, text } = await answerData(client, query, variables);
  const value = data?.[field];
  check(value?.__typename === typename, () => `${field} answered ${value?.__typename ?? 'nothing'}: ${text.slice(0, 300)}`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Events

/** An event of the standard schema, the same shape on every path (GraphQL input = wire event here). */
function event(path: string, worker: number, n: number, i = 0): Record<string, string> {
  return {
    message: `compare ${path} w${worker} #${n}.${i}`,
    actor: `cmp-${path}-w${worker}`,
    action: n % 2 ? 'update' : 'create',
    target: `record-${n % 1000}`,
    status: 'success',
    source: 'bench',
  };
}

function hashesOk(hashes: readonly unknown[], count: number): boolean {
  return hashes.length === count && hashes.every((h) => typeof h === 'string' && HEX64.test(h)) && new Set(hashes).size === count;
}

// ---------------------------------------------------------------------------------------------
// Rows

interface Row {
  operation: string;
  path: string;
  inFlight: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  gatewayCpuUs: number;
  serviceCpuUs: number;
  /** This process: the load generator with its answer checks (it shares the machine's cores). */
  clientCpuUs: number;
  wrong: number;
  firstWrong: string | undefined;
}

/** Counts the wrong answers of a path: a call that throws is one, and the first is kept to be printed. */
function answerChecker(call: (worker: number, n: number) => Promise<void>): { checked: (worker: number, n: number) => Promise<void>; wrong: () => number; firstWrong: () => string | undefined } {
  let wrong = 0;
  let firstWrong: string | undefined;
  const checked = async (worker: number, n: number): Promise<void> => {
    try {
      await call(worker, n);
    } catch (err) {
      wrong++;
      firstWrong ??= (err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err)).slice(0, 400);
    }
  };
  return { checked, wrong: () => wrong, firstWrong: () => firstWrong };
}

/** CPU ms so far of the gateway's process, the service's process, this one and the relay's. */
function cpuSample(gateway: GatewayProcess, relay?: ServerProcess): number[] {
  const own = process.cpuUsage();
  return [processCpuMs(gateway.pid), processCpuMs(gateway.servicePid), (own.user + own.system) / 1000, relay?.proc.pid ? processCpuMs(relay.proc.pid) : Number.NaN];
}

function rowOf(operation: string, path: string, m: Measured, cpuMs: readonly number[], answers: ReturnType<typeof answerChecker>): Row {
  const perRequestUs = (ms: number | undefined) => ((ms ?? Number.NaN) * 1000) / m.requests;
  return {
    operation,
    path,
    inFlight: m.inFlight,
    requests: m.requests,
    perSecond: m.perSecond,
    p50: m.p50,
    p99: m.p99,
    gatewayCpuUs: perRequestUs(cpuMs[0]),
    serviceCpuUs: perRequestUs(cpuMs[1]),
    clientCpuUs: perRequestUs(cpuMs[2]),
    wrong: answers.wrong(),
    firstWrong: answers.firstWrong(),
  };
}

function printRow(row: Row): void {
  console.log(
    `  ${row.operation.padEnd(12)} ${row.path.padEnd(24)} ${String(row.inFlight).padStart(3)} in flight: ${row.perSecond.toFixed(0).padStart(5)} req/s, p50 ${row.p50.toFixed(2)} ms` +
      (row.wrong ? `  — ${row.wrong} WRONG answers, first: ${row.firstWrong}` : ''),
  );
}

async function runRow(gateway: GatewayProcess, operation: string, path: string, inFlight: number, call: (worker: number, n: number) => Promise<void>): Promise<Row> {
  const answers = answerChecker(call);
  let before: number[] = [];
  const m = await measure(answers.checked, {
    inFlight,
    seconds: SECONDS,
    // Time, not a count of calls: V8 keeps compiling the hot paths for seconds after a process starts.
    warmupMs: WARMUP_SECONDS * 1000,
    onStart: () => {
      before = cpuSample(gateway);
    },
  });
  const row = rowOf(operation, path, m, cpuSample(gateway).map((v, k) => v - before[k]!), answers);
  printRow(row);
  return row;
}

/**
 * A target's paths again, in alternating slices (measureAlternating) of PAIRED_SECONDS per side in
 * all: rows measured one after the other put minutes of this machine's drift between the sides.
 * A side named in `relay.sides` runs through the relay: its row's gateway CPU column holds the
 * relay's CPU (the gateway's process has nothing to do then).
 */
async function runPair(gateway: GatewayProcess, operation: string, inFlight: number, sides: Array<[string, (worker: number, n: number) => Promise<void>]>, relay?: { process: ServerProcess; sides: ReadonlySet<string> }): Promise<Row[]> {
  const answers = sides.map(([, call]) => answerChecker(call));
  const measured = await measureAlternating(
    answers.map((a) => a.checked),
    {
      seconds: PAIRED_SECONDS,
      inFlight,
      // As the rows' warm-up: long enough for the paths' code to be compiled.
      warmupCalls: Math.max(20, Math.ceil(200 / inFlight)),
      sample: () => cpuSample(gateway, relay?.process),
    },
  );
  const pairRows = measured.sides.map((m, i) => {
    const [path] = sides[i]!;
    const [gatewayMs, serviceMs, clientMs, relayMs] = measured.counted[i]!;
    const cpu = relay?.sides.has(path) ? [relayMs!, serviceMs!, clientMs!] : [gatewayMs!, serviceMs!, clientMs!];
    return rowOf(`${operation} (paired)`, path, m, cpu, answers[i]!);
  });
  pairRows.forEach(printRow);
  return pairRows;
}

const HEADER = ['operation', 'path', 'in flight', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'gateway CPU µs/req', 'service CPU µs/req', 'client CPU µs/req', 'answers'];
/** Columns aligned left: the names and the answers. */
const TEXT_COLUMNS = new Set([0, 1, HEADER.length - 1]);

function cells(r: Row): string[] {
  const us = (v: number) => (Number.isNaN(v) ? 'n/a' : v.toFixed(0));
  return [r.operation, r.path, String(r.inFlight), String(r.requests), r.perSecond.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), us(r.gatewayCpuUs), us(r.serviceCpuUs), us(r.clientCpuUs), r.wrong ? `FAILED (${r.wrong} wrong)` : 'all checked ok'];
}

function textTable(rows: Row[]): string[] {
  const table = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (TEXT_COLUMNS.has(i) ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...table.map(line)];
}

function markdownTable(rows: Row[]): string[] {
  const align = HEADER.map((_, i) => (TEXT_COLUMNS.has(i) ? '---' : '---:'));
  return [`| ${HEADER.join(' | ')} |`, `| ${align.join(' | ')} |`, ...rows.map((r) => `| ${cells(r).join(' | ')} |`)];
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-compare-'));
  const dataDir = join(dir, 'data');
  const gateway = await startGatewayProcess(dataDir, { INTEGRITY_KEY_FILE: join(dir, 'integrity-key') });
  const arweave = installArweaveStub();
  const graphql = new GraphQLClient(gateway.url, CONCURRENCY);
  const rest = new AuditClient({ baseUrl: gateway.serviceUrl, token: gateway.serviceToken });
  let relay: ServerProcess | undefined;
  let relayed: AuditClient | undefined;
  const sdkConfig = new PangeaConfig({ baseUrlTemplate: gateway.serviceUrl, requestRetries: 0 });
  const sdk = new AuditService(gateway.serviceToken, sdkConfig);
  const rows: Row[] = [];
  let failedRun = false;
  try {
    // The page target's floor: the same REST client and verification, through a relay that only
    // passes the bytes on (bench/support/relay-server.ts), in a process of its own as the gateway is.
    relay = await spawnRelay(gateway.serviceUrl);
    relayed = new AuditClient({ baseUrl: relay.url, token: gateway.serviceToken });

    // ---- Seed through the REST client (bulk logs of 500, a third signed), then wait until it is
    // all published.
    const signingKey = randomBytes(32);
    for (let i = 0; i < SEED_EVENTS; i += 500) {
      const events = Array.from({ length: Math.min(500, SEED_EVENTS - i) }, (_, j) => {
        const n = i + j;
        const target = n % TARGET_EVERY === 7 % TARGET_EVERY;
        const e = { message: `bench event ${n}`, actor: target ? 'bench-target' : `user-${n % 97}`, action: n % 2 ? 'read' : 'write', target: `doc-${n % 31}` };
        return n % 3 === 0 ? { event: e, ...signEvent(e, signingKey) } : { event: e };
      });
      await rest.logBulk({ events });
    }
    const publishedSize = (): Promise<number> =>
      rest.root().then(
        (r) => r.result.data.size,
        (err: unknown) => {
          if (err instanceof TreeNotFoundError) return 0;
          throw err;
        },
      );
    const deadline = Date.now() + 30_000;
    while ((await publishedSize()) < SEED_EVENTS) {
      if (Date.now() > deadline) throw new Error(`the seed of ${SEED_EVENTS} events was not published within 30 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const expectedRoot = (await rest.root()).result.data;
    const firstPage = (await rest.search({ query: QUERY, limit: PAGE, verbose: true })).result;
    const expectedHashes = firstPage.events.map((e) => e.hash);
    if (expectedHashes.length !== PAGE || !firstPage.events.every((e) => e.published)) throw new Error(`the seeded page is not ${PAGE} published events`);
    const signedOnPage = firstPage.events.filter((e) => e.envelope.signature !== undefined).length;

    const cpu = cpus()[0];
    const started = new Date();
    const headerLines = [
      `compare benchmark, ${started.toISOString()}`,
      `machine: ${cpu?.model ?? 'unknown CPU'}, ${cpus().length} cores, node ${process.version}, ${process.platform} ${process.arch}`,
      `gateway pid ${gateway.pid} (node --import tsx src/main.ts, temp DATA_DIR, default settings; INTEGRITY_KEY_FILE in the temp dir, not ~/.config), embedded service pid ${gateway.servicePid} (its child) at ${gateway.serviceUrl}`,
      `data: ${SEED_EVENTS} events seeded and published (a third signed); page "${QUERY}" first ${PAGE}: all published, ${signedOnPage} signed; root size ${expectedRoot.size}`,
      `${CONCURRENCY} in flight per row unless the row says 1, ${SECONDS} s per row after ${WARMUP_SECONDS} s of untimed calls of the same path (and ${PROCESS_WARMUP_SECONDS} s over all read paths before the first row); every answer checked`,
    ];
    const pathLines = [
      'paths:',
      `  log        gateway: GraphQL log(event) (no options: the event's hash only; plain logs that arrive together go upstream as one v2/log call, LOG_COALESCING's default)`,
      `             | REST: v1/log (not verbose), one call per event | SDK: AuditService.log(event) (not verbose). Check: a hex sha256 hash.`,
      `  log verify gateway: GraphQL log(event, options: {verify: true}): prev_root = the gateway's last proven root, hash/membership/consistency/signature checked by the gateway`,
      `             REST + verify: v1/log verbose with prev_root = the last root this side proved (shared by all workers, as the gateway's), then src/merkle verifyEnvelopeHash (native SHA-256),`,
      `             verifyMembership, verifyConsistency (sharing a pair cache, as the gateway's) and the node:crypto signature check | SDK: AuditService.log(event, {verify: true}), one AuditService per worker`,
      `             (the SDK keeps one prev_root per instance). Check: hash, membership, consistency PASS (the SDK's first call per instance: consistency none), signature NONE;`,
      `             the gateway's verdict VERIFIED.`,
      `  logBulk    ${BULK} events per call, not verbose. gateway: GraphQL logBulk(events) | REST: v2/log | SDK: AuditService.logBulk. Check: ${BULK} distinct hex hashes.`,
      `  search     a verified ${PAGE}-event page. gateway: GraphQL search(query, first: ${PAGE}) with every event's verification (warm: root cache filled by the warm-up)`,
      `             REST + verify: v1/search + src/merkle verifyPage, roots cached (frozen, as the gateway's cache keeps them, so verifyPage keeps their pair verdicts on both sides),`,
      `             signature verdicts memoised (bench:gateway's like-with-like row)`,
      `             REST + verify via a relay (page target only): the same, through a bare relay in its own process (node:http in, undici out, bytes passed on unchanged,`,
      `             nothing parsed or checked in it): what the second HTTP hop alone costs. Its gateway CPU column is the relay's CPU.`,
      `             SDK: AuditService.search(query, {limit: ${PAGE}}, {verifyConsistency: true}) (arweave.net answered in-process with nothing; then v1/root).`,
      `             Check: the same ${PAGE} hashes in order as read before the rows; hash, membership, consistency PASS, signature PASS when signed (else NONE); gateway verdict VERIFIED.`,
      `  root       the latest published root, no verification fields. gateway: GraphQL root { size rootHash } | REST: v1/root | SDK: AuditService.root(). Check: equal to the root read before the rows.`,
      `  no upstream call  gateway only: GraphQL { __typename }, which no resolver answers by calling the service: the gateway's cost per request`,
      `             before any upstream call (HTTP in and out, yoga's pipeline, the protections, metrics). Check: __typename is Query.`,
    ];
    for (const line of [...headerLines, ...pathLines]) console.log(line);
    console.log('');

    // ---- search: a verified page
    const gatewaySearch = async (): Promise<void> => {
      const page = await answerField(graphql, SEARCH, { q: QUERY }, 'search', 'AuditEventConnection');
      const nodes: Json[] = page.edges.map((e: Json) => e.node);
      check(nodes.length === PAGE && nodes.every((n, i) => n.hash === expectedHashes[i]), () => `gateway page: ${nodes.map((n) => n.hash).join(',')}`);
      for (const n of nodes) {
        const v = n.verification;
        check(
          pageChecksAre([v.hash, v.membership, v.consistency, v.signature], n.published === true, n.signature !== null) && v.verdict === 'VERIFIED',
          () => `gateway event ${n.hash}: ${JSON.stringify(v)}`,
        );
      }
    };
    const verifiedRestSearch = (client: AuditClient, who: string) => {
      const pages = createRestPageVerifier(client);
      return async (): Promise<void> => {
        const { hashes, checks, published, signed } = await pages.search(QUERY, PAGE);
        check(hashes.length === PAGE && checks.length === PAGE && hashes.every((h, i) => h === expectedHashes[i]), () => `${who} page: ${checks.length} verdicts for ${hashes.join(',')}`);
        checks.forEach((c, i) => check(pageChecksAre(c, published[i]!, signed[i]!), () => `${who} event ${hashes[i]}: ${c.join('/')} (expected ${expectedPageChecks(published[i]!, signed[i]!).join('/')})`));
      };
    };
    const restSearch = verifiedRestSearch(rest, 'REST + verify');
    const relayedSearch = verifiedRestSearch(relayed, 'REST + verify via the relay');
    const sdkSearch = async (): Promise<void> => {
      const events = (await sdk.search(QUERY, { limit: PAGE }, { verifyConsistency: true })).result.events;
      check(events.length === PAGE && events.every((e, i) => e.hash === expectedHashes[i]), () => `SDK page: ${events.map((e) => e.hash).join(',')}`);
      for (const e of events) {
        // The SDK throws on an envelope hash mismatch instead of reporting it; its results are lower case.
        const got = ['PASS', e.membership_verification?.toUpperCase() ?? 'NONE', e.consistency_verification?.toUpperCase() ?? 'NONE', e.signature_verification?.toUpperCase() ?? 'NONE'];
        check(pageChecksAre(got, e.published === true, e.envelope.signature !== undefined), () => `SDK event ${e.hash}: ${got.join('/')}`);
      }
    };

    // ---- root
    const rootIsExpected = (size: unknown, hash: unknown, who: string): void =>
      check(size === expectedRoot.size && hash === expectedRoot.root_hash, () => `${who} root: size ${String(size)} ${String(hash)}, expected ${expectedRoot.size} ${expectedRoot.root_hash}`);
    const gatewayRoot = async (): Promise<void> => {
      const root = await answerField(graphql, ROOT, {}, 'root', 'PublishedRoot');
      rootIsExpected(root.size, root.rootHash, 'gateway');
    };
    const restRoot = async (): Promise<void> => {
      const root: PublishedRoot = (await rest.root()).result.data;
      rootIsExpected(root.size, root.root_hash, 'REST');
    };
    const sdkRoot = async (): Promise<void> => {
      const root = (await sdk.root()).result.data;
      rootIsExpected(root.size, root.root_hash, 'SDK');
    };

    // ---- no upstream call
    const gatewayTypename = async (): Promise<void> => {
      const { data, text } = await answerData(graphql, TYPENAME, {});
      check(data?.__typename === 'Query', () => `__typename answered: ${text.slice(0, 300)}`);
    };

    // ---- log
    let gatewayLogRequests = 0;
    const gatewayLog = async (w: number, n: number): Promise<void> => {
      gatewayLogRequests++;
      const log = await answerField(graphql, LOG, { e: event('gw', w, n) }, 'log', 'LogResult');
      check(hashesOk([log.hash], 1), () => `gateway log hash ${String(log.hash)}`);
    };
    const restLog = async (w: number, n: number): Promise<void> => {
      const { result } = await rest.log({ event: event('rest', w, n) });
      check(hashesOk([result.hash], 1), () => `REST log hash ${String(result.hash)}`);
    };
    const sdkLog = async (w: number, n: number): Promise<void> => {
      const { result } = await sdk.log(event('sdk', w, n));
      check(hashesOk([result.hash], 1), () => `SDK log hash ${String(result.hash)}`);
    };

    // ---- log with verify
    const gatewayLogVerify = async (w: number, n: number): Promise<void> => {
      const log = await answerField(graphql, LOG_VERIFY, { e: event('gwv', w, n) }, 'log', 'LogResult');
      const v = log.verification;
      check(
        hashesOk([log.hash], 1) && v.hash === 'PASS' && v.membership === 'PASS' && v.consistency === 'PASS' && v.signature === 'NONE' && v.verdict === 'VERIFIED',
        () => `gateway log verify ${String(log.hash)}: ${JSON.stringify(v)}`,
      );
    };
    // The chain this side proves, shared by its workers like the gateway's: it starts at the
    // published root read before the rows and moves on only when hash, membership and consistency PASS.
    let restChain = expectedRoot.root_hash;
    // The interior-hash cache the gateway's log verification shares between successive logs.
    const restProofPairs = new PairCache(4096);
    const restLogVerify = async (w: number, n: number): Promise<void> => {
      const prevRoot = restChain;
      const { result } = await rest.log({ event: event('restv', w, n), verbose: true, prev_root: prevRoot });
      const envelope = result.envelope;
      const hash = envelope ? verifyEnvelopeHashNative(envelope, result.hash) : { status: 'FAIL' as const, reason: 'envelope withheld' };
      const membership = result.membership_proof == null || !result.unpublished_root ? { status: 'FAIL' as const } : verifyMembership({ hash: result.hash, proof: result.membership_proof, rootHash: result.unpublished_root }, restProofPairs.hash);
      const consistency = result.consistency_proof === undefined ? { status: 'FAIL' as const } : verifyConsistency({ oldRootHash: prevRoot, newRootHash: result.unpublished_root, proof: result.consistency_proof }, restProofPairs.hash);
      const signature = envelope ? verifySignatureNative({ event: envelope.event, signature: envelope.signature, publicKey: envelope.public_key }) : { status: 'FAIL' as const };
      check(
        hash.status === 'PASS' && membership.status === 'PASS' && consistency.status === 'PASS' && signature.status === 'NONE',
        () => `REST log verify ${result.hash}: hash ${hash.status} membership ${membership.status} consistency ${consistency.status} signature ${signature.status}`,
      );
      restChain = result.unpublished_root!;
    };
    // One SDK instance per worker: the SDK chains each log to the previous answer of the same
    // instance (prevUnpublishedRootHash), which calls in flight at once on one instance would race for.
    const sdkPerWorker = Array.from({ length: CONCURRENCY }, () => ({ sdk: new AuditService(gateway.serviceToken, sdkConfig), calls: 0 }));
    const sdkLogVerify = async (w: number, n: number): Promise<void> => {
      const mine = sdkPerWorker[w]!;
      const firstCall = mine.calls++ === 0;
      const { result } = await mine.sdk.log(event('sdkv', w, n), { verify: true });
      const consistencyOk = result.consistency_verification === 'pass' || (firstCall && result.consistency_verification === 'none');
      check(
        hashesOk([result.hash], 1) && result.membership_verification === 'pass' && consistencyOk && result.signature_verification === 'none',
        () => `SDK log verify ${result.hash}: membership ${result.membership_verification} consistency ${result.consistency_verification} signature ${result.signature_verification}`,
      );
    };

    // ---- logBulk
    const bulkOf = (path: string, w: number, n: number) => Array.from({ length: BULK }, (_, i) => event(path, w, n, i));
    const gatewayBulk = async (w: number, n: number): Promise<void> => {
      const bulk = await answerField(graphql, LOG_BULK, { e: bulkOf('gwb', w, n) }, 'logBulk', 'LogBulkResult');
      check(bulk.count === BULK && hashesOk(bulk.results.map((r: Json) => r.hash), BULK), () => `gateway logBulk: count ${bulk.count}`);
    };
    const restBulk = async (w: number, n: number): Promise<void> => {
      const { result } = await rest.logBulk({ events: bulkOf('restb', w, n).map((e) => ({ event: e })) });
      check(hashesOk(result.results.map((r) => r.hash), BULK), () => `REST logBulk: ${result.results.length} results`);
    };
    const sdkBulk = async (w: number, n: number): Promise<void> => {
      const { result } = await sdk.logBulk(bulkOf('sdkb', w, n));
      check(hashesOk(result.results.map((r) => r.hash), BULK), () => `SDK logBulk: ${result.results.length} results`);
    };

    // ---- The rows. Reads first (nothing is written while they run), then the writes. The page
    // target's two paths are measured again in alternating slices before anything is written, the
    // log target's after the writes.
    type Plan = Array<[string, string, number, (w: number, n: number) => Promise<void>]>;
    const reads: Plan = [
      ['search', 'gateway (warm)', 1, gatewaySearch],
      ['search', 'REST + verify', 1, restSearch],
      ['search', 'SDK verifyConsistency', 1, sdkSearch],
      ['search', 'gateway (warm)', CONCURRENCY, gatewaySearch],
      ['search', 'REST + verify', CONCURRENCY, restSearch],
      ['search', 'SDK verifyConsistency', CONCURRENCY, sdkSearch],
      ['root', 'gateway', CONCURRENCY, gatewayRoot],
      ['root', 'REST v1/root', CONCURRENCY, restRoot],
      ['root', 'SDK', CONCURRENCY, sdkRoot],
      [...NO_UPSTREAM, 1, gatewayTypename],
      [...NO_UPSTREAM, CONCURRENCY, gatewayTypename],
    ];
    const writes: Plan = [
      ['log', 'gateway', CONCURRENCY, gatewayLog],
      ['log', 'REST v1/log', CONCURRENCY, restLog],
      ['log', 'SDK', CONCURRENCY, sdkLog],
      ['log verify', 'gateway', CONCURRENCY, gatewayLogVerify],
      ['log verify', 'REST + verify', CONCURRENCY, restLogVerify],
      ['log verify', 'SDK verify', CONCURRENCY, sdkLogVerify],
      [`logBulk ${BULK}`, 'gateway', CONCURRENCY, gatewayBulk],
      [`logBulk ${BULK}`, 'REST v2/log', CONCURRENCY, restBulk],
      [`logBulk ${BULK}`, 'SDK', CONCURRENCY, sdkBulk],
    ];
    // The gateway's process is new, while this process has run the REST client through the
    // seeding: the first rows would pay for V8 compiling the gateway's code. Every read path,
    // both sides, runs untimed first, so the rows compare processes that are both warm.
    const readPaths = [gatewaySearch, restSearch, relayedSearch, gatewayRoot, restRoot, gatewayTypename];
    console.log(`warm-up: ${PROCESS_WARMUP_SECONDS} s of untimed calls over the read paths, ${CONCURRENCY} in flight`);
    for (const call of readPaths) {
      const answers = answerChecker(call);
      await measure(answers.checked, { inFlight: CONCURRENCY, seconds: PROCESS_WARMUP_SECONDS / readPaths.length });
      if (answers.wrong() > 0) throw new Error(`warm-up: ${answers.wrong()} wrong answers, first: ${answers.firstWrong()}`);
    }
    console.log('rows:');
    for (const [operation, path, inFlight, call] of reads) rows.push(await runRow(gateway, operation, path, inFlight, call));
    const pagePair = await runPair(
      gateway,
      'search',
      1,
      [
        ['gateway (warm)', gatewaySearch],
        [RELAYED_PAGE, relayedSearch],
        ['REST + verify', restSearch],
      ],
      { process: relay, sides: new Set([RELAYED_PAGE]) },
    );
    let logGrouping = '';
    for (const [operation, path, inFlight, call] of writes) {
      if (call !== gatewayLog) {
        rows.push(await runRow(gateway, operation, path, inFlight, call));
        continue;
      }
      // What the gateway sent upstream for its plain logs (LOG_COALESCING groups them into v2/log).
      const [callsBefore, requestsBefore] = [await upstreamLogCalls(gateway.url), gatewayLogRequests];
      rows.push(await runRow(gateway, operation, path, inFlight, call));
      const callsAfter = await upstreamLogCalls(gateway.url);
      const [v1, v2] = [callsAfter.v1 - callsBefore.v1, callsAfter.v2 - callsBefore.v2];
      const requests = gatewayLogRequests - requestsBefore;
      logGrouping = `  for information, the gateway's log row (warm-up included): ${requests} log requests went upstream as ${v2} v2/log and ${v1} v1/log calls, ${(requests / Math.max(1, v1 + v2)).toFixed(1)} events per call`;
    }
    const logPair = await runPair(gateway, 'log', CONCURRENCY, [
      ['gateway', gatewayLog],
      ['REST v1/log', restLog],
    ]);
    rows.push(...pagePair, ...logPair);

    // ---- The table and the targets
    const find = (operation: string, path: string, inFlight: number): Row => rows.find((r) => r.operation === operation && r.path === path && r.inFlight === inFlight)!;
    const [gwPage, relayPageRow, restPageRow] = pagePair as [Row, Row, Row];
    const [gwLog, restLogRow] = logPair as [Row, Row];
    const gwLogV = find('log verify', 'gateway', CONCURRENCY);
    const restLogV = find('log verify', 'REST + verify', CONCURRENCY);
    const share = gwLog.perSecond / restLogRow.perSecond;
    const shareV = gwLogV.perSecond / restLogV.perSecond;
    const pageRatio = gwPage.p50 / restPageRow.p50;
    /** What the page target leaves the gateway over REST + verify, in ms at p50. */
    const pageAllowanceMs = (PAGE_RATIO_TARGET - 1) * restPageRow.p50;
    // The same ratios from the rows measured one after the other, for comparison with the pairs.
    const rowShare = find('log', 'gateway', CONCURRENCY).perSecond / find('log', 'REST v1/log', CONCURRENCY).perSecond;
    const rowPageRatio = find('search', 'gateway (warm)', 1).p50 / find('search', 'REST + verify', 1).p50;
    const bare = find(...NO_UPSTREAM, CONCURRENCY);
    const bareOne = find(...NO_UPSTREAM, 1);
    const targetLines = [
      `targets (the "(paired)" rows: each target's paths measured in alternating slices, ${PAIRED_SECONDS} s per side):`,
      `  gateway log req/s / REST v1/log req/s (${CONCURRENCY} in flight) = ${gwLog.perSecond.toFixed(0)} / ${restLogRow.perSecond.toFixed(0)} = ${percent(share)}  (target >= 50%: ${verdict(share >= 0.5)}; the rows one after the other: ${percent(rowShare)})`,
      `  gateway CPU per log request = ${(gwLog.gatewayCpuUs / 1000).toFixed(3)} ms  (target <= 0.2 ms: ${verdict(gwLog.gatewayCpuUs <= 200)})`,
      `  warm verified ${PAGE}-event page, 1 in flight: gateway p50 / REST + verify p50 = ${gwPage.p50.toFixed(2)} / ${restPageRow.p50.toFixed(2)} ms = ${pageRatio.toFixed(2)}x  (target <= ${PAGE_RATIO_TARGET}x: ${verdict(pageRatio <= PAGE_RATIO_TARGET)}; the rows one after the other: ${rowPageRatio.toFixed(2)}x)`,
      `    the gateway's share of a page at p50: ${(gwPage.p50 - restPageRow.p50).toFixed(2)} ms, of which the target allows ${pageAllowanceMs.toFixed(2)} ms`,
      `    the second hop alone (the bare relay): relay p50 / REST + verify p50 = ${relayPageRow.p50.toFixed(2)} / ${restPageRow.p50.toFixed(2)} ms = ${(relayPageRow.p50 / restPageRow.p50).toFixed(2)}x, ` +
        `the relay's CPU ${relayPageRow.gatewayCpuUs.toFixed(0)} µs per page; the gateway over the relay: ${gwPage.p50.toFixed(2)} / ${relayPageRow.p50.toFixed(2)} ms = ${(gwPage.p50 / relayPageRow.p50).toFixed(2)}x, ` +
        `its CPU ${gwPage.gatewayCpuUs.toFixed(0)} µs per page`,
      `  for information, log with verify on both sides (rows): ${gwLogV.perSecond.toFixed(0)} / ${restLogV.perSecond.toFixed(0)} req/s = ${percent(shareV)} (${verdict(shareV >= 0.5)} against 50%); ` +
        `gateway CPU ${(gwLogV.gatewayCpuUs / 1000).toFixed(3)} ms per request (${verdict(gwLogV.gatewayCpuUs <= 200)} against 0.2 ms)`,
      `  for information, a GraphQL request that calls nothing upstream ({ __typename }): gateway CPU ${(bare.gatewayCpuUs / 1000).toFixed(3)} ms per request at ${CONCURRENCY} in flight, ` +
        `p50 ${bareOne.p50.toFixed(2)} ms at 1 in flight (the page target allows the gateway ${pageAllowanceMs.toFixed(2)} ms over REST + verify)`,
      ...(logGrouping ? [logGrouping] : []),
    ];
    const failed = rows.filter((r) => r.wrong > 0);
    const failureLines = failed.map((r) => `  FAILED: ${r.operation} / ${r.path} / ${r.inFlight} in flight: ${r.wrong} wrong answers, first: ${r.firstWrong}`);
    const noteLines = arweave.requests.length === 0 ? ['  (note: the SDK never asked arweave.net)'] : [];

    console.log('');
    for (const line of textTable(rows)) console.log(line);
    console.log('');
    for (const line of [...targetLines, ...noteLines, ...failureLines]) console.log(line);

    mkdirSync(join(RESULTS_FILE, '..'), { recursive: true });
    writeFileSync(
      RESULTS_FILE,
      [
        '# bench:compare',
        '',
        'Generated by `npm run bench:compare` (bench/compare.bench.ts); overwritten by every run.',
        '',
        ...headerLines.map((l) => `- ${l}`),
        '',
        '```text',
        ...pathLines,
        '```',
        '',
        ...markdownTable(rows),
        '',
        '```text',
        ...targetLines,
        ...noteLines,
        ...failureLines,
        '```',
        '',
      ].join('\n'),
    );
    console.log(`\nwritten: ${RESULTS_FILE}`);
    failedRun = failed.length > 0;
  } finally {
    arweave.restore();
    await graphql.close();
    await rest.close();
    await relayed?.close();
    await relay?.stop();
    const code = await gateway.stop();
    if (code !== 0) console.error(`the gateway exited with code ${code}:\n${gateway.output().slice(-2000)}`);
    rmSync(dir, { recursive: true, force: true });
  }
  if (failedRun) {
    console.error('bench:compare: some answers were wrong (see FAILED above)');
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error('bench:compare failed:', err);
  process.exitCode = 1;
});
