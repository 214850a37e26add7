// Every envelope status the contract names comes out as its own error class, carrying the
// request id, summary and HTTP status, with the token scrubbed even when the server echoes it.
import {
  AuditApiError,
  AuditClient,
  BadOffsetError,
  InternalServerError,
  NotFoundError,
  RateLimitedError,
  ServiceNotEnabledError,
  ServiceUnavailableError,
  TreeNotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../../src/audit-client/index.js';
import { envelope, expectNoToken, rejection, requestId, sendJson, startHttp, TOKEN, type TestServer } from './support/servers.js';

interface Case {
  status: string;
  http: number;
  cls: new (...args: never[]) => AuditApiError;
  result?: unknown;
  headers?: Record<string, string>;
}

const CASES: Case[] = [
  {
    status: 'ValidationError',
    http: 400,
    cls: ValidationError,
    result: {
      errors: [
        { code: 'FieldRequired', detail: "'message' is required", source: '/event/message' },
        { code: 'AboveMaxLength', detail: "'actor' is longer than 128 characters", source: '/event/actor', path: 'event.actor' },
      ],
    },
  },
  { status: 'Unauthorized', http: 401, cls: UnauthorizedError },
  { status: 'ServiceNotEnabled', http: 403, cls: ServiceNotEnabledError },
  { status: 'NotFound', http: 404, cls: NotFoundError },
  { status: 'TooManyRequests', http: 429, cls: RateLimitedError, headers: { 'retry-after': '120' } },
  { status: 'BadOffset', http: 400, cls: BadOffsetError },
  { status: 'TreeNotFound', http: 400, cls: TreeNotFoundError },
  { status: 'ServiceNotAvailable', http: 503, cls: ServiceUnavailableError },
  { status: 'InternalError', http: 500, cls: InternalServerError },
  { status: 'NoCredit', http: 402, cls: AuditApiError },
];

describe('error envelopes map to classes', () => {
  let server: TestServer;
  let client: AuditClient;
  const ids = new Map<string, string>();

  beforeAll(async () => {
    server = await startHttp((req, res) => {
      const status = decodeURIComponent(req.url.split('/').pop()!);
      const c = CASES.find((x) => x.status === status)!;
      const id = requestId();
      ids.set(status, id);
      // The summary echoes the Authorization header, as a careless upstream might.
      sendJson(res, c.http, envelope(status, `${status} for ${req.headers.authorization}`, c.result ?? null, id), c.headers);
    });
    // No retries: each status must surface exactly as the server sent it.
    client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } });
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  test.each(CASES.map((c) => [c.status, c] as const))('%s', async (status, c) => {
    // pollResult puts the status into the path so the server knows what to answer.
    const err = await rejection(client.pollResult(status));
    expect(err).toBeInstanceOf(c.cls);
    expect(err).toBeInstanceOf(AuditApiError);
    const e = err as AuditApiError;
    expect(e.constructor).toBe(c.cls);
    expect(e.status).toBe(status);
    expect(e.requestId).toBe(ids.get(status));
    expect(e.httpStatus).toBe(c.http);
    expect(e.summary).toBe(`${status} for Bearer [REDACTED]`);
    expect(e.endpoint).toBe(`request/${status}`);
    expect(e.message).toContain(e.requestId);
    expect(e.message).toContain(status);
    expectNoToken(err);
  });

  test('ValidationError keeps every item with its JSON pointer', async () => {
    const err = (await rejection(client.pollResult('ValidationError'))) as ValidationError;
    expect(err.errors).toEqual([
      { code: 'FieldRequired', detail: "'message' is required", source: '/event/message' },
      { code: 'AboveMaxLength', detail: "'actor' is longer than 128 characters", source: '/event/actor', path: 'event.actor' },
    ]);
    expect(err.transient).toBe(false);
    expect(err.message).toContain("/event/message FieldRequired: 'message' is required");
  });

  test('RateLimitedError reads Retry-After', async () => {
    const err = (await rejection(client.pollResult('TooManyRequests'))) as RateLimitedError;
    expect(err.retryAfterMs).toBe(120_000);
    expect(err.transient).toBe(true);
  });

  test('success is decided by the envelope, not the HTTP code', async () => {
    const odd = await startHttp((_req, res, index) =>
      index === 0
        ? sendJson(res, 200, envelope('Unauthorized', 'bad token', null))
        : sendJson(res, 500, envelope('Success', 'fine', { data: { tree_name: 't', size: 2, root_hash: 'ab', published_at: 'p', url: 'u' } })),
    );
    const c = new AuditClient({ baseUrl: odd.url, token: TOKEN, retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } });
    try {
      const err = await rejection(c.root());
      expect(err).toBeInstanceOf(UnauthorizedError);
      expect((err as UnauthorizedError).httpStatus).toBe(200);
      const ok = await c.root();
      expect(ok.result.data.size).toBe(2);
      expect(ok.httpStatus).toBe(500);
    } finally {
      await c.close();
      await odd.close();
    }
  });
});
