// The one place where upstream failures become the client's error classes: error envelopes by
// `status`, unusable bodies by what is wrong with them, and network failures by their code. Every
// string that ends up in an error passes through the Redactor first.
import type { IncomingHttpHeaders } from 'node:http';
import type { EnvelopeParse } from './envelope.js';
import {
  AuditAbortError,
  AuditApiError,
  AuditTransportError,
  BadOffsetError,
  ConnectionRefusedError,
  ConnectionResetError,
  DownloadError,
  InternalServerError,
  MalformedEnvelopeError,
  NonJsonBodyError,
  NotFoundError,
  RateLimitedError,
  ServiceNotEnabledError,
  ServiceUnavailableError,
  TimeoutError,
  TlsError,
  TreeNotFoundError,
  TruncatedBodyError,
  UnauthorizedError,
  ValidationError,
  type ApiErrorInit,
  type TimeoutPhase,
  type TransportErrorInit,
} from './errors.js';
import type { Redactor } from './redact.js';
import { parseRetryAfter } from './retry.js';
import type { ResponseEnvelope, ValidationErrorItem } from '../wire/index.js';

export interface ResponseContext {
  redactor: Redactor;
  /** `POST http://host/v1/log` */
  target: string;
  /** `v1/log`, `request/<id>` */
  endpoint: string;
  httpStatus: number;
  headers: IncomingHttpHeaders;
}

const EXCERPT_CHARS = 300;

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The response's `x-request-id`, scrubbed: a proxy may echo any request header into it. */
function requestIdHeader(headers: IncomingHttpHeaders, redactor: Redactor): string | undefined {
  const value = headerValue(headers, 'x-request-id');
  return value === undefined ? undefined : redactor.text(value);
}

/** An error envelope (status other than Success/Accepted) → its AuditApiError subclass. */
export function apiError(envelope: ResponseEnvelope, ctx: ResponseContext): AuditApiError {
  const r = ctx.redactor;
  const init: ApiErrorInit = {
    status: r.text(envelope.status),
    summary: r.text(envelope.summary),
    requestId: r.text(envelope.request_id),
    httpStatus: ctx.httpStatus,
    endpoint: ctx.endpoint,
    result: r.value(envelope.result),
  };
  switch (envelope.status) {
    case 'ValidationError':
      return new ValidationError(init, validationItems(envelope.result, r));
    case 'Unauthorized':
      return new UnauthorizedError(init);
    case 'ServiceNotEnabled':
      return new ServiceNotEnabledError(init);
    case 'NotFound':
      return new NotFoundError(init);
    case 'TooManyRequests':
      return new RateLimitedError(init, parseRetryAfter(ctx.headers['retry-after']));
    case 'BadOffset':
      return new BadOffsetError(init);
    case 'TreeNotFound':
      return new TreeNotFoundError(init);
    case 'ServiceNotAvailable':
      return new ServiceUnavailableError(init);
    case 'InternalError':
      return new InternalServerError(init);
    default:
      return new AuditApiError(init);
  }
}

/** `result.errors` of a ValidationError, kept even when a member is missing or mistyped. */
function validationItems(result: unknown, r: Redactor): ValidationErrorItem[] {
  const errors = (result as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.map((raw): ValidationErrorItem => {
    const item = (raw ?? {}) as Record<string, unknown>;
    const text = (v: unknown): string => r.text(typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
    const out: ValidationErrorItem = { code: text(item.code), detail: text(item.detail), source: text(item.source) };
    if (typeof item.path === 'string') out.path = r.text(item.path);
    return out;
  });
}

/** A body that is not a usable envelope → NonJsonBody / TruncatedBody / MalformedEnvelope. */
export function bodyError(failure: Extract<EnvelopeParse, { ok: false }>, text: string, ctx: ResponseContext): AuditTransportError {
  const init: TransportErrorInit = {
    target: ctx.target,
    code: '',
    // A response arrived, so the request was received.
    neverReachedServer: false,
    // An HTML 502/503/504 from a proxy or load balancer is worth another read attempt.
    transient: ctx.httpStatus >= 500 || ctx.httpStatus === 429,
    httpStatus: ctx.httpStatus,
    requestId: requestIdHeader(ctx.headers, ctx.redactor),
  };
  const detail = `HTTP ${ctx.httpStatus}: ${failure.detail}`;
  switch (failure.problem) {
    case 'non-json':
      return new NonJsonBodyError(detail, {
        ...init,
        code: 'NON_JSON_BODY',
        contentType: headerValue(ctx.headers, 'content-type'),
        bodyExcerpt: ctx.redactor.excerpt(text, EXCERPT_CHARS),
      });
    case 'truncated':
      return new TruncatedBodyError(detail, { ...init, code: 'TRUNCATED_BODY', transient: true, receivedBytes: Buffer.byteLength(text) });
    case 'malformed':
      return new MalformedEnvelopeError(detail, { ...init, code: 'MALFORMED_ENVELOPE' });
  }
}

export interface NetworkFailureContext {
  redactor: Redactor;
  target: string;
  /** Whether the response headers had arrived when it failed. */
  phase: 'headers' | 'body';
  /**
   * Set when one of the client's own timers fired (it aborts the request). `total`: the deadline
   * on the whole exchange, which fires in whichever phase the exchange was in.
   */
  timedOut?: { phase: TimeoutPhase; ms: number; total?: boolean };
  /** The caller's signal: if it aborted, that is the reason, whatever undici reports. */
  callerSignal?: AbortSignal;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  httpStatus?: number;
  requestId?: string;
  receivedBytes?: number;
}

// Failures during the TLS handshake or certificate checks (Node/OpenSSL codes).
const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'HOSTNAME_MISMATCH',
]);

