// The service's request limits, in one place: the request specs of every endpoint and the body
// parser read them from here, so two endpoints that share a limit cannot drift apart.

/** Events in one v2/log, v2/log_async or v1/log_stream request. */
export const MAX_BULK_EVENTS = 1000;

/**
 * v2/log requests of at most this many events are appended by group commit with other callers'
 * (AuditLog.appendBatched); a larger one is worth its own transaction.
 */
export const BATCHED_MAX_EVENTS = 100;

/** Results one search keeps (max_results). */
export const MAX_RESULTS = 10_000;

/** Events in one page of v1/search or v1/results (limit). */
export const MAX_PAGE = 1000;

/**
 * Longest short string parameter: a root hash (prev_root: 64 hex digits), a time bound (start,
 * end), an order_by field id (ids are at most 64 characters) or a result set id.
 */
export const MAX_SHORT_PARAM = 64;

/**
 * Deepest nesting of arrays/objects a request body may have. Handlers canonicalise, hash and
 * serialise what they are given with recursive code, so a body nested thousands deep overflowed
 * the stack (an InternalError); no request of the API needs more than a handful of levels.
 */
export const MAX_JSON_DEPTH = 100;
