// What the client's methods return: the envelope's result with its metadata in camelCase, or the
// handle of a request the service accepted (202) and is still working on.
import type { AcceptedResult, ResponseEnvelope } from '../wire/index.js';

/** A successful call. */
export interface AuditResponse<R> {
  status: 'Success';
  requestId: string;
  requestTime: string;
  responseTime: string;
  summary: string;
  /** The HTTP status it came with (success is decided by the envelope, not by this). */
  httpStatus: number;
  result: R;
}

/** A request the service accepted (HTTP 202) and is still processing: poll it with pollResult. */
export interface AcceptedRequest {
  status: 'Accepted';
  requestId: string;
  summary: string;
  /** Minutes the result is kept once ready. */
  ttlMins: number;
  /** How many times the request has been polled. */
  retryCounter: number;
  /** Where to poll, as the service gave it (e.g. `/request/prq_…`). */
  location: string;
}

export function successResponse<R>(envelope: ResponseEnvelope, httpStatus: number): AuditResponse<R> {
  return {
    status: 'Success',
    requestId: envelope.request_id,
    requestTime: envelope.request_time,
    responseTime: envelope.response_time,
    summary: envelope.summary,
    httpStatus,
    result: envelope.result as R,
  };
}

export function acceptedRequest(envelope: ResponseEnvelope): AcceptedRequest {
  const result = (envelope.result ?? {}) as Partial<AcceptedResult>;
  return {
    status: 'Accepted',
    requestId: envelope.request_id,
    summary: envelope.summary,
    ttlMins: typeof result.ttl_mins === 'number' ? result.ttl_mins : 0,
    retryCounter: typeof result.retry_counter === 'number' ? result.retry_counter : 0,
    location: typeof result.location === 'string' ? result.location : `/request/${envelope.request_id}`,
  };
}
