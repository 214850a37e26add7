// Domain failures a client can select on (`... on UpstreamValidationError { fieldErrors { … } }`).
// The audit client already maps every upstream failure to a class; this file gives those classes
// GraphQL types, adds the gateway's own, and folds the "upstream is down" family into one type.
// Anything not listed here is masked by yoga as an unexpected error.
import {
  AcceptedTimeoutError,
  AuditApiError,
  AuditTransportError,
  BadOffsetError,
  InternalServerError,
  NotFoundError,
  RateLimitedError,
  ServiceNotEnabledError,
  ServiceUnavailableError,
  TreeNotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../audit-client/errors.js';
import type { ValidationErrorItem } from '../wire/index.js';
import { builder } from './builder.js';
import { InvalidCursorError } from './cursor.js';

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

/** The caller is bound to a tenant and asked for another's data. */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
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

const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'Every domain error has a message a person can read.',
  fields: (t) => ({
    message: t.string({
      description: 'What went wrong.',
      // Upstream errors show the audit service's own summary, not the client's diagnostic line.
      // Not `instanceof AuditApiError`: the errors plugin hands resolvers a Proxy whose
      // prototypes are proxies too, so instanceof is always false here.
      resolve: (e) => {
        const summary = (e as Partial<AuditApiError>).summary;
        return typeof summary === 'string' ? summary : e.message;
      },
    }),
  }),
});


const FieldErrorRef = builder.objectRef<ValidationErrorItem>('FieldError').implement({
  description: 'One problem the audit service found in a request.',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'Machine-readable code, e.g. FieldRequired, AboveMaxLength, BadFormat.' }),
    detail: t.exposeString('detail', { description: 'What is wrong with the field.' }),
    source: t.exposeString('source', { description: 'JSON pointer into the upstream request body, e.g. /event/message.' }),
    path: t.string({
      description: 'The GraphQL-side path of the field when the gateway can tell it (e.g. event.message).',
      nullable: true,
      resolve: (item) => item.path ?? (item.source ? item.source.slice(1).split('/').join('.') : null),
    }),
  }),
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function apiErrorType(cls: new (...args: any[]) => AuditApiError, name: string, description: string) {
  return builder.objectType(cls, {
    name,
    description,
    interfaces: [ErrorInterface],
    fields: (t) => ({
      requestId: t.exposeString('requestId', { description: 'The upstream request id, for support.' }),
      summary: t.exposeString('summary', { description: "The audit service's own summary." }),
    }),
  });
}

builder.objectType(ValidationError, {
  name: 'UpstreamValidationError',
  description: 'The audit service rejected the request; fieldErrors say which fields and why.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    requestId: t.exposeString('requestId', { description: 'The upstream request id, for support.' }),
    fieldErrors: t.field({ type: [FieldErrorRef], description: 'Every problem found.', resolve: (e) => [...e.errors] }),
  }),
});
apiErrorType(UnauthorizedError, 'UnauthorizedError', 'The upstream token was missing, wrong or expired.');
apiErrorType(ServiceNotEnabledError, 'ServiceNotEnabledError', 'The audit service is not enabled for this token or configuration.');
apiErrorType(NotFoundError, 'NotFoundError', 'The upstream has no such result set or request.');
apiErrorType(BadOffsetError, 'BadOffsetError', 'The requested page starts past the end of the result set.');
apiErrorType(TreeNotFoundError, 'TreeNotFoundError', 'No tree, or no published root of the requested size, exists yet.');
builder.objectType(RateLimitedError, {
  name: 'RateLimitedError',
  description: 'The audit service is rate limiting this token.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    requestId: t.exposeString('requestId', { description: 'The upstream request id, for support.' }),
    retryAfterMs: t.int({ nullable: true, description: 'How long to wait before retrying, when the service said.', resolve: (e) => e.retryAfterMs ?? null }),
  }),
});
builder.objectType(UpstreamUnavailableError, {
  name: 'UpstreamUnavailableError',
  description: 'The audit service could not be reached or failed; the request may succeed later.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    transient: t.exposeBoolean('transient', { description: 'True when retrying later may succeed.' }),
    requestId: t.string({ nullable: true, description: 'The upstream request id, when one was received.', resolve: (e) => e.requestId ?? null }),
  }),
});
builder.objectType(InputError, {
  name: 'InputError',
  description: 'An argument the gateway refuses before calling the audit service.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ argument: t.exposeString('argument', { description: 'The argument at fault.' }) }),
});
builder.objectType(InvalidCursorError, {
  name: 'InvalidCursorError',
  description: 'The cursor was altered, issued by another gateway, or belongs to another query.',
  interfaces: [ErrorInterface],
  fields: () => ({}),
});
builder.objectType(ResultSetExpiredError, {
  name: 'ResultSetExpiredError',
  description: 'The result set has expired upstream (or never existed); search again.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ resultId: t.exposeID('resultId', { description: 'The expired result set id.' }) }),
});
builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: "The caller may not reach this data (for example another tenant's).",
  interfaces: [ErrorInterface],
  fields: () => ({}),
});

/** Errors every upstream-calling field can return. */
export const UPSTREAM_ERRORS = [UpstreamUnavailableError, UnauthorizedError, ServiceNotEnabledError, RateLimitedError, ForbiddenError] as const;
/** Errors of fields that send input upstream. */
export const INPUT_ERRORS = [ValidationError, InputError, ...UPSTREAM_ERRORS] as const;
/** Errors of connection fields. */
export const PAGING_ERRORS = [ValidationError, InputError, InvalidCursorError, ResultSetExpiredError, BadOffsetError, NotFoundError, ...UPSTREAM_ERRORS] as const;
