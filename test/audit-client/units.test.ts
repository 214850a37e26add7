// The client's pure pieces: envelope classification, backoff and Retry-After, retry decisions,
// token scrubbing of arbitrary errors, and event normalisation.
import { ConnectionRefusedError, ConnectionResetError, RateLimitedError, ServiceUnavailableError, TimeoutError, ValidationError } from '../../src/audit-client/errors.js';
import { isJsonPrefix, parseEnvelope } from '../../src/audit-client/envelope.js';
import { networkError, type NetworkFailureContext } from '../../src/audit-client/error-mapping.js';
import { AuditAbortError, AuditTransportError, TlsError, TruncatedBodyError } from '../../src/audit-client/errors.js';
import { normalizeEventInput, prepareItem } from '../../src/audit-client/event.js';
import { pollDelay } from '../../src/audit-client/polling.js';
import { Redactor } from '../../src/audit-client/redact.js';
import { backoffDelay, isRetryable, parseRetryAfter, retryDelay, type RetryPolicy } from '../../src/audit-client/retry.js';
import { TOKEN } from './support/servers.js';

describe('parseEnvelope', () => {
  const good = { request_id: 'prq_1', request_time: 't', response_time: 't', status: 'Success', summary: 's', result: {} };

  test.each([
    ['', 'non-json'],
    ['<html>oops</html>', 'non-json'],
    ['{"a":1} trailing', 'non-json'],
    ['{"request_id":"prq_', 'truncated'],
    ['{"a":[1,2', 'truncated'],
    ['  [ {"a": "b\\"', 'truncated'],
    ['[1,2]', 'malformed'],
    ['"text"', 'malformed'],
    [JSON.stringify({ ...good, status: 5 }), 'malformed'],
    [JSON.stringify({ ...good, result: undefined }), 'malformed'],
    [JSON.stringify({ ...good, result: null }), 'malformed'],
  ])('%j is %s', (text, problem) => {
    const parsed = parseEnvelope(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toBe(problem);
  });

  test('a complete envelope parses; an error envelope may have a null result', () => {
    expect(parseEnvelope(JSON.stringify(good))).toEqual({ ok: true, envelope: good });
    expect(parseEnvelope(JSON.stringify({ ...good, status: 'NotFound', result: null })).ok).toBe(true);
  });

  test('isJsonPrefix ignores brackets inside strings', () => {
    expect(isJsonPrefix('{"a":"}"')).toBe(true);
    expect(isJsonPrefix('{"a":"}"}')).toBe(false);
    expect(isJsonPrefix('{"a":"\\\\"}')).toBe(false);
  });
});

describe('backoff and Retry-After', () => {
  const policy: RetryPolicy = { retries: 5, baseDelayMs: 100, maxDelayMs: 1_000 };

  test('exponential, capped, jittered within [half, full]', () => {
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0))).toEqual([50, 100, 200, 400, 500]);
  });

  test('Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7_000);
    expect(parseRetryAfter(['2'], now)).toBe(2_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:03 GMT', now)).toBe(3_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:03 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  test('polling delays double up to the cap', () => {
    const p = { initialDelayMs: 100, maxDelayMs: 500, deadlineMs: 1 };
    expect([0, 1, 2, 3].map((n) => pollDelay(n, p, () => 0))).toEqual([100, 200, 400, 500]);
  });
});

