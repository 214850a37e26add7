// Servers that echo the bearer token back in the places the client copies into its errors: deep in
// an error envelope's result, as the envelope's request_id, as the x-request-id header, and at the
// start of a body that is not JSON. Neither the token nor its first characters may come out.
import { inspect } from 'node:util';
import {
  AcceptedResultUnavailableError,
  AuditClient,
  AuditTransportError,
  InternalServerError,
  NonJsonBodyError,
  TimeoutError,
  UnauthorizedError,
  type AuditClientOptions,
} from '../../src/audit-client/index.js';
import { envelope, expectNoToken, rejection, sendJson, startHttp, TOKEN, type TestServer } from './support/servers.js';

const clients: AuditClient[] = [];
const servers: TestServer[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function setup(handler: Parameters<typeof startHttp>[0], extra: Partial<AuditClientOptions> = {}): Promise<AuditClient> {
  const server = await startHttp(handler);
  servers.push(server);
  const client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: { retries: 0 }, ...extra });
  clients.push(client);
  return client;
}

/** The first characters of the token: a cut-off copy is a leak too, and no redaction matches it. */
const TOKEN_START = TOKEN.slice(0, 6);

/** expectNoToken, plus: no prefix of the token in the message, the request id or the whole inspected error. */
function expectNoTokenOrPrefix(err: unknown): void {
  expectNoToken(err);
  const e = err as Error & { requestId?: unknown; result?: unknown; bodyExcerpt?: unknown };
  for (const [where, text] of Object.entries({
    message: e.message,
    requestId: String(e.requestId),
    result: JSON.stringify(e.result) ?? '',
    bodyExcerpt: String(e.bodyExcerpt),
    inspected: inspect(e, { depth: null, showHidden: true }),
  })) {
    if (text.includes(TOKEN_START)) throw new Error(`the start of the token leaked through the error's ${where}: ${text.slice(0, 300)}`);
  }
}

test('an error envelope echoing the token deeper than the scrubbing recursion goes is still scrubbed', async () => {
  const client = await setup((req, res) => {
    let nested: Record<string, unknown> = { authorization: req.headers.authorization };
    for (let i = 0; i < 12; i++) nested = { inner: nested };
    sendJson(res, 500, envelope('InternalError', 'boom', { debug: nested }));
  });
  const err = await rejection(client.search({ query: 'x' }));
  expect(err).toBeInstanceOf(InternalServerError);
  expectNoTokenOrPrefix(err);
  // The deep part is kept, scrubbed, not dropped.
  let deep = ((err as InternalServerError).result as { debug: Record<string, unknown> }).debug;
  for (let i = 0; i < 12; i++) deep = deep.inner as Record<string, unknown>;
  expect(deep).toEqual({ authorization: 'Bearer [REDACTED]' });
});

test("an envelope whose request_id echoes the Authorization header: the error's requestId and message are scrubbed", async () => {
  const client = await setup((req, res) => sendJson(res, 401, envelope('Unauthorized', 'bad token', null, String(req.headers.authorization))));
  const err = await rejection(client.search({ query: '' }));
  expect(err).toBeInstanceOf(UnauthorizedError);
  expect((err as UnauthorizedError).requestId).toBe('Bearer [REDACTED]');
  expectNoTokenOrPrefix(err);
});

test('an x-request-id header echoing the token is scrubbed wherever it is copied', async () => {
  // A non-JSON body, an answer over the size cap, and a body that stalls: three different paths
  // that each copy the header into the error.
  const client = await setup(
    (req, res, index) => {
      const echo = { 'x-request-id': String(req.headers.authorization) };
      if (index === 0) {
        res.writeHead(502, { 'content-type': 'text/plain', ...echo });
        res.end('bad gateway');
      } else if (index === 1) {
        res.writeHead(200, { 'content-type': 'application/json', ...echo });
        res.end(`{"pad":"${'x'.repeat(4096)}"}`);
      } else {
        res.writeHead(200, { 'content-type': 'application/json', ...echo });
        res.write('{"request_id":');
      }
    },
    { maxResponseBytes: 1024, timeouts: { bodyMs: 200 } },
  );
  const nonJson = await rejection(client.search({ query: '' }));
  expect(nonJson).toBeInstanceOf(NonJsonBodyError);
  const tooLarge = await rejection(client.search({ query: '' }));
  expect((tooLarge as AuditTransportError).code).toBe('RESPONSE_TOO_LARGE');
  const stalled = await rejection(client.search({ query: '' }));
  expect(stalled).toBeInstanceOf(TimeoutError);
  for (const err of [nonJson, tooLarge, stalled]) {
    expect((err as AuditTransportError).requestId).toBe('Bearer [REDACTED]');
    expectNoTokenOrPrefix(err);
  }
});

test('a body starting with the token: the parse failure does not quote it, and the excerpt is scrubbed before it is cut', async () => {
  const client = await setup((_req, res, index) => {
    res.writeHead(400, { 'content-type': 'text/plain' });
    // First the token at the very start (V8's JSON.parse message quotes the body's first 10
    // characters); then the token straddling the excerpt's 300-character cut.
    res.end(index === 0 ? `${TOKEN} is not valid here` : `${'x'.repeat(290)}${TOKEN} and more`);
  });
  const atStart = await rejection(client.search({ query: '' }));
  expect(atStart).toBeInstanceOf(NonJsonBodyError);
  expect(atStart.message).toMatch(/HTTP 400: the body is not JSON$/);
  expect((atStart as NonJsonBodyError).bodyExcerpt).toBe('[REDACTED] is not valid here');
  expectNoTokenOrPrefix(atStart);

  const atCut = await rejection(client.search({ query: '' }));
  expect((atCut as NonJsonBodyError).bodyExcerpt).toBe(`${'x'.repeat(290)}[REDACTED]`);
  expectNoTokenOrPrefix(atCut);
});

test('a poll answer about another request whose id echoes the token is refused without quoting it', async () => {
  const accepted = 'prq_acceptedacceptedacceptedaccep';
  const client = await setup((req, res) => {
    if (req.method === 'POST') return sendJson(res, 202, envelope('Accepted', 'Accepted', { ttl_mins: 1, retry_counter: 0, location: `/request/${accepted}` }, accepted));
    sendJson(res, 200, envelope('Success', 'Done', { hash: 'h' }, String(req.headers.authorization)));
  }, { polling: { initialDelayMs: 10, maxDelayMs: 10, deadlineMs: 5_000 } });
  const err = await rejection(client.log({ event: { message: 'm' } }));
  expect(err).toBeInstanceOf(AcceptedResultUnavailableError);
  expect((err as AcceptedResultUnavailableError).message).toContain('Bearer [REDACTED]');
  expectNoTokenOrPrefix(err);
  expectNoTokenOrPrefix((err as AcceptedResultUnavailableError).cause);
});
