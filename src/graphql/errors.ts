// The gateway's own domain failures, and the folding of the "upstream is down" family of audit
// client errors into one of them. Plain classes, no schema: loaders and resolvers raise them, and
// error-types.ts gives them (and the audit client's classes) GraphQL types.
import { AcceptedTimeoutError, AuditTransportError, InternalServerError, ServiceUnavailableError } from '../audit-client/errors.js';

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
    return new UpstreamUnavailableError(`the audit service could not be reached: ${err.message}`, err.transient, err.requestId);
  }
  if (err instanceof AcceptedTimeoutError) {
    return new UpstreamUnavailableError(`the audit service did not finish request ${err.requestId} in time`, true, err.requestId);
  }
  return err;
}

/** Runs an upstream call, folding its failures (see foldUpstreamError). */
export async function upstream<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw foldUpstreamError(err);
  }
}
