// The gateway's own domain failures, and the folding of the "upstream is down" family of audit
// client errors into one of them. Plain classes, no schema: loaders and resolvers raise them, and
// error-types.ts gives them (and the audit client's classes) GraphQL types.
import { AcceptedResultUnavailableError, AcceptedTimeoutError, AuditApiError, AuditTransportError, InternalServerError, ServiceUnavailableError } from '../audit-client/errors.js';

/** The upstream could not be reached or failed (5xx, transport, polling deadline). */
export class UpstreamUnavailableError extends Error {
  override name = 'UpstreamUnavailableError';
  constructor(
    message: string,
    readonly transient: boolean,
    readonly requestId: string | undefined,
  ) {
    super(message);
  }
}

/**
 * A write that reached the audit service without an answer the gateway could read: the events may
 * have been stored, or (`accepted`, answered 202) will be. Unlike UpstreamUnavailableError it says
 * not to send them again blindly: the log is append-only and tamper-evident, so a duplicate stays.
 */
export class WriteOutcomeUnknownError extends Error {
  override name = 'WriteOutcomeUnknownError';
  constructor(
    message: string,
    readonly accepted: boolean,
    readonly requestId: string | undefined,
  ) {
    super(message);
  }
}

/** Input the gateway itself refuses before calling the upstream (bad page size, two ids…). */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    message: string,
    readonly argument: string,
  ) {
    super(message);
  }
}

/** A result set the cursor or id points at has expired or never existed upstream. */
export class ResultSetExpiredError extends Error {
  override name = 'ResultSetExpiredError';
  constructor(readonly resultId: string) {
    super(`result set ${resultId} has expired or does not exist; run the search again`);
  }
}

/**
 * Turns upstream failures that share a meaning for clients into gateway errors. Called by the
 * helper every resolver uses to reach the upstream (see `upstream` below), so it is the one place
 * this folding happens.
 */
export function foldUpstreamError(err: unknown): unknown {
  if (err instanceof ServiceUnavailableError || err instanceof InternalServerError) {
    return new UpstreamUnavailableError(`the audit service failed: ${err.summary}`, true, err.requestId);
  }
  if (err instanceof AuditTransportError) {
    return new UpstreamUnavailableError(`the audit service could not be reached: ${transportDetail(err)}`, err.transient, err.requestId);
  }
  if (err instanceof AcceptedTimeoutError) {
    return new UpstreamUnavailableError(`the audit service did not finish request ${err.requestId} in time`, true, err.requestId);
  }
  if (err instanceof AcceptedResultUnavailableError) {
    return new UpstreamUnavailableError(`the audit service accepted request ${err.requestId}, but its result could not be read`, true, err.requestId);
  }
  return err;
}

const SEARCH_FIRST = 'search for the events before sending them again';

/**
 * foldUpstreamError for a request that stores events: what may have been applied is a
 * WriteOutcomeUnknownError, never "unavailable, retry later" (the audit client does not resend
 * such a write either). A request that provably never reached the service, or that it refused
 * (503, 4xx), stays what foldUpstreamError makes of it.
 */
export function foldWriteError(err: unknown): unknown {
  if (err instanceof AcceptedTimeoutError || err instanceof AcceptedResultUnavailableError) {
    const why = err instanceof AcceptedTimeoutError ? 'it did not finish in time' : 'its result could not be read';
    return new WriteOutcomeUnknownError(`the audit service accepted request ${err.requestId} and will store the events, but ${why}: do not send them again`, true, err.requestId);
  }
  // A 500, or a 5xx of a status the client has no class for (a gateway timeout…); not a 503,
  // by which the service says it did not take the request.
  if (err instanceof InternalServerError || (err instanceof AuditApiError && err.constructor === AuditApiError && err.httpStatus >= 500 && err.httpStatus !== 503)) {
    return new WriteOutcomeUnknownError(`the audit service failed while storing (${err.summary}): the events may have been stored; ${SEARCH_FIRST}`, false, err.requestId);
  }
  if (err instanceof AuditTransportError && !err.neverReachedServer) {
    return new WriteOutcomeUnknownError(`the request reached the audit service, but its answer was lost (${transportDetail(err)}): the events may have been stored; ${SEARCH_FIRST}`, false, err.requestId);
  }
  return foldUpstreamError(err);
}

/**
 * What went wrong in transport, without where: the client's message starts with the method and URL
 * it asked for (the upstream's internal address, and whatever the caller put into the path), and
 * the cause may name the address again.
 */
function transportDetail(err: AuditTransportError): string {
  const prefix = `${err.target}: `;
  const detail = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.code;
  const scrubbed = detail
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, 'the audit service')
    .replace(/\[[0-9a-f:.]+\](?::\d+)?|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/gi, 'the audit service');
  return scrubbed.length > 200 ? `${scrubbed.slice(0, 200)}…` : scrubbed;
}

/** Runs an upstream call that stores events, folding its failures (see foldWriteError). */
export async function upstreamWrite<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw foldWriteError(err);
  }
}

/** Runs an upstream call, folding its failures (see foldUpstreamError). */
export async function upstream<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw foldUpstreamError(err);
  }
}