// Codes of failures that happen before any socket exists (name resolution).
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);
// Network-level trouble worth another attempt for reads.
const TRANSIENT_CODES = new Set(['EAI_AGAIN', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN']);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Node's happy-eyeballs connect reports an AggregateError when every address failed. */
function allRefused(err: unknown): boolean {
  if (codeOf(err) === 'ECONNREFUSED') return true;
  const inner = (err as { errors?: unknown } | null)?.errors;
  return Array.isArray(inner) && inner.length > 0 && inner.every((e) => codeOf(e) === 'ECONNREFUSED');
}

/** A thrown network/undici failure → its AuditTransportError subclass (or AuditAbortError). */
export function networkError(err: unknown, ctx: NetworkFailureContext): AuditTransportError | AuditAbortError {
  const cause = ctx.redactor.error(err);
  if (ctx.callerSignal?.aborted) return new AuditAbortError(ctx.target, ctx.redactor.error(ctx.callerSignal.reason));

  const base = {
    target: ctx.target,
    cause,
    httpStatus: ctx.httpStatus,
    requestId: ctx.requestId === undefined ? undefined : ctx.redactor.text(ctx.requestId),
  };
  const code = codeOf(err) ?? 'UNKNOWN';

  if (ctx.timedOut?.total) {
    const { ms } = ctx.timedOut;
    return new TimeoutError(`the response was not complete within ${ms} ms`, { ...base, code: 'TIMEOUT_TOTAL', phase: 'total', timeoutMs: ms, neverReachedServer: false, transient: true });
  }
  if (ctx.timedOut) {
    const { phase, ms } = ctx.timedOut;
    const what = phase === 'headers' ? 'no response headers' : 'no response body data';
    return new TimeoutError(`${what} within ${ms} ms`, { ...base, code: `TIMEOUT_${phase.toUpperCase()}`, phase, timeoutMs: ms, neverReachedServer: false, transient: true });
  }
  if (allRefused(err)) {
    // ECONNREFUSED only comes from connect(): the TCP handshake failed, so no byte was sent.
    return new ConnectionRefusedError('connection refused', { ...base, code: 'ECONNREFUSED', neverReachedServer: true, transient: true });
  }
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      // undici writes a request only on a connected socket: a connect timeout means nothing was sent.
      return new TimeoutError(`could not connect within ${ctx.connectTimeoutMs} ms`, { ...base, code, phase: 'connect', timeoutMs: ctx.connectTimeoutMs, neverReachedServer: true, transient: true });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new TimeoutError(`no response headers within ${ctx.headersTimeoutMs} ms`, { ...base, code, phase: 'headers', timeoutMs: ctx.headersTimeoutMs, neverReachedServer: false, transient: true });
    case 'UND_ERR_BODY_TIMEOUT':
      return new TimeoutError(`no response body data within ${ctx.bodyTimeoutMs} ms`, { ...base, code, phase: 'body', timeoutMs: ctx.bodyTimeoutMs, neverReachedServer: false, transient: true });
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return new TruncatedBodyError('the body is shorter than its Content-Length', { ...base, code, neverReachedServer: false, transient: true, receivedBytes: ctx.receivedBytes });
    case 'UND_ERR_SOCKET':
      // undici's "other side closed": a FIN. Mid-body it means the body was cut short.
      if (ctx.phase === 'body') {
        return new TruncatedBodyError('the connection closed before the body was complete', { ...base, code, neverReachedServer: false, transient: true, receivedBytes: ctx.receivedBytes });
      }
      return new ConnectionResetError('the connection closed before a response', { ...base, code, neverReachedServer: false, transient: true });
    case 'ECONNRESET':
      return new ConnectionResetError(ctx.phase === 'body' ? 'the connection was reset during the response body' : 'the connection was reset before a response', {
        ...base,
        code,
        neverReachedServer: false,
        transient: true,
      });
    case 'UND_ERR_ABORTED':
    case 'ABORT_ERR':
      // Aborted by something other than the caller's signal or our timers (e.g. the dispatcher closing).
      return new AuditTransportError('the request was aborted', { ...base, code, neverReachedServer: false, transient: false });
  }
  if (TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
    // A handshake failure: undici writes the request only after the handshake completes.
    return new TlsError(`TLS failure (${code})`, { ...base, code, neverReachedServer: ctx.phase === 'headers', transient: false });
  }
  if (DNS_CODES.has(code)) {
    return new AuditTransportError(`could not resolve the host (${code})`, { ...base, code, neverReachedServer: true, transient: TRANSIENT_CODES.has(code) });
  }
  if (code.startsWith('UND_ERR_INVALID') || code === 'ERR_INVALID_URL') {
    // Rejected by undici's argument checks before dispatch.
    return new AuditTransportError(`invalid request (${code})`, { ...base, code, neverReachedServer: true, transient: false });
  }
  return new AuditTransportError(`request failed (${code}): ${cause.message}`, { ...base, code, neverReachedServer: false, transient: TRANSIENT_CODES.has(code) });
}

/** Longest stretch of an upstream-chosen id shown in a message. */
const ID_CHARS = 80;

/**
 * A Success or Accepted answer to GET /request/<id> that names another request. The service
 * answers a poll under the polled request's id (the local service does; the vendor's Python SDK
 * polls again with the request_id of each 202 it gets, which only works if the cloud does too), so
 * such an answer is not this request's result, whatever it holds.
 */
export function foreignPollAnswerError(answeredId: string, polledId: string, ctx: ResponseContext): MalformedEnvelopeError {
  const r = ctx.redactor;
  return new MalformedEnvelopeError(`HTTP ${ctx.httpStatus}: the answer is about request ${r.excerpt(answeredId, ID_CHARS)}, not the polled ${r.excerpt(polledId, ID_CHARS)}`, {
    target: ctx.target,
    code: 'FOREIGN_POLL_ANSWER',
    neverReachedServer: false,
    transient: false,
    httpStatus: ctx.httpStatus,
    requestId: requestIdHeader(ctx.headers, r),
  });
}

/** The response body passed the client's size cap. */
export function tooLargeError(target: string, limit: number, httpStatus: number, headers: IncomingHttpHeaders, redactor: Redactor): AuditTransportError {
  const requestId = requestIdHeader(headers, redactor);
  return new AuditTransportError(`the response exceeds ${limit} bytes`, {
    target,
    code: 'RESPONSE_TOO_LARGE',
    neverReachedServer: false,
    transient: false,
    httpStatus,
    requestId,
  });
}

/**
 * A result-file download (dest_url, usually another origin) that answered an HTTP error. If the
 * body is an error envelope (the local service serves its files itself) it maps like any call.
 */
export function downloadHttpError(parsed: EnvelopeParse, ctx: ResponseContext): AuditApiError | AuditTransportError {
  if (parsed.ok && parsed.envelope.status !== 'Success' && parsed.envelope.status !== 'Accepted') return apiError(parsed.envelope, ctx);
  const requestId = requestIdHeader(ctx.headers, ctx.redactor);
  return new DownloadError(`the file could not be downloaded (HTTP ${ctx.httpStatus})`, {
    target: ctx.target,
    code: `HTTP_${ctx.httpStatus}`,
    neverReachedServer: false,
    transient: ctx.httpStatus >= 500 || ctx.httpStatus === 429,
    httpStatus: ctx.httpStatus,
    requestId,
  });
}

/** The downloaded bytes are not the gzip file they should be. */
export function corruptDownloadError(err: unknown, ctx: ResponseContext): AuditTransportError {
  return new DownloadError('the downloaded file is not valid gzip', {
    target: ctx.target,
    code: 'BAD_GZIP',
    neverReachedServer: false,
    transient: false,
    httpStatus: ctx.httpStatus,
    cause: ctx.redactor.error(err),
  });
}

/** The caller's signal fired outside a request (while backing off or between polls). */
export function abortError(target: string, reason: unknown, redactor: Redactor): AuditAbortError {
  return new AuditAbortError(target, redactor.error(reason));
}
