// A caller that leaves before its answer stops the gateway's upstream calls for it. A real HTTP
// upstream in front of the local service holds the calls of one path until released and tells
// which of them the gateway abandoned (the connection closed before the answer was written); a
// raw HTTP client sends the GraphQL request and destroys its socket while the call is held. The
// stopped call is no unexpected error: the gateway's log (console.error) says nothing of it.
import { request as httpRequest, createServer, type ClientRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jest } from '@jest/globals';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startTestService, type TestService } from '../support/local-audit.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

interface HeldCall {
  path: string;
  /** Resolves true when the gateway closed the call before it was answered, false once answered. */
  ended: Promise<boolean>;
}

interface HoldingUpstream {
  url: string;
  /** Calls of this path wait until `release()` (undefined: none wait). */
  hold(path: string | undefined): void;
  /** Resolves with the next call of the held path once it has arrived. */
  nextHeld(): Promise<HeldCall>;
  /** Forwards the waiting calls. */
  release(): void;
  close(): Promise<void>;
}

async function startHoldingUpstream(service: TestService): Promise<HoldingUpstream> {
  let heldPath: string | undefined;
  let waiting: Array<() => void> = [];
  let arrivals: Array<(call: HeldCall) => void> = [];
  const arrived: HeldCall[] = [];
  const forward = async (req: IncomingMessage, body: string, res: ServerResponse): Promise<void> => {
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'content-type']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
    const upstream = await fetch(`${service.url}${req.url}`, { method: req.method, headers, ...(body.length > 0 ? { body } : {}) });
    const answer = Buffer.from(await upstream.arrayBuffer());
    if (res.destroyed) return;
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json', 'content-length': answer.length });
    res.end(answer);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url?.split('?')[0];
      const send = () => void forward(req, Buffer.concat(chunks).toString('utf8'), res).catch(() => res.destroy());
      if (path === undefined || path !== heldPath) return send();
      const call: HeldCall = { path, ended: new Promise<boolean>((resolve) => res.on('close', () => resolve(!res.writableFinished))) };
      waiting.push(send);
      const next = arrivals.shift();
      if (next) next(call);
      else arrived.push(call);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hold: (path) => {
      heldPath = path;
    },
    nextHeld: () => {
      const call = arrived.shift();
      return call ? Promise.resolve(call) : new Promise<HeldCall>((resolve) => arrivals.push(resolve));
    },
    release: () => {
      const sends = waiting;
      waiting = [];
      for (const send of sends) send();
    },
    close: () => {
      arrivals = [];
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** POSTs a GraphQL request over its own connection; the answer, or the request to destroy. */
function sendGraphQL(url: string, query: string, variables: Record<string, unknown> = {}): { sent: ClientRequest; answer: Promise<Json> } {
  const body = JSON.stringify({ query, variables });
  const sent = httpRequest(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  const answer = new Promise<Json>((resolve, reject) => {
    sent.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
      res.on('error', reject);
    });
    sent.on('error', reject);
  });
  sent.end(body);
  return { sent, answer };
}

/** `ended` within `ms`, or 'still open'. */
function within(ended: Promise<boolean>, ms: number): Promise<boolean | 'still open'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('still open'), ms);
    void ended.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/** How many `operation` requests the gateway has finished, by its /metrics. */
async function finished(origin: string, operation: string): Promise<number> {
  const families = parsePrometheusTextFormat(await (await fetch(`${origin}/metrics`)).text()) as Array<{ name: string; metrics: Array<{ labels?: Record<string, string>; value?: string }> }>;
  const requests = families.find((family) => family.name === 'audit_gateway_graphql_requests_total')?.metrics ?? [];
  return requests.filter((m) => m.labels?.operation_name === operation).reduce((sum, m) => sum + Number(m.value), 0);
}

/** Waits until the gateway has finished `count` requests of `operation` (at most 5 s). */
async function untilFinished(origin: string, operation: string, count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while ((await finished(origin, operation)) < count) {
    if (Date.now() > deadline) throw new Error(`the gateway did not finish ${count} ${operation} requests`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const SEARCH = `query S($q: String!) { search(query: $q, first: 5) { ... on AuditEventConnection { totalCount edges { node { message } } } ... on Error { message } } }`;
const ROOT = `query R($size: Int) { root(treeSize: $size) { ... on PublishedRoot { size } ... on Error { message } } }`;

describe('a caller that leaves stops its upstream calls', () => {
  let service: TestService;
  let upstream: HoldingUpstream;
  let gw: TestGateway;
  let errorSpy: jest.SpiedFunction<typeof console.error>;

  beforeAll(async () => {
    errorSpy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    service = await startTestService({ token: 'x' });
    upstream = await startHoldingUpstream(service);
    gw = await startTestGateway({ remoteBaseUrl: upstream.url });
    const events = Array.from({ length: 3 }, (_, i) => ({ message: `leaving ${i}`, actor: 'leaver' }));
    await gw.runOk(`mutation B($e: [AuditEventInput!]!) { logBulk(events: $e) { ... on LogBulkResult { count } } }`, { e: events });
    service.publishNow();
  });
  afterEach(() => {
    upstream.hold(undefined);
    upstream.release();
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
    await service?.destroy();
    errorSpy.mockRestore();
  });

  /** What the gateway logged as unexpected since the test began. */
  const unexpected = () => errorSpy.mock.calls.filter((args) => String(args[0]).includes('unexpected error'));

  test('a search whose caller stays is answered when its call returns', async () => {
    upstream.hold('/v1/search');
    const { answer } = sendGraphQL(gw.url, SEARCH, { q: 'actor:leaver' });
    const call = await upstream.nextHeld();
    upstream.release();
    expect(await within(call.ended, 10_000)).toBe(false);
    const body = await answer;
    expect(body.errors).toBeUndefined();
    expect(body.data.search.totalCount).toBe(3);
  });

  /**
   * Sends `query` while calls of `path` are held, leaves once its call has arrived, and expects
   * that call closed by the gateway and, once the gateway has finished the operation (its
   * `finished`-th), nothing logged as unexpected.
   */
  async function leaveWhileHeld(path: string, query: string, variables: Record<string, unknown>, operation: string, finished: number): Promise<void> {
    upstream.hold(path);
    const { sent, answer } = sendGraphQL(gw.url, query, variables);
    answer.catch(() => undefined);
    const call = await upstream.nextHeld();
    sent.destroy();
    expect(await within(call.ended, 5_000)).toBe(true);
    await untilFinished(gw.origin, operation, finished);
    expect(unexpected()).toEqual([]);
  }

  test('a search whose caller leaves has its upstream call closed, and the gateway goes on answering', async () => {
    await leaveWhileHeld('/v1/search', SEARCH, { q: 'actor:leaver' }, 'S', 2);
    upstream.hold(undefined);
    upstream.release();
    const after = await gw.runOk(SEARCH, { q: 'actor:leaver' });
    expect(after.search.edges.map((e: Json) => e.node.message).sort()).toEqual(['leaving 0', 'leaving 1', 'leaving 2']);
  });

  test('a root request whose caller leaves has its upstream call closed', async () => {
    await leaveWhileHeld('/v1/root', ROOT, { size: 2 }, 'R', 1);
  });
});
