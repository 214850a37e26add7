// Reads retry on 5xx/429/connection trouble with backoff (honouring Retry-After); writes are never
// repeated once they may have reached the server. Servers count what they actually received.
import { AuditClient, RateLimitedError, ServiceUnavailableError, type RetryPolicy } from '../../src/audit-client/index.js';
import { envelope, expectNoToken, rejection, sendJson, startHttp, TOKEN, type TestServer } from './support/servers.js';

const ROOT = { data: { tree_name: 't', size: 3, root_hash: 'ab', published_at: 'p', url: 'u' } };
const FAST: RetryPolicy = { retries: 3, baseDelayMs: 10, maxDelayMs: 50 };

let server: TestServer;
let client: AuditClient;
afterEach(async () => {
  await client.close();
  await server.close();
});

/** A server that answers 503 the first `failures` times each path is hit, then 200. */
async function flaky(failures: number, failure: (res: Parameters<Parameters<typeof startHttp>[0]>[1], id: string) => void): Promise<TestServer> {
  const hits = new Map<string, number>();
  return startHttp((req, res) => {
    const n = hits.get(req.url) ?? 0;
    hits.set(req.url, n + 1);
    if (n < failures) {
      failure(res, `prq_fail${n}`);
      return;
    }
    sendJson(res, 200, envelope('Success', 'ok', req.url === '/v1/root' ? ROOT : { hash: 'h' }));
  });
}

const unavailable = (res: Parameters<Parameters<typeof startHttp>[0]>[1], id: string): void =>
  sendJson(res, 503, envelope('ServiceNotAvailable', 'try later', null, id));

test('503 then 200: a read is retried and succeeds', async () => {
  server = await flaky(1, unavailable);
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: FAST });
  const out = await client.root();
  expect(out.result.data.size).toBe(3);
  expect(server.requests.map((r) => r.url)).toEqual(['/v1/root', '/v1/root']);
  // The retry names the failed attempt so the service can correlate them.
  expect(server.requests[1]!.headers['x-pangea-retried-request-ids']).toBe('prq_fail0');
});

test('503 then 200: a write is not retried and fails with ServiceUnavailableError', async () => {
  server = await flaky(1, unavailable);
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: FAST });
  const err = await rejection(client.log({ event: { message: 'must not be duplicated' } }));
  expect(err).toBeInstanceOf(ServiceUnavailableError);
  expect((err as ServiceUnavailableError).requestId).toBe('prq_fail0');
  expect((err as ServiceUnavailableError).summary).toBe('try later');
  expect(server.requests.filter((r) => r.url === '/v1/log')).toHaveLength(1);
  expectNoToken(err);
});

test.each([
  ['logBulk', (c: AuditClient) => c.logBulk({ events: [{ event: { message: 'a' } }] })],
  ['logBulkAsync', (c: AuditClient) => c.logBulkAsync({ events: [{ event: { message: 'a' } }] })],
  ['logStream', (c: AuditClient) => c.logStream({ logs: [] })],
  ['export', (c: AuditClient) => c.export({})],
] as const)('%s (a write) is not retried on 503', async (_name, call) => {
  server = await flaky(1, unavailable);
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: FAST });
  await expect(call(client)).rejects.toBeInstanceOf(ServiceUnavailableError);
  expect(server.requests).toHaveLength(1);
});

test('retries are bounded by the policy', async () => {
  server = await flaky(100, unavailable);
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 10 } });
  const err = await rejection(client.search({ query: '' }));
  expect(err).toBeInstanceOf(ServiceUnavailableError);
  expect((err as ServiceUnavailableError).requestId).toBe('prq_fail2');
  expect(server.requests).toHaveLength(3);
});

test('an HTML 502 from a proxy is retried for reads', async () => {
  server = await flaky(2, (res) => {
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html>bad gateway</html>');
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: FAST });
  const out = await client.root();
  expect(out.result.data.size).toBe(3);
  expect(server.requests).toHaveLength(3);
});

test('429 with Retry-After: the read waits at least that long, then succeeds', async () => {
  server = await flaky(1, (res, id) => sendJson(res, 429, envelope('TooManyRequests', 'slow down', null, id), { 'retry-after': '1' }));
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: { retries: 2, baseDelayMs: 10, maxDelayMs: 2_000 } });
  const started = performance.now();
  const out = await client.root();
  // The backoff alone would be 5-10 ms. A lower bound only: a loaded machine makes it longer.
  expect(performance.now() - started).toBeGreaterThanOrEqual(990);
  expect(out.result.data.size).toBe(3);
  expect(server.requests).toHaveLength(2);
});

test('429 asking for longer than the policy allows is returned at once with retryAfterMs', async () => {
  server = await flaky(1, (res, id) => sendJson(res, 429, envelope('TooManyRequests', 'slow down', null, id), { 'retry-after': '30' }));
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: { retries: 3, baseDelayMs: 10, maxDelayMs: 1_000 } });
  // The server answers 200 to a second attempt, so a client that waited and retried would succeed:
  // the rejection with one request shows it handed the 429 back instead.
  const err = await rejection(client.root());
  expect(err).toBeInstanceOf(RateLimitedError);
  expect((err as RateLimitedError).retryAfterMs).toBe(30_000);
  expect(server.requests).toHaveLength(1);
  expectNoToken(err);
});
