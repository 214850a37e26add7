// Every way a call to the audit service can fail, as classes a resolver can `instanceof`:
//   AuditClientError
//   ├── AuditApiError            the service answered with an error envelope (keyed by `status`)
//   │   ├── ValidationError, UnauthorizedError, ServiceNotEnabledError, NotFoundError,
//   │   ├── RateLimitedError, BadOffsetError, TreeNotFoundError,
//   │   └── ServiceUnavailableError, InternalServerError
//   ├── AuditTransportError      no usable envelope came back
//   │   ├── ConnectionRefusedError, ConnectionResetError, TimeoutError, TlsError,
//   │   ├── NonJsonBodyError, TruncatedBodyError, MalformedEnvelopeError, DownloadError
//   ├── AcceptedTimeoutError     a 202 was still running at the polling deadline
//   └── AuditAbortError          the caller's AbortSignal fired
//
// These classes only hold data; the client's error-mapping module is the one place that builds
// them, and it scrubs the token from every string first (messages, summaries, causes).
import type { ResponseStatus, ValidationErrorItem } from '../wire/index.js';

/** Root of every error the audit client throws. */
export class AuditClientError extends Error {
  override name = 'AuditClientError';
  /**
   * True when the same call may succeed if repeated later (5xx, 429, connection trouble). The
   * client already retried reads on these within its policy; a resolver may surface "try again".
   */
  readonly transient: boolean;

  constructor(message: string, options: { transient: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.transient = options.transient;
  }
}

// ---------------------------------------------------------------------------------------------
// Error envelopes

export interface ApiErrorInit {
  status: ResponseStatus;
  summary: string;
  requestId: string;
  httpStatus: number;
  /** `v1/search`, `request/<id>`… */
  endpoint: string;
  /** The envelope's `result`, token-scrubbed (often null for errors). */
  result?: unknown;
}

/** The service answered with an envelope whose `status` is not Success/Accepted. */
export class AuditApiError extends AuditClientError {
  override name = 'AuditApiError';
  readonly status: ResponseStatus;
  readonly summary: string;
  readonly requestId: string;
  readonly httpStatus: number;
  readonly endpoint: string;
  readonly result: unknown;

  constructor(init: ApiErrorInit, extra?: { transient?: boolean; detail?: string }) {
    const transient = extra?.transient ?? (init.httpStatus >= 500 || init.httpStatus === 429);
    const detail = extra?.detail ? ` — ${extra.detail}` : '';
    super(`${init.endpoint}: ${init.status}: ${init.summary}${detail} (request ${init.requestId}, HTTP ${init.httpStatus})`, { transient });
    this.status = init.status;
    this.summary = init.summary;
    this.requestId = init.requestId;
    this.httpStatus = init.httpStatus;
    this.endpoint = init.endpoint;
    this.result = init.result ?? null;
  }
}

/** `ValidationError`: the request body broke the contract; `errors` say where (JSON pointers). */
export class ValidationError extends AuditApiError {
  override name = 'ValidationError';
  readonly errors: readonly ValidationErrorItem[];

