// 202 Accepted: the caller either gets the AcceptedRequest back or the client polls
// GET /request/<id> with backoff until the result or the deadline.
import type { ServerResponse } from 'node:http';
import {
  AcceptedResultUnavailableError,
  AcceptedTimeoutError,
  AuditClient,
  ConnectionResetError,
  MalformedEnvelopeError,
  NotFoundError,
  RateLimitedError,
  ServiceUnavailableError,
  ValidationError,
} from '../../src/audit-client/index.js';
import { envelope, expectNoToken, rejection, sendJson, startHttp, TOKEN, type TestServer } from './support/servers.js';

const ASYNC_ID = 'prq_asyncasyncasyncasyncasyncasync';
const BULK_RESULT = { results: [{ hash: 'h1' }, { hash: 'h2' }] };
const POLLING = { initialDelayMs: 20, maxDelayMs: 80, deadlineMs: 10_000 };

const accepted = (retry: number) => envelope('Accepted', 'Accepted', { ttl_mins: 60, retry_counter: retry, location: `/request/${ASYNC_ID}` }, ASYNC_ID);

let server: TestServer;
let client: AuditClient;
afterEach(async () => {
  await client.close();
  await server.close();
});

/** 202 on the POST; on GET /request/<id>, 202 `pending` times and then `final`. */
async function asyncServer(pending: number, final: () => unknown = () => envelope('Success', 'Done', BULK_RESULT, ASYNC_ID)): Promise<TestServer> {
  let polls = 0;
  return startHttp((req, res) => {
    if (req.method === 'POST') return sendJson(res, 202, accepted(0));
    if (req.url !== `/request/${ASYNC_ID}`) return sendJson(res, 404, envelope('NotFound', 'no such request', null));
    polls++;
    if (polls <= pending) return sendJson(res, 202, accepted(polls));
    const body = final() as { status: string };
    return sendJson(res, body.status === 'Success' ? 200 : 400, body);
  });
}

test('by default logBulkAsync returns the AcceptedRequest without polling', async () => {
  server = await asyncServer(3);
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING });
  const out = await client.logBulkAsync({ events: [{ event: { message: 'a' } }, { event: { message: 'b' } }] });
  expect(out).toEqual({ status: 'Accepted', requestId: ASYNC_ID, summary: 'Accepted', ttlMins: 60, retryCounter: 0, location: `/request/${ASYNC_ID}` });
  expect(server.requests).toHaveLength(1);
});

test('202 three times then 200: poll: true returns the real result', async () => {
  server = await asyncServer(3);
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING });
  const out = await client.logBulkAsync({ events: [{ event: { message: 'a' } }, { event: { message: 'b' } }] }, { poll: true });
  expect(out.status).toBe('Success');
  expect(out.result).toEqual(BULK_RESULT);
  expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
    'POST /v2/log_async',
    ...Array.from({ length: 4 }, () => `GET /request/${ASYNC_ID}`),
  ]);
  for (const poll of server.requests.slice(1)) expect(poll.headers.authorization).toBe(`Bearer ${TOKEN}`);
});

test('pollResult by hand: Accepted while running, then the result', async () => {
  server = await asyncServer(1);
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING });
  const first = await client.export({ format: 'json' });
  expect(first.status).toBe('Accepted');
  const running = await client.pollResult(first.requestId);
  expect(running).toMatchObject({ status: 'Accepted', retryCounter: 1 });
  const done = await client.pollResult<typeof BULK_RESULT>(first.requestId);
  expect(done.status).toBe('Success');
  if (done.status === 'Success') expect(done.result).toEqual(BULK_RESULT);
});

test('a synchronous method answered 202 polls by default; poll: false hands back the 202', async () => {
  server = await asyncServer(2);
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING });
  const out = await client.search({ query: 'slow' });
  expect(out.status).toBe('Success');
  await server.close();

  server = await asyncServer(2);
  await client.close();
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING });
  const handle = await client.search({ query: 'slow' }, { poll: false });
  expect(handle.status).toBe('Accepted');
});

