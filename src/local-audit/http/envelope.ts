// The response envelope every endpoint answers with (the audit REST API's wire format) and the
// HTTP status of each envelope status.
import { STATUS_HTTP_CODES } from '../../wire/index.js';
import { microTimestamp } from '../core/clock.js';
import type { ServiceStatus } from '../core/errors.js';

export type { ServiceStatus };

export const HTTP_CODES: Record<ServiceStatus, number> = {
  ...STATUS_HTTP_CODES,
  PayloadTooLarge: 413,
  MethodNotAllowed: 405,
};

export interface ResponseEnvelope {
  request_id: string;
  request_time: string;
  response_time: string;
  status: ServiceStatus;
  summary: string;
  result: unknown;
}

export function envelope(requestId: string, requestTime: string, status: ServiceStatus, summary: string, result: unknown): ResponseEnvelope {
  return { request_id: requestId, request_time: requestTime, response_time: microTimestamp(), status, summary, result };
}
