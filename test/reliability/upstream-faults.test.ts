// Upstream faults under load. The local audit service runs as a separate process
// (`node --import tsx src/local-audit/main.ts` on a fixed port and data dir) and a gateway runs
// in-process against it as a remote upstream. Concurrent clients log and search while the service
// is killed with SIGKILL: the gateway must answer UpstreamUnavailableError (typed, HTTP 200, never
// a 500 or a crash) and /ready 503; after the service is restarted on the same port and data dir
// the gateway recovers on its own, and every event it acknowledged is found by search and
// verifies. Then a proxy in front of the service delays answers past the client's timeout, answers
// 5xx (envelopes and a load balancer's HTML) and malformed bodies: each is a typed error too, after
// no more upstream attempts than the client's retry policy allows. (Memory under sustained load is
// bench:load's figure, not a test's: a bound on RSS is a guess about the machine.)
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { AuditClient } from '../../src/audit-client/index.js';
import { createGateway } from '../../src/gateway/server.js';
import { startGateway, type RunningGateway } from '../../src/gateway/start.js';
import { CursorCodec } from '../../src/graphql/cursor.js';
import { createUpstreamState } from '../../src/graphql/upstream-state.js';
import { refusedPort, tempDir, type Json } from '../support/gateway.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const TOKEN = `fault-test-${randomBytes(12).toString('hex')}`;
const ACTOR = `fault-${randomBytes(4).toString('hex')}`;

const LOG = `mutation L($e: AuditEventInput!) { log(event: $e) { __typename ... on LogResult { hash } ... on UpstreamUnavailableError { message transient } ... on WriteOutcomeUnknownError { accepted } ... on Error { message } } }`;
const SEARCH = `query S($q: String!, $after: String) { search(query: $q, first: 10, after: $after) { __typename ... on AuditEventConnection { totalCount edges { node { hash } } pageInfo { endCursor } } ... on UpstreamUnavailableError { message transient } ... on Error { message } } }`;
const VERIFY = `query V($q: String!, $after: String) { search(query: $q, order: ASC, first: 1000, after: $after, maxResults: 10000) { __typename ... on AuditEventConnection { totalCount edges { node { hash published verification { hash membership consistency signature failures } } } pageInfo { hasNextPage endCursor } } ... on Error { message } } }`;
const ROOT_Q = `{ root { __typename ... on PublishedRoot { size } ... on UpstreamUnavailableError { message transient } ... on Error { message } } }`;