test('a request that keeps answering 202 ends in AcceptedTimeoutError at the deadline', async () => {
  server = await asyncServer(Number.POSITIVE_INFINITY);
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING });
  const started = performance.now();
  const err = await rejection(client.export({}, { poll: true, deadlineMs: 1_000 }));
  const elapsed = performance.now() - started;
  expect(err).toBeInstanceOf(AcceptedTimeoutError);
  const e = err as AcceptedTimeoutError;
  expect(e.requestId).toBe(ASYNC_ID);
  expect(e.deadlineMs).toBe(1_000);
  // It kept polling with backoff (delays of 20-80 ms against a 1 s deadline), and the error
  // counts exactly the polls the server received.
  expect(e.polls).toBeGreaterThanOrEqual(3);
  expect(e.polls).toBe(server.requests.length - 1);
  // It did not give up early: the last poll starts no sooner than 100 ms before the deadline
  // (src/audit-client/polling.ts; a few ms allowed for clock rounding), and a loaded machine only
  // makes the wait longer.
  expect(elapsed).toBeGreaterThanOrEqual(890);
  expect(e.message).toContain(ASYNC_ID);
  expectNoToken(err);
});

test('a poll stuck in flight at the deadline is abandoned', async () => {
  server = await startHttp((req, res) => {
    if (req.method === 'POST') return sendJson(res, 202, accepted(0));
    // Never answer the poll.
  });
  // Nothing but the polling deadline can end the stuck poll: the headers timeout is far beyond
  // the test's own timeout.
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING, timeouts: { headersMs: 10 * 60_000 } });
  const err = await rejection(client.logBulkAsync({ events: [{ event: { message: 'x' } }] }, { poll: true, deadlineMs: 300 }));
  expect(err).toBeInstanceOf(AcceptedTimeoutError);
  // The poll had reached the server (it was in flight, not merely scheduled) when it was given up.
  expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /v2/log_async', `GET /request/${ASYNC_ID}`]);
  expect((err as AcceptedTimeoutError).polls).toBe(1);
});

test('a job that fails reports its error envelope', async () => {
  server = await asyncServer(1, () =>
    envelope('ValidationError', 'bad events', { errors: [{ code: 'FieldRequired', detail: "'message' is required", source: '/events/0/event/message' }] }, ASYNC_ID),
  );
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING });
  const err = await rejection(client.logBulkAsync({ events: [{ event: { actor: 'no message' } }] }, { poll: true }));
  expect(err).toBeInstanceOf(ValidationError);
  expect((err as ValidationError).errors[0]!.source).toBe('/events/0/event/message');
});

describe('after a 202, a poll that fails is not the request failing', () => {
  // The write was accepted (it will be applied): whatever ends the polling must say so and name
  // the accepted request, with the poll's own failure as the cause.
  async function pollFailing(answer: (res: ServerResponse, reset: () => void) => void): Promise<AcceptedResultUnavailableError> {
    server = await startHttp((req, res) => {
      if (req.method === 'POST') return sendJson(res, 202, accepted(0));
      answer(res, () => res.socket?.destroy());
    });
    client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING, retry: { retries: 0 } });
    const err = await rejection(client.log({ event: { message: 'transfer 100' } }));
    expect(err).toBeInstanceOf(AcceptedResultUnavailableError);
    const e = err as AcceptedResultUnavailableError;
    expect(e.requestId).toBe(ASYNC_ID);
    expect(e.location).toBe(`/request/${ASYNC_ID}`);
    expect(e.transient).toBe(true);
    expect(e.message).toContain(ASYNC_ID);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /v1/log', `GET /request/${ASYNC_ID}`]);
    expectNoToken(err);
    return e;
  }

  test('a rate-limited poll (429 with a long Retry-After)', async () => {
    const e = await pollFailing((res) => sendJson(res, 429, envelope('TooManyRequests', 'rate limit exceeded', null, 'prq_thepollitself'), { 'retry-after': '60' }));
    expect(e.cause).toBeInstanceOf(RateLimitedError);
    expect((e.cause as RateLimitedError).retryAfterMs).toBe(60_000);
  });

  test('a poll answered NotFound', async () => {
    const e = await pollFailing((res) => sendJson(res, 404, envelope('NotFound', 'request not found or expired', null, ASYNC_ID)));
    expect(e.cause).toBeInstanceOf(NotFoundError);
  });

  test('a poll answered 503', async () => {
    const e = await pollFailing((res) => sendJson(res, 503, envelope('ServiceNotAvailable', 'try later', null)));
    expect(e.cause).toBeInstanceOf(ServiceUnavailableError);
  });

  test('a poll whose connection is reset', async () => {
    const e = await pollFailing((_res, reset) => reset());
    expect(e.cause).toBeInstanceOf(ConnectionResetError);
  });

  test("the request's own failure (a job that failed validation) is still reported as itself", async () => {
    // As 'a job that fails reports its error envelope' above, for a write polled by default.
    server = await asyncServer(0, () => envelope('ValidationError', 'bad event', { errors: [{ code: 'FieldRequired', detail: 'x', source: '/event/message' }] }, ASYNC_ID));
    client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING });
    const err = await rejection(client.log({ event: { message: 'm' } }));
    expect(err).toBeInstanceOf(ValidationError);
  });
});

