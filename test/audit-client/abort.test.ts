// A cancelled GraphQL request cancels its REST calls: the caller's AbortSignal stops a request in
// flight, a retry backoff, and a polling loop, promptly and as AuditAbortError.
import { AuditAbortError, AuditClient } from '../../src/audit-client/index.js';
import { envelope, expectNoToken, rejection, sendJson, startHttp, startRaw, TOKEN, type TestServer } from './support/servers.js';

let server: TestServer;
let client: AuditClient;
afterEach(async () => {
  await client.close();
  await server.close();
});

function abortAfter(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms);
  return controller.signal;
}

test('aborting a request in flight rejects at once and closes the connection', async () => {
  let closed = false;
  server = await startRaw((socket) => {
    socket.on('close', () => {
      closed = true;
    });
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, timeouts: { headersMs: 10_000 } });
  const started = performance.now();
  const err = await rejection(client.search({ query: 'x' }, { signal: abortAfter(100) }));
  expect(performance.now() - started).toBeLessThan(400);
  expect(err).toBeInstanceOf(AuditAbortError);
  expect(err.name).toBe('AbortError');
  expect(String(err.cause)).toMatch(/AbortError/);
  expectNoToken(err);
  await new Promise((r) => setTimeout(r, 50));
  expect(closed).toBe(true);
});

test('an already-aborted signal sends nothing', async () => {
  server = await startHttp((_req, res) => sendJson(res, 200, envelope('Success', 'ok', { hash: 'h' })));
  client = new AuditClient({ baseUrl: server.url, token: TOKEN });
  const controller = new AbortController();
  controller.abort(new Error(`cancelled by a caller holding ${TOKEN}`));
  const err = await rejection(client.log({ event: { message: 'm' } }, { signal: controller.signal }));
  expect(err).toBeInstanceOf(AuditAbortError);
  expect(server.requests).toHaveLength(0);
  // Even an abort reason that quotes the token is scrubbed.
  expectNoToken(err);
});

test('aborting during a retry backoff stops the retries', async () => {
  server = await startHttp((_req, res) => sendJson(res, 503, envelope('ServiceNotAvailable', 'down', null)));
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: { retries: 5, baseDelayMs: 1_000, maxDelayMs: 5_000 } });
  const started = performance.now();
  const err = await rejection(client.root({}, { signal: abortAfter(100) }));
  expect(performance.now() - started).toBeLessThan(400);
  expect(err).toBeInstanceOf(AuditAbortError);
  expect(server.requests).toHaveLength(1);
});

test('aborting while polling a 202 stops the polling', async () => {
  const id = 'prq_pollingpollingpollingpollingpo';
  server = await startHttp((_req, res) => sendJson(res, 202, envelope('Accepted', 'Accepted', { ttl_mins: 1, retry_counter: 0, location: `/request/${id}` }, id)));
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: { initialDelayMs: 20, maxDelayMs: 40, deadlineMs: 10_000 } });
  const started = performance.now();
  const err = await rejection(client.export({}, { poll: true, signal: abortAfter(200) }));
  expect(performance.now() - started).toBeLessThan(500);
  expect(err).toBeInstanceOf(AuditAbortError);
  // A poll already sent when the signal fired may reach the server a little later (a loaded
  // machine): let those land, then a poller still running would poll every 20-40 ms.
  await new Promise((r) => setTimeout(r, 100));
  const polled = server.requests.length;
  await new Promise((r) => setTimeout(r, 300));
  expect(server.requests.length).toBe(polled);
});