describe('retry decisions', () => {
  const init = { status: 'x', summary: 's', requestId: 'prq_1', endpoint: 'v1/log', result: null };
  const transport = { target: 'POST http://h/v1/log', code: 'X', transient: true };
  const policy: RetryPolicy = { retries: 3, baseDelayMs: 10, maxDelayMs: 1_000 };
  const refused = new ConnectionRefusedError('refused', { ...transport, neverReachedServer: true });
  const reset = new ConnectionResetError('reset', { ...transport, neverReachedServer: false });
  const headersTimeout = new TimeoutError('t', { ...transport, neverReachedServer: false, phase: 'headers', timeoutMs: 1 });
  const connectTimeout = new TimeoutError('t', { ...transport, neverReachedServer: true, phase: 'connect', timeoutMs: 1 });
  const unavailable = new ServiceUnavailableError({ ...init, httpStatus: 503 });
  const invalid = new ValidationError({ ...init, httpStatus: 400 }, []);

  test('reads retry transient failures; writes only provably unsent ones', () => {
    for (const err of [refused, reset, headersTimeout, connectTimeout, unavailable]) expect(isRetryable(err, 'read')).toBe(true);
    expect(isRetryable(invalid, 'read')).toBe(false);
    expect(isRetryable(new Error('bug'), 'read')).toBe(false);
    expect([refused, connectTimeout].map((e) => isRetryable(e, 'write'))).toEqual([true, true]);
    expect([reset, headersTimeout, unavailable, invalid].map((e) => isRetryable(e, 'write'))).toEqual([false, false, false, false]);
  });

  test('attempts are bounded; Retry-After beyond the cap gives up', () => {
    expect(retryDelay(unavailable, 'read', 3, policy)).toBeNull();
    expect(retryDelay(unavailable, 'read', 2, policy, () => 1)).toBe(40);
    const limited = (ms: number | undefined) => new RateLimitedError({ ...init, httpStatus: 429 }, ms);
    expect(retryDelay(limited(500), 'read', 0, policy, () => 1)).toBe(500);
    expect(retryDelay(limited(5), 'read', 0, policy, () => 1)).toBe(10);
    expect(retryDelay(limited(5_000), 'read', 0, policy)).toBeNull();
    expect(retryDelay(limited(undefined), 'write', 0, policy)).toBeNull();
  });
});

