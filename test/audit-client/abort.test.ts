// A cancelled GraphQL request cancels its REST calls: the caller's AbortSignal stops a request in
// flight, a retry backoff, and a polling loop, as AuditAbortError. Each case proves the order of
// events (the abort came before anything else could end the call) rather than timing the call.
import { AuditAbortError, AuditClient } from '../../src/audit-client/index.js';
import { envelope, expectNoToken, rejection, sendJson, startHttp, startRaw, TOKEN, type TestServer } from './support/servers.js';

let server: TestServer;
let client: AuditClient;
afterEach(async () => {
  await client.close();
  await server.close();
});

test('aborting a request in flight rejects before the server answers and closes the connection', async () => {
  const controller = new AbortController();
  const order: string[] = [];
  let closed!: Promise<void>;
  // The server never answers: it aborts the caller's signal once the request has fully arrived.
  server = await startRaw((socket) => {
    order.push('request received');
    closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    controller.abort();
  });
  // Only the abort can end this call: the headers timeout is far beyond the test's own timeout.
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, timeouts: { headersMs: 10 * 60_000 } });
  const err = await rejection(client.search({ query: 'x' }, { signal: controller.signal }));
  order.push('rejected');
  expect(err).toBeInstanceOf(AuditAbortError);
  expect(err.name).toBe('AbortError');
  expect(String(err.cause)).toMatch(/AbortError/);
  expectNoToken(err);
  await closed;
  order.push('connection closed');
  expect(order).toEqual(['request received', 'rejected', 'connection closed']);
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
  const controller = new AbortController();
  // The first attempt is answered 503; the abort follows once that answer has been sent, so it
  // lands while the client reads it or waits out its backoff.
  server = await startHttp((_req, res) => {
    res.once('finish', () => setImmediate(() => controller.abort()));
    sendJson(res, 503, envelope('ServiceNotAvailable', 'down', null));
  });
  // A backoff of at least 5 minutes: a call that waited it out would hit the test's timeout, so
  // the rejection itself shows the abort cut the backoff short.
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: { retries: 5, baseDelayMs: 10 * 60_000, maxDelayMs: 10 * 60_000 } });
  const err = await rejection(client.root({}, { signal: controller.signal }));
  expect(err).toBeInstanceOf(AuditAbortError);
  expect(server.requests).toHaveLength(1);
});

test('aborting while polling a 202 stops the polling', async () => {
  const id = 'prq_pollingpollingpollingpollingpo';
  const controller = new AbortController();
  // 202 on the POST and the first two polls; the third poll is held unanswered and aborts the
  // caller's signal, so exactly three polls were sent when the abort happened.
  server = await startHttp((_req, res, index) => {
    if (index === 3) {
      controller.abort();
      return;
    }
    sendJson(res, 202, envelope('Accepted', 'Accepted', { ttl_mins: 1, retry_counter: index, location: `/request/${id}` }, id));
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: { initialDelayMs: 20, maxDelayMs: 40, deadlineMs: 10 * 60_000 } });
  const err = await rejection(client.export({}, { poll: true, signal: controller.signal }));
  expect(err).toBeInstanceOf(AuditAbortError);
  expect(server.requests.map((r) => r.method)).toEqual(['POST', 'GET', 'GET', 'GET']);
  // A poller still running would poll again within 40 ms; give it many times that to show itself.
  await new Promise((r) => setTimeout(r, 400));
  expect(server.requests).toHaveLength(4);
});