describe('a poll answer must be about the accepted request', () => {
  // The service answers GET /request/<id> under that id (src/local-audit/http/server.ts; the
  // vendor's Python SDK polls again with the request_id of each 202 it receives).
  test('a Success answer about another request is refused, not returned as this one\'s result', async () => {
    server = await startHttp((req, res) => {
      if (req.method === 'POST') return sendJson(res, 202, accepted(0));
      sendJson(res, 200, envelope('Success', 'Done', { hash: 'f'.repeat(64) }, 'prq_someoneelsesomeoneelsesomeonee'));
    });
    client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING });
    const err = await rejection(client.log({ event: { message: 'm' } }));
    expect(err).toBeInstanceOf(AcceptedResultUnavailableError);
    const e = err as AcceptedResultUnavailableError;
    expect(e.requestId).toBe(ASYNC_ID);
    expect(e.cause).toBeInstanceOf(MalformedEnvelopeError);
    expect((e.cause as MalformedEnvelopeError).code).toBe('FOREIGN_POLL_ANSWER');
    expect((e.cause as MalformedEnvelopeError).message).toContain('prq_someoneelsesomeoneelsesomeonee');
    // Refused at once: another poll would not make it this request's answer.
    expect(server.requests).toHaveLength(2);
    expectNoToken(err);
  });

  test('a 202 about another request is refused too', async () => {
    let polls = 0;
    server = await startHttp((req, res) => {
      if (req.method === 'POST') return sendJson(res, 202, accepted(0));
      polls++;
      const other = `prq_otherpoll${String(polls).padStart(21, '0')}`;
      sendJson(res, 202, envelope('Accepted', 'Accepted', { ttl_mins: 60, retry_counter: polls, location: `/request/${other}` }, other));
    });
    client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING });
    const err = await rejection(client.export({}, { poll: true, deadlineMs: 1_000 }));
    expect(err).toBeInstanceOf(AcceptedResultUnavailableError);
    expect((err as AcceptedResultUnavailableError).requestId).toBe(ASYNC_ID);
    expect((err as AcceptedResultUnavailableError).cause).toBeInstanceOf(MalformedEnvelopeError);
    expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /v1/export', `GET /request/${ASYNC_ID}`]);
  });

  test("AcceptedTimeoutError names the accepted request even when the 202s' results name other locations", async () => {
    // Every poll answers 202 under the accepted id (as the service does), but with a location of
    // its own: the error must still name the request and location the POST was accepted under.
    let polls = 0;
    server = await startHttp((req, res) => {
      if (req.method === 'POST') return sendJson(res, 202, accepted(0));
      polls++;
      sendJson(res, 202, envelope('Accepted', 'Accepted', { ttl_mins: 60, retry_counter: polls, location: `/request/elsewhere-${polls}` }, ASYNC_ID));
    });
    client = new AuditClient({ baseUrl: server.url, token: TOKEN, polling: POLLING });
    const err = await rejection(client.export({}, { poll: true, deadlineMs: 500 }));
    expect(err).toBeInstanceOf(AcceptedTimeoutError);
    expect((err as AcceptedTimeoutError).requestId).toBe(ASYNC_ID);
    expect((err as AcceptedTimeoutError).location).toBe(`/request/${ASYNC_ID}`);
    expect(polls).toBeGreaterThanOrEqual(2);
  });
});
