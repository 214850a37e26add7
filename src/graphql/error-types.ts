// Domain failures a client can select on (`... on UpstreamValidationError { fieldErrors { … } }`).
// The audit client already maps every upstream failure to a class; this file gives those classes,
// the gateway's own (errors.ts) and ForbiddenError (src/auth) GraphQL types, and lists which a
// field may return. Anything not listed here is masked by yoga as an unexpected error.
import {
  AuditApiError,
  BadOffsetError,
  NotFoundError,
  RateLimitedError,
  ServiceNotEnabledError,
  TreeNotFoundError,
  UnauthorizedError,
  ValidationError,
} from '../audit-client/errors.js';
import type { ValidationErrorItem } from '../wire/index.js';
import { ForbiddenError } from '../auth/errors.js';
import { builder } from './builder.js';
import { InvalidCursorError } from './cursor.js';
import { failedRootField, graphqlArgumentPath } from './field-error-path.js';
import { InputError, ResultSetExpiredError, UpstreamUnavailableError, WriteOutcomeUnknownError } from './errors.js';

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


/** An upstream validation problem and where it sits among the failed field's arguments. */
interface FieldErrorShape {
  item: ValidationErrorItem;
  path: string | null;
}

const FieldErrorRef = builder.objectRef<FieldErrorShape>('FieldError').implement({
  description: 'One problem the audit service found in a request.',
  fields: (t) => ({
    code: t.string({ description: 'Machine-readable code, e.g. FieldRequired, AboveMaxLength, BadFormat.', resolve: (e) => e.item.code }),
    detail: t.string({ description: 'What is wrong with the field.', resolve: (e) => e.item.detail }),
    source: t.string({ description: "JSON pointer into the audit service's request body, as the service gave it (wire keys), e.g. /events/1/event/actor.", resolve: (e) => e.item.source }),
    path: t.string({
      description:
        "The same place as a dotted path through this field's GraphQL arguments, e.g. events.1.actor for logBulk, event.tenantId for log, maxResults for search, data.logs.0 for logStream (a search restriction's problems name the whole argument). Null when no argument gives what the service points at (a value the gateway derives or adds, such as a page limit, verbose or a signature) or a key holds a dot.",
      nullable: true,
      resolve: (e) => e.path,
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
    fieldErrors: t.field({
      type: [FieldErrorRef],
      description: 'Every problem found.',
      resolve: (e, _args, _ctx, info) => {
        const field = failedRootField(info);
        return e.errors.map((item) => ({ item, path: graphqlArgumentPath(field, item.source) }));
      },
    }),
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
builder.objectType(WriteOutcomeUnknownError, {
  name: 'WriteOutcomeUnknownError',
  description:
    'The request reached the audit service, but no answer the gateway could read came back (the connection closed, a timeout, a server error, or a 202 whose result could not be read): the events may have been stored, and when accepted is true they will be. The log is append-only, so sending them again blindly can store them twice: search for them first (for example by a value of your own in the event).',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    accepted: t.exposeBoolean('accepted', { description: 'The audit service answered 202 Accepted: the events will be stored.' }),
    requestId: t.string({ nullable: true, description: 'The upstream request id, when one was received (the accepted request when accepted).', resolve: (e) => e.requestId ?? null }),
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

// In every field's list (the builder's errors.defaultTypes; the plugin tries subclasses first): any
// other refusal of the audit service, by a status the client has no class for (NoCredit,
// MissingConfigID, ProviderError…), or of a class the field does not list.
builder.objectType(AuditApiError, {
  name: 'UpstreamRefusedError',
  description: "The audit service refused the request with a status this field has no type of its own for (e.g. NoCredit, MissingConfigID, ProviderError): status and summary are the service's own.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    status: t.exposeString('status', { description: "The audit service's status, e.g. NoCredit." }),
    summary: t.exposeString('summary', { description: "The audit service's own summary." }),
    httpStatus: t.exposeInt('httpStatus', { description: 'The HTTP status it came with.' }),
    requestId: t.exposeString('requestId', { description: 'The upstream request id, for support.' }),
  }),
});

/** Errors every upstream-calling field can return. */
const UPSTREAM_ERRORS = [UpstreamUnavailableError, UnauthorizedError, ServiceNotEnabledError, RateLimitedError, ForbiddenError] as const;
/** Errors of fields that send input upstream. */
export const INPUT_ERRORS = [ValidationError, InputError, ...UPSTREAM_ERRORS] as const;
/** Errors of fields that store events. */
export const WRITE_ERRORS = [...INPUT_ERRORS, WriteOutcomeUnknownError] as const;
/** Errors of connection fields. */
export const PAGING_ERRORS = [ValidationError, InputError, InvalidCursorError, ResultSetExpiredError, BadOffsetError, NotFoundError, ...UPSTREAM_ERRORS] as const;
