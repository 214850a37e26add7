// The audit REST client: the gateway's only way to reach the audit service.
export {
  AuditClient,
  type AuditClientOptions,
  type CallOptions,
  type LogBulkInput,
  type LogInput,
  type LogOptions,
  type Outcome,
  type PollOptions,
} from './client.js';
export type { AcceptedRequest, AuditResponse } from './response.js';
export type { DownloadDestination, DownloadedFile, DownloadOptions, DownloadResponseInfo } from './download.js';
export type { EventInput, EventItemInput, EventSigner, PreparedItem } from './event.js';
export { normalizeEventInput } from './event.js';
export { DEFAULT_TIMEOUTS, type Timeouts } from './transport.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry.js';
export { DEFAULT_POLLING_POLICY, type PollingPolicy } from './polling.js';
export { DEFAULT_COALESCING_POLICY, type CoalescingPolicy } from './log-coalescer.js';
export * from './errors.js';
export { AbortSource } from './abort-source.js';
export type * from '../wire/index.js';
export { STATUS_HTTP_CODES } from '../wire/index.js';
