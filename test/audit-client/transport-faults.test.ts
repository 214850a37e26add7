// Real fault servers on 127.0.0.1: refused connections, resets, silence, HTML, cut and malformed
// bodies. Each failure must come out as its transport error class, with neverReachedServer only
// where it is provable, and without the token anywhere.
import {
  AuditClient,
  ConnectionRefusedError,
  ConnectionResetError,
  MalformedEnvelopeError,
  NonJsonBodyError,
  TimeoutError,
  TruncatedBodyError,
  type AuditClientOptions,
} from '../../src/audit-client/index.js';
import { envelope, expectNoToken, rawHead, refusedUrl, rejection, sendJson, startHttp, startRaw, TOKEN, type TestServer } from './support/servers.js';

const NO_RETRY = { retries: 0, baseDelayMs: 1, maxDelayMs: 1 };
const clients: AuditClient[] = [];
const servers: TestServer[] = [];

function clientFor(baseUrl: string, extra: Partial<AuditClientOptions> = {}): AuditClient {
  const client = new AuditClient({ baseUrl, token: TOKEN, retry: NO_RETRY, ...extra });
  clients.push(client);
  return client;
}

/** Calls a test may leave pending (a close() would wait for them). */
const inFlight: AbortController[] = [];

afterEach(async () => {
  for (const controller of inFlight.splice(0)) controller.abort();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const okBody = (): string => JSON.stringify(envelope('Success', 'ok', { data: { tree_name: 't', size: 1, root_hash: 'ab', published_at: 'p', url: 'u' } }));

describe('connection refused', () => {
  test('is ConnectionRefusedError with neverReachedServer', async () => {
    const { url } = await refusedUrl();
    const err = await rejection(clientFor(url).root());
    expect(err).toBeInstanceOf(ConnectionRefusedError);
    const refused = err as ConnectionRefusedError;
    expect(refused.neverReachedServer).toBe(true);
    expect(refused.code).toBe('ECONNREFUSED');
    expect(refused.transient).toBe(true);
    expect(refused.message).toContain(`POST ${url}/v1/root`);
    expect(String(refused.cause)).toMatch(/^Error: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expectNoToken(err);
  });

  test('a write is retried when the first attempt was refused, and reaches the server once', async () => {
    const { url, port } = await refusedUrl();
    // The server appears 10 ms after the call starts; five retries with backoffs of at least 100,
    // 200, 400, 500 and 500 ms give a loaded machine ample time to start it before they run out.
    const client = clientFor(url, { retry: { retries: 5, baseDelayMs: 200, maxDelayMs: 1_000 } });
    const call = client.log({ event: { message: 'only once' } });
    await new Promise((r) => setTimeout(r, 10));
    const server = await startHttp((_req, res) => sendJson(res, 200, envelope('Success', 'Logged', { hash: 'h' })), port);
    servers.push(server);
    const out = await call;
    expect(out.result.hash).toBe('h');
    expect(server.requests.filter((r) => r.url === '/v1/log')).toHaveLength(1);
  });
});

describe('connection reset', () => {
  test('mid-body is ConnectionResetError, not provably unsent', async () => {
    const server = await startRaw((socket) => {
      socket.write(rawHead('200 OK', { 'content-type': 'application/json', 'content-length': 400 }) + '{"request_id":"prq_');
      setTimeout(() => socket.resetAndDestroy(), 20);
    });
    servers.push(server);
    const err = await rejection(clientFor(server.url).search({ query: '' }));
    expect(err).toBeInstanceOf(ConnectionResetError);
    expect((err as ConnectionResetError).neverReachedServer).toBe(false);
    expect((err as ConnectionResetError).httpStatus).toBe(200);
    expect(err.message).toMatch(/reset during the response body/);
    expectNoToken(err);
  });

  test('a read is retried after a reset and succeeds; a write is not retried', async () => {
    const server = await startRaw((socket, _text, index) => {
      if (index === 0 || index === 2) {
        socket.resetAndDestroy();
        return;
      }
      const body = okBody();
      socket.end(rawHead('200 OK', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' }) + body);
    });
    servers.push(server);
    const client = clientFor(server.url, { retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 10 } });
    const out = await client.root();
    expect(out.result.data.size).toBe(1);
    expect(server.requests).toHaveLength(2);

    const err = await rejection(client.log({ event: { message: 'm' } }));
    expect(err).toBeInstanceOf(ConnectionResetError);
    expect(server.requests).toHaveLength(3);
    expectNoToken(err);
  });
});

describe('timeouts', () => {
  test('a server that never answers trips the headers timeout, not sooner', async () => {
    const server = await startRaw(() => undefined);
    servers.push(server);
    const client = clientFor(server.url, { timeouts: { headersMs: 250 } });
    const started = performance.now();
    const err = await rejection(client.root());
    const elapsed = performance.now() - started;
    // The server stays silent, so only a timeout can end the call; which one is in the error.
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).phase).toBe('headers');
    expect((err as TimeoutError).timeoutMs).toBe(250);
    expect((err as TimeoutError).neverReachedServer).toBe(false);
    // A lower bound only (a loaded machine makes it later, never sooner).
    expect(elapsed).toBeGreaterThanOrEqual(240);
    expect(server.requests).toHaveLength(1);
    expectNoToken(err);
  });

  test('a body that stalls trips the body timeout', async () => {
    const server = await startRaw((socket) => {
      socket.write(rawHead('200 OK', { 'content-type': 'application/json', 'content-length': 500 }) + '{"request_id":');
    });
    servers.push(server);
    // The headers arrived, so the body timeout is what ends the call.
    const client = clientFor(server.url, { timeouts: { headersMs: 10 * 60_000, bodyMs: 200 } });
    const err = await rejection(client.root());
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).phase).toBe('body');
    expect((err as TimeoutError).timeoutMs).toBe(200);
    expectNoToken(err);
  });

  /** An answer whose body never ends: a byte every `everyMs`, well inside any body timeout. */
  async function trickleServer(everyMs: number): Promise<TestServer> {
    const server = await startHttp((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"request_id":"prq_x","request_time":"t","response_time":"t","status":"Success","summary":"ok","result":{"hash":"');
      const timer = setInterval(() => res.write('a'), everyMs);
      res.on('close', () => clearInterval(timer));
    });
    servers.push(server);
    return server;
  }

  /** An abort signal for a call the test may leave pending; aborted after the test. */
  function cancellable(): { signal: AbortSignal } {
    const controller = new AbortController();
    inFlight.push(controller);
    return { signal: controller.signal };
  }

  /** The call's error, or 'still pending' if nothing ended it within `ms`. */
  async function outcomeWithin(call: Promise<unknown>, ms: number): Promise<Error | 'still pending'> {
    let timer: NodeJS.Timeout | undefined;
    const pending = new Promise<'still pending'>((resolve) => {
      timer = setTimeout(() => resolve('still pending'), ms);
    });
    try {
      return await Promise.race([rejection(call), pending]);
    } finally {
      clearTimeout(timer);
    }
  }

  test('a body trickled in faster than the body timeout is ended by the total deadline (headersMs + 2 × bodyMs by default)', async () => {
    const server = await trickleServer(50);
    const client = clientFor(server.url, { timeouts: { headersMs: 200, bodyMs: 200 } });
    const started = performance.now();
    const err = await outcomeWithin(client.log({ event: { message: 'hello' } }, cancellable()), 5_000);
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(TimeoutError);
    const e = err as TimeoutError;
    expect(e.code).toBe('TIMEOUT_TOTAL');
    expect(e.timeoutMs).toBe(600);
    expect(e.phase).toBe('total');
    expect(e.httpStatus).toBe(200);
    expect(e.neverReachedServer).toBe(false);
    expect(e.message).toMatch(/not complete within 600 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(590);
    // A write whose answer never completed is not sent again.
    expect(server.requests).toHaveLength(1);
    expectNoToken(err);
  });

  test('an explicit totalMs applies; 0 turns it off', async () => {
    const server = await trickleServer(50);
    const bounded = clientFor(server.url, { timeouts: { headersMs: 10 * 60_000, bodyMs: 10 * 60_000, totalMs: 300 } });
    const err = await outcomeWithin(bounded.root({}, cancellable()), 5_000);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBe(300);
    // A read is not tried again after the total deadline: that would multiply the longest wait.
    expect(server.requests).toHaveLength(1);

    const unbounded = clientFor(server.url, { timeouts: { headersMs: 200, bodyMs: 200, totalMs: 0 } });
    expect(await outcomeWithin(unbounded.root({}, cancellable()), 1_000)).toBe('still pending');
  });
});

describe('unusable bodies', () => {
  test('an HTML page is NonJsonBodyError with the status and an excerpt', async () => {
    const server = await startHttp((req, res) => {
      res.writeHead(502, { 'content-type': 'text/html', 'x-request-id': 'prq_fromheader' });
      // A misbehaving proxy that echoes the request headers into its error page.
      res.end(`<html><body><h1>502 Bad Gateway</h1><pre>${req.headers.authorization}</pre></body></html>`);
    });
    servers.push(server);
    const err = await rejection(clientFor(server.url).search({ query: 'x' }));
    expect(err).toBeInstanceOf(NonJsonBodyError);
    const e = err as NonJsonBodyError;
    expect(e.httpStatus).toBe(502);
    expect(e.contentType).toBe('text/html');
    expect(e.requestId).toBe('prq_fromheader');
    expect(e.bodyExcerpt).toContain('502 Bad Gateway');
    expect(e.bodyExcerpt).toContain('Bearer [REDACTED]');
    expect(e.transient).toBe(true);
    expectNoToken(err);
  });

  test('JSON cut off part-way (a complete HTTP message) is TruncatedBodyError', async () => {
    const server = await startHttp((_req, res) => {
      const text = JSON.stringify(envelope('Success', 'ok', { hash: 'abc' }));
      const cut = text.slice(0, 40);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(cut) });
      res.end(cut);
    });
    servers.push(server);
    const err = await rejection(clientFor(server.url).log({ event: { message: 'm' } }));
    expect(err).toBeInstanceOf(TruncatedBodyError);
    expect((err as TruncatedBodyError).receivedBytes).toBe(40);
    expectNoToken(err);
  });

  test('a connection closed before Content-Length is reached is TruncatedBodyError', async () => {
    const server = await startRaw((socket) => {
      socket.end(rawHead('200 OK', { 'content-type': 'application/json', 'content-length': 300 }) + '{"request_id":"prq_x","status":"Succ');
    });
    servers.push(server);
    const err = await rejection(clientFor(server.url).root());
    expect(err).toBeInstanceOf(TruncatedBodyError);
    expect((err as TruncatedBodyError).httpStatus).toBe(200);
    expectNoToken(err);
  });

  test('JSON that is not an envelope is MalformedEnvelopeError', async () => {
    const server = await startHttp((_req, res, index) => {
      const bodies = [{ hello: 'world' }, [1, 2], { ...envelope('Success', 'ok', null) }];
      sendJson(res, 200, bodies[index]);
    });
    servers.push(server);
    const client = clientFor(server.url);
    for (const pattern of [/'request_id' is missing/, /not an object/, /'result' is not an object/]) {
      const err = await rejection(client.root());
      expect(err).toBeInstanceOf(MalformedEnvelopeError);
      expect(err.message).toMatch(pattern);
      expectNoToken(err);
    }
  });
});