/** Starts the local service as its own process; resolves once it listens. */
async function startService(port: number, dataDir: string): Promise<ChildProcess> {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, LOCAL_AUDIT_PORT: String(port), DATA_DIR: dataDir, AUDIT_TOKEN: TOKEN, LOCAL_AUDIT_PUBLISH_INTERVAL_MS: '300' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/local-audit/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local service did not start within 30 s:\n${out}`)), 30_000);
    const onData = (c: Buffer): void => {
      out += c.toString('utf8');
      if (out.includes('local-audit: listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local service exited (${code}):\n${out}`));
    });
  });
  child.removeAllListeners('exit');
  return child;
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function post(url: string, query: string, variables?: Record<string, unknown>): Promise<{ status: number; body: Json }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let body: Json;
  try {
    body = JSON.parse(text);
  } catch {
    body = { unparsable: text.slice(0, 300) };
  }
  return { status: res.status, body };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('upstream faults under load', () => {
  let dir: string;
  let port: number;
  let service: ChildProcess | undefined;
  let gw: RunningGateway | undefined;
  let errorSpy: jest.SpiedFunction<typeof console.error>;

  beforeAll(async () => {
    dir = tempDir('upstream-faults-');
    port = await refusedPort();
    service = await startService(port, join(dir, 'data'));
    // Check errors of the integrity monitor while the service is down are logged: keep them quiet.
    errorSpy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    gw = await startGateway(
      {
        host: '127.0.0.1',
        port: 0,
        upstream: { kind: 'remote', baseUrl: `http://127.0.0.1:${port}`, token: TOKEN, configId: undefined, tenantId: undefined },
        signingKeyFile: undefined,
        cursorSecret: 'faults',
        maxBodyBytes: 1024 * 1024,
        graphiql: false,
        integrityCheckIntervalMs: 500,
        integrityStateFile: join(dir, 'integrity.json'),
      },
      () => undefined,
    );
    // Warm up (code loaded, first requests compiled).
    for (let i = 0; i < 20; i++) await post(gw.url, SEARCH, { q: `actor:${ACTOR}` });
  });
  afterAll(async () => {
    await gw?.close({ drainMs: 2000 });
    if (service) await killHard(service);
    errorSpy?.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kill -9 mid-load: typed errors and /ready 503, recovery by itself after a restart, every acknowledged event found and verified', async () => {
    const url = gw!.url;
    const origin = new URL(url).origin;
    const ready = async () => (await fetch(`${origin}/ready`)).status;
    expect(await ready()).toBe(200);

    type Outcome = { phase: string; kind: string; status: number; typename: string; message?: string; errors?: unknown };
    const outcomes: Outcome[] = [];
    const acked = new Set<string>();
    let phase = 'healthy';
    let running = true;
    const hardStop = Date.now() + 60_000;
    let seq = 0;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; running && Date.now() < hardStop; i++) {
        // A request belongs to a phase when it started and ended in it (else "a->b", either outcome).
        const began = phase;
        const span = (): string => (phase === began ? began : `${began}->${phase}`);
        if (i % 2 === 0) {
          const n = seq++;
          const { status, body } = await post(url, LOG, { e: { message: `load ${n}`, actor: ACTOR, target: `w${w}` } });
          const result = body.data?.log;
          outcomes.push({ phase: span(), kind: 'log', status, typename: result?.__typename ?? 'none', message: result?.message, ...(body.errors ? { errors: body.errors } : {}) });
          if (result?.__typename === 'LogResult') acked.add(result.hash);
        } else {
          const { status, body } = await post(url, SEARCH, { q: `actor:${ACTOR} target:w${w}` });
          outcomes.push({ phase: span(), kind: 'search', status, typename: body.data?.search?.__typename ?? 'none', message: body.data?.search?.message, ...(body.errors ? { errors: body.errors } : {}) });
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    const count = (ph: string, typename: string) => outcomes.filter((o) => o.phase === ph && o.typename === typename).length;
    // Each phase lasts until it has the outcomes it is judged on (or the hard stop): on a loaded
    // machine a fixed time may hold too few requests to say anything.
    const until = async (enough: () => boolean): Promise<void> => {
      while (!enough() && Date.now() < hardStop) await sleep(50);
    };

    await until(() => count('healthy', 'LogResult') > 10 && count('healthy', 'AuditEventConnection') > 0);
    phase = 'down';
    await killHard(service!);
    service = undefined;
    await until(() => count('down', 'UpstreamUnavailableError') > 5);
    expect(await ready()).toBe(503);
    const readyBody = await (await fetch(`${origin}/ready`)).json();
    expect(readyBody).toEqual({ status: 'not ready', detail: expect.stringMatching(/^audit service not reachable: /) });

    phase = 'restarting';
    service = await startService(port, join(dir, 'data'));
    const deadline = Date.now() + 20_000;
    while ((await ready()) !== 200 && Date.now() < deadline) await sleep(100);
    expect(await ready()).toBe(200);
    phase = 'recovered';
    await until(() => count('recovered', 'LogResult') > 10 && count('recovered', 'AuditEventConnection') > 10);
    running = false;
    await Promise.all(workers);

    // Never an HTTP error, never a GraphQL error (a masked crash): successes or the typed errors,
    // whatever the phase (a log in flight at the kill may be WriteOutcomeUnknownError: sent, its
    // answer lost).
    const bad = outcomes.filter((o) => o.status !== 200 || o.errors !== undefined || !['LogResult', 'AuditEventConnection', 'UpstreamUnavailableError', 'WriteOutcomeUnknownError'].includes(o.typename));
    expect(bad).toEqual([]);
    expect(count('healthy', 'LogResult')).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o.phase === 'healthy' && o.typename !== 'LogResult' && o.typename !== 'AuditEventConnection')).toEqual([]);
    expect(count('down', 'UpstreamUnavailableError')).toBeGreaterThan(5);
    expect(count('down', 'LogResult') + count('down', 'AuditEventConnection')).toBeLessThan(outcomes.filter((o) => o.phase === 'down').length);
    // After /ready said 200 again, everything succeeds.
    expect(count('recovered', 'LogResult')).toBeGreaterThan(10);
    expect(count('recovered', 'AuditEventConnection')).toBeGreaterThan(10);
    expect(count('recovered', 'UpstreamUnavailableError')).toBe(0);

    // Every acknowledged event is there and verifies (published or not yet).
    const found = new Map<string, Json>();
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const { body } = await post(url, VERIFY, { q: `actor:${ACTOR}`, after });
      expect(body.data.search.__typename).toBe('AuditEventConnection');
      for (const { node } of body.data.search.edges) found.set(node.hash, node);
      if (!body.data.search.pageInfo.hasNextPage) break;
      after = body.data.search.pageInfo.endCursor;
    }
    const missing = [...acked].filter((h) => !found.has(h));
    expect(missing).toEqual([]);
    for (const hash of acked) {
      const v = found.get(hash).verification;
      expect({ hash, failures: v.failures }).toEqual({ hash, failures: [] });
      expect(v.hash).toBe('PASS');
      expect(v.membership).toBe('PASS');
      expect(['PASS', 'NONE']).toContain(v.consistency);
      expect(v.signature).toBe('NONE');
    }
    // The integrity monitor rode it out: check errors while down, never a failure.
    const integrity = await gw!.integrity!.checkNow();
    expect(integrity.state).toBe('OK');
    expect(integrity.lastVerifiedSize).toBeGreaterThan(0);
  }, 150_000);

  describe('a proxy in front of the service: slow, 5xx and malformed answers', () => {
    type Mode = 'pass' | 'slow' | 'html502' | 'envelope503' | 'envelope500' | 'non-json' | 'truncated' | 'no-envelope' | 'accepted';
    let mode: Mode = 'pass';
    /** Requests the proxy received in the current mode, by path. */
    let attempts = new Map<string, number>();
    let proxy: Server;
    let gatewayUrl: string;
    let close: () => Promise<void>;
    let proxyUrlOf: () => string = () => '';

    beforeAll(async () => {
      if (!service) service = await startService(port, join(dir, 'data'));
      proxy = createServer((req, res) => {
        res.on('error', () => undefined);
        attempts.set(req.url ?? '', (attempts.get(req.url ?? '') ?? 0) + 1);
        const envelope = (status: string, code: number) => {
          const body = JSON.stringify({ request_id: `prq_${'a'.repeat(32)}`, request_time: new Date().toISOString(), response_time: new Date().toISOString(), status, summary: `proxy says ${status}`, result: null });
          res.writeHead(code, { 'content-type': 'application/json' }).end(body);
        };
        req.resume();
        req.on('end', () => {
          if (mode === 'html502') return res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
          if (mode === 'envelope503') return envelope('ServiceNotAvailable', 503);
          if (mode === 'accepted') {
            // A 202 for the request and for every poll of it: accepted, never finished in time.
            const body = JSON.stringify({ request_id: `prq_${'b'.repeat(32)}`, request_time: new Date().toISOString(), response_time: new Date().toISOString(), status: 'Accepted', summary: 'in progress', result: { ttl_mins: 60, retry_counter: 0, location: `${proxyUrlOf()}/request/prq_${'b'.repeat(32)}` } });
            return res.writeHead(202, { 'content-type': 'application/json' }).end(body);
          }
          if (mode === 'envelope500') return envelope('InternalError', 500);
          if (mode === 'non-json') return res.writeHead(200, { 'content-type': 'application/json' }).end('<html>maintenance</html>');
          if (mode === 'truncated') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"request_id":"prq_');
          if (mode === 'no-envelope') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":"world"}');
          // slow: answer nothing for longer than the client waits (the socket is cut at the end).
          if (mode === 'slow') return;
          res.writeHead(500).end('proxy mode pass is not used for requests here');
        });
      });
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
      const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
      proxyUrlOf = () => proxyUrl;
      // A gateway built by hand so its client can have a short timeout (the product's is 30 s).
      const client = new AuditClient({
        baseUrl: proxyUrl,
        token: TOKEN,
        timeouts: { headersMs: 600, bodyMs: 600 },
        retry: { retries: 1, baseDelayMs: 20, maxDelayMs: 50 },
        polling: { initialDelayMs: 20, maxDelayMs: 50, deadlineMs: 300 },
      });
      const gateway = createGateway({ client, upstream: createUpstreamState({ client, oneEventPerLeaf: false, trustOnFirstUse: true }), cursors: new CursorCodec(Buffer.from('proxy-test')), graphiql: false, logError: () => undefined });
      await new Promise<void>((r) => gateway.server.listen(0, '127.0.0.1', () => r()));
      gatewayUrl = `http://127.0.0.1:${(gateway.server.address() as { port: number }).port}/graphql`;
      close = async () => {
        await new Promise<void>((r) => {
          gateway.server.close(() => r());
          gateway.server.closeAllConnections();
        });
        await client.close();
        proxy.closeAllConnections();
        await new Promise<void>((r) => proxy.close(() => r()));
      };
    });
    afterAll(async () => {
      await close?.();
    });

    // transient: a timeout, a 5xx or a cut-off body may pass; a 200 with a body that is not an
    // envelope will not (the client does not retry it either). The log reached the service in
    // each case but the 503 (the service says it did not take it): whether it was stored is
    // unknown, and the caller is told so rather than to retry.
    test.each<[Mode, RegExp, boolean, RegExp | null]>([
      ['slow', /could not be reached: .*(timeout|timed out|headers)/i, true, /answer was lost \(.*(timeout|timed out|headers)/i],
      ['html502', /could not be reached: .*502/, true, /answer was lost \(.*502/],
      ['envelope503', /failed: proxy says ServiceNotAvailable/, true, null],
      ['envelope500', /failed: proxy says InternalError/, true, /failed while storing \(proxy says InternalError\): the events may have been stored/],
      ['non-json', /could not be reached: /, false, /answer was lost/],
      ['truncated', /could not be reached: /, true, /answer was lost/],
      ['no-envelope', /could not be reached: /, false, /answer was lost/],
    ])('%s: search and root answer UpstreamUnavailableError with HTTP 200, and log what is known of its outcome', async (m, message, transient, logOutcome) => {
      mode = m;
      attempts = new Map();
      const [logged, ...reads] = await Promise.all([
        post(gatewayUrl, LOG, { e: { message: 'through a bad proxy', actor: ACTOR } }),
        post(gatewayUrl, SEARCH, { q: `actor:${ACTOR}` }),
        post(gatewayUrl, ROOT_Q),
      ]);
      for (const { status, body } of [...reads, ...(logOutcome ? [] : [logged!])]) {
        expect(status).toBe(200);
        expect(body.errors).toBeUndefined();
        const value = Object.values(body.data as Record<string, Json>)[0];
        expect(value.__typename).toBe('UpstreamUnavailableError');
        expect(value.message).toMatch(message);
        expect(value.transient).toBe(transient);
      }
      if (logOutcome) {
        expect(logged!.status).toBe(200);
        expect(logged!.body.errors).toBeUndefined();
        expect(logged!.body.data.log).toMatchObject({ __typename: 'WriteOutcomeUnknownError', accepted: false, message: expect.stringMatching(logOutcome) });
        expect(logged!.body.data.log.message).toMatch(/search for the events before sending them again$/);
      }
      // What ended each call is the client's policy, not the upstream: the write was sent once
      // (it may have been stored), each read twice when the failure is transient (one retry) and
      // once when it is not.
      expect(attempts.get('/v1/log')).toBe(1);
      for (const path of ['/v1/search', '/v1/root']) expect({ path, attempts: attempts.get(path) }).toEqual({ path, attempts: transient ? 2 : 1 });
      expect([...attempts.keys()].sort()).toEqual(['/v1/log', '/v1/root', '/v1/search']);
    });

    test('accepted, never finished in time: log is WriteOutcomeUnknownError with accepted true and the accepted request id', async () => {
      mode = 'accepted';
      const { status, body } = await post(gatewayUrl, LOG, { e: { message: 'accepted, then silence', actor: ACTOR } });
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data.log).toEqual({
        __typename: 'WriteOutcomeUnknownError',
        accepted: true,
        message: `the audit service accepted request prq_${'b'.repeat(32)} and will store the events, but it did not finish in time: do not send them again`,
      });
    });
  });
});