  constructor(init: ApiErrorInit, errors: readonly ValidationErrorItem[]) {
    const shown = errors.slice(0, 3).map((e) => `${e.source || '/'} ${e.code}: ${e.detail}`);
    if (errors.length > 3) shown.push(`…and ${errors.length - 3} more`);
    super(init, { transient: false, ...(shown.length > 0 ? { detail: shown.join('; ') } : {}) });
    this.errors = errors;
  }
}

/** `Unauthorized`: missing, wrong or expired token. */
export class UnauthorizedError extends AuditApiError {
  override name = 'UnauthorizedError';
  constructor(init: ApiErrorInit) {
    super(init, { transient: false });
  }
}

/** `ServiceNotEnabled`: the token's project has no audit service (or not this config). */
export class ServiceNotEnabledError extends AuditApiError {
  override name = 'ServiceNotEnabledError';
  constructor(init: ApiErrorInit) {
    super(init, { transient: false });
  }
}

/** `NotFound`: unknown result set, request id or path. */
export class NotFoundError extends AuditApiError {
  override name = 'NotFoundError';
  constructor(init: ApiErrorInit) {
    super(init, { transient: false });
  }
}

/** `TooManyRequests`. `retryAfterMs` comes from the Retry-After header when the service sent one. */
export class RateLimitedError extends AuditApiError {
  override name = 'RateLimitedError';
  readonly retryAfterMs: number | undefined;
  constructor(init: ApiErrorInit, retryAfterMs: number | undefined) {
    super(init, { transient: true });
    this.retryAfterMs = retryAfterMs;
  }
}

/** `BadOffset`: a `v1/results` offset past the end of the result set. */
export class BadOffsetError extends AuditApiError {
  override name = 'BadOffsetError';
  constructor(init: ApiErrorInit) {
    super(init, { transient: false });
  }
}

/** `TreeNotFound`: no tree yet, or no published root of the requested size. */
export class TreeNotFoundError extends AuditApiError {
  override name = 'TreeNotFoundError';
  constructor(init: ApiErrorInit) {
    super(init, { transient: false });
  }
}

/** `ServiceNotAvailable` (503). */
export class ServiceUnavailableError extends AuditApiError {
  override name = 'ServiceUnavailableError';
  constructor(init: ApiErrorInit) {
    super(init, { transient: true });
  }
}

/** `InternalError` (500). */
export class InternalServerError extends AuditApiError {
  override name = 'InternalServerError';
  constructor(init: ApiErrorInit) {
    super(init, { transient: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Transport

export interface TransportErrorInit {
  /** `POST http://host/v1/log` (origin and path only: never credentials or query strings). */
  target: string;
  /** A stable code: a system code (`ECONNREFUSED`), an undici code, or one of ours (`NON_JSON_BODY`…). */
  code: string;
  /**
   * True only when it is certain that no byte of the request reached the server (so a write may
   * be repeated without risk of duplicating it); false when that cannot be proven.
   */
  neverReachedServer: boolean;
  transient: boolean;
  /** HTTP status, when a response status line arrived. */
  httpStatus?: number;
  /** From the `x-request-id` header, when a response arrived with one. */
  requestId?: string;
  /** A token-scrubbed copy of the underlying error. */
  cause?: unknown;
}

/** No usable envelope came back: the network, TLS or the body failed. */
export class AuditTransportError extends AuditClientError {
  override name = 'AuditTransportError';
  readonly code: string;
  readonly neverReachedServer: boolean;
  readonly target: string;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;

  constructor(message: string, init: TransportErrorInit) {
    super(`${init.target}: ${message}`, { transient: init.transient, cause: init.cause });
    this.code = init.code;
    this.neverReachedServer = init.neverReachedServer;
    this.target = init.target;
    this.httpStatus = init.httpStatus;
    this.requestId = init.requestId;
  }
}

/** The connection was refused (ECONNREFUSED at connect): the request provably never left. */
export class ConnectionRefusedError extends AuditTransportError {
  override name = 'ConnectionRefusedError';
}

/** The server reset or closed the connection before a complete response. */
export class ConnectionResetError extends AuditTransportError {
  override name = 'ConnectionResetError';
}

export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'total';

/** A configured timeout fired: connecting, waiting for response headers, between body chunks, or for the whole answer. */
export class TimeoutError extends AuditTransportError {
  override name = 'TimeoutError';
  readonly phase: TimeoutPhase;
  readonly timeoutMs: number;
  constructor(message: string, init: TransportErrorInit & { phase: TimeoutPhase; timeoutMs: number }) {
    super(message, init);
    this.phase = init.phase;
    this.timeoutMs = init.timeoutMs;
  }
}

/** TLS handshake or certificate failure. */
export class TlsError extends AuditTransportError {
  override name = 'TlsError';
}

/** The body is not JSON (an HTML error page from a proxy, an empty body…). */
export class NonJsonBodyError extends AuditTransportError {
  override name = 'NonJsonBodyError';
  readonly contentType: string | undefined;
  /** The first few hundred characters, token-scrubbed, for diagnosis. */
  readonly bodyExcerpt: string;
  constructor(message: string, init: TransportErrorInit & { contentType: string | undefined; bodyExcerpt: string }) {
    super(message, init);
    this.contentType = init.contentType;
    this.bodyExcerpt = init.bodyExcerpt;
  }
}

/** The body ended early: the connection closed before Content-Length, or the JSON stops mid-value. */
export class TruncatedBodyError extends AuditTransportError {
  override name = 'TruncatedBodyError';
  readonly receivedBytes: number | undefined;
  constructor(message: string, init: TransportErrorInit & { receivedBytes?: number }) {
    super(message, init);
    this.receivedBytes = init.receivedBytes;
  }
}

/** The body is JSON but not an envelope (a member missing or of the wrong type). */
export class MalformedEnvelopeError extends AuditTransportError {
  override name = 'MalformedEnvelopeError';
}

/** A result file download (dest_url) answered with an HTTP error instead of the file. */
export class DownloadError extends AuditTransportError {
  override name = 'DownloadError';
}

// ---------------------------------------------------------------------------------------------
// Polling and cancellation

/** A 202 Accepted request was still running when the polling deadline passed. */
export class AcceptedTimeoutError extends AuditClientError {
  override name = 'AcceptedTimeoutError';
  readonly requestId: string;
  readonly location: string;
  readonly deadlineMs: number;
  readonly polls: number;
  constructor(init: { requestId: string; location: string; deadlineMs: number; polls: number; endpoint: string }) {
    super(
      `${init.endpoint}: request ${init.requestId} was still running after ${init.deadlineMs} ms (${init.polls} polls); poll GET /request/${init.requestId} later`,
      { transient: true },
    );
    this.requestId = init.requestId;
    this.location = init.location;
    this.deadlineMs = init.deadlineMs;
    this.polls = init.polls;
  }
}

/**
 * A 202 Accepted request whose result could not be read: the upstream accepted it (a write will be
 * applied), but a poll of GET /request/<id> failed (rate limited, not found, a transport error…).
 * `requestId` is the accepted request's, to poll later; `cause` is the poll's failure.
 */
export class AcceptedResultUnavailableError extends AuditClientError {
  override name = 'AcceptedResultUnavailableError';
  readonly requestId: string;
  readonly location: string;
  constructor(init: { requestId: string; location: string; endpoint: string; cause: unknown }) {
    const why = init.cause instanceof Error ? init.cause.message : String(init.cause);
    super(`${init.endpoint}: request ${init.requestId} was accepted, but its result could not be read (${why}); poll GET /request/${init.requestId} later`, {
      transient: true,
      cause: init.cause,
    });
    this.requestId = init.requestId;
    this.location = init.location;
  }
}

/**
 * The caller's AbortSignal fired (for example the GraphQL request was cancelled). `name` is
 * 'AbortError' like fetch's, so generic abort handling recognises it.
 */
export class AuditAbortError extends AuditClientError {
  override name = 'AbortError';
  readonly target: string;
  constructor(target: string, cause?: unknown) {
    super(`${target}: aborted by the caller`, { transient: false, cause });
    this.target = target;
  }
}