describe('Redactor', () => {
  const r = new Redactor([TOKEN]);

  test('replaces the token and its URL-encoded form', () => {
    expect(r.text(`a ${TOKEN} b ${encodeURIComponent(TOKEN)}`)).toBe('a [REDACTED] b [REDACTED]');
    expect(r.value({ [TOKEN]: [`x${TOKEN}`, 1, null] })).toEqual({ '[REDACTED]': ['x[REDACTED]', 1, null] });
  });

  test('copies an undici-like error without its payload, scrubbing nested causes and AggregateError members', () => {
    const inner = Object.assign(new Error(`connect to https://h/?token=${TOKEN}`), { code: 'ECONNREFUSED', syscall: 'connect', port: 443 });
    const aggregate = Object.assign(new AggregateError([inner, new Error(`second ${TOKEN}`)], `all failed ${TOKEN}`), {
      code: 'ECONNREFUSED',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const outer = new Error(`request with ${TOKEN}`, { cause: aggregate });
    const copy = r.error(outer);
    const everything = [copy.message, copy.stack, String(copy.cause), (copy.cause as Error).stack, JSON.stringify(copy), JSON.stringify(copy.cause)].join('\n');
    expect(everything).not.toContain(TOKEN);
    const cause = copy.cause as Error & { code?: string; errors?: Error[]; headers?: unknown };
    expect(cause.name).toBe('AggregateError');
    expect(cause.code).toBe('ECONNREFUSED');
    expect(cause.headers).toBeUndefined();
    expect(cause.errors?.map((e) => e.message)).toEqual(['connect to https://h/?token=[REDACTED]', 'second [REDACTED]']);
    expect((cause.errors?.[0] as Error & { port?: number }).port).toBe(443);
  });

  test('non-errors and read-only errors are handled', () => {
    expect(r.error({ reason: TOKEN }).message).toBe('{"reason":"[REDACTED]"}');
    const dom = new DOMException(`aborted ${TOKEN}`, 'AbortError');
    const scrubbed = r.inPlace(dom) as Error;
    expect(scrubbed.message).toBe('aborted [REDACTED]');
    expect(scrubbed.name).toBe('AbortError');
  });
});

describe('event normalisation', () => {
  test('objects become canonical JSON, Dates ISO strings, null/undefined are dropped', () => {
    expect(normalizeEventInput({ message: 'm', new: { b: 2, a: 1 }, old: [1, { y: 'z' }], when: new Date(0), actor: null, target: undefined, n: 5, ok: true })).toEqual({
      message: 'm',
      new: '{"a":1,"b":2}',
      old: '[1,{"y":"z"}]',
      when: '1970-01-01T00:00:00.000Z',
      n: 5,
      ok: true,
    });
  });

  test('values JSON cannot carry are refused', () => {
    expect(() => normalizeEventInput({ message: 'm', n: Number.NaN })).toThrow(/'n'/);
    expect(() => normalizeEventInput({ message: 'm', f: () => 1 })).toThrow(/'f'/);
  });

  test('tenant default applies unless the event is presigned', () => {
    expect(prepareItem({ event: { message: 'm' } }, { tenantId: 't' })).toEqual({ event: { message: 'm', tenant_id: 't' } });
    expect(prepareItem({ event: { message: 'm' }, signature: 's', public_key: 'k' }, { tenantId: 't' })).toEqual({
      event: { message: 'm' },
      signature: 's',
      public_key: 'k',
    });
  });
});

describe('network failure mapping (failures that are hard to provoke on loopback)', () => {
  const redactor = new Redactor([TOKEN]);
  const ctx = (over: Partial<NetworkFailureContext> = {}): NetworkFailureContext => ({
    redactor,
    target: 'POST https://audit.example/v1/log',
    phase: 'headers',
    connectTimeoutMs: 1000,
    headersTimeoutMs: 2000,
    bodyTimeoutMs: 3000,
    ...over,
  });
  const coded = (code: string, message = code): Error => Object.assign(new Error(message), { code });

  test.each([
    ['UND_ERR_CONNECT_TIMEOUT', 'headers', TimeoutError, true, true],
    ['UND_ERR_HEADERS_TIMEOUT', 'headers', TimeoutError, false, true],
    ['UND_ERR_BODY_TIMEOUT', 'body', TimeoutError, false, true],
    ['UND_ERR_SOCKET', 'headers', ConnectionResetError, false, true],
    ['UND_ERR_SOCKET', 'body', TruncatedBodyError, false, true],
    ['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'body', TruncatedBodyError, false, true],
    ['ECONNRESET', 'headers', ConnectionResetError, false, true],
    ['CERT_HAS_EXPIRED', 'headers', TlsError, true, false],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'headers', TlsError, true, false],
    ['ENOTFOUND', 'headers', AuditTransportError, true, false],
    ['EAI_AGAIN', 'headers', AuditTransportError, true, true],
    ['EPIPE', 'headers', AuditTransportError, false, true],
    ['ESOMETHINGELSE', 'headers', AuditTransportError, false, false],
  ] as const)('%s during %s', (code, phase, cls, neverReachedServer, transient) => {
    const err = networkError(coded(code, `${code} while sending Bearer ${TOKEN}`), ctx({ phase }));
    expect(err).toBeInstanceOf(cls);
    const e = err as AuditTransportError;
    expect(e.code).toBe(code);
    expect(e.neverReachedServer).toBe(neverReachedServer);
    expect(e.transient).toBe(transient);
    expect(`${e.message}\n${e.stack}\n${String(e.cause)}`).not.toContain(TOKEN);
  });

  test('connect timeout names its phase and bound', () => {
    const err = networkError(coded('UND_ERR_CONNECT_TIMEOUT'), ctx()) as TimeoutError;
    expect(err.phase).toBe('connect');
    expect(err.timeoutMs).toBe(1000);
  });

  test('an AggregateError of refusals (happy eyeballs) is ConnectionRefusedError', () => {
    const aggregate = new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], 'connect failed');
    const err = networkError(aggregate, ctx());
    expect(err).toBeInstanceOf(ConnectionRefusedError);
    expect((err as ConnectionRefusedError).neverReachedServer).toBe(true);
    const mixed = networkError(new AggregateError([coded('ECONNREFUSED'), coded('ETIMEDOUT')], 'connect failed'), ctx());
    expect(mixed).not.toBeInstanceOf(ConnectionRefusedError);
  });

  test("the caller's abort wins over whatever undici reports; our own timer is a TimeoutError", () => {
    const controller = new AbortController();
    controller.abort();
    expect(networkError(coded('UND_ERR_ABORTED'), ctx({ callerSignal: controller.signal }))).toBeInstanceOf(AuditAbortError);
    const timedOut = networkError(coded('UND_ERR_ABORTED'), ctx({ timedOut: { phase: 'headers', ms: 250 } })) as TimeoutError;
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(timedOut.timeoutMs).toBe(250);
  });
});
