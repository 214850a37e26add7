// The typed error every layer throws to refuse a request: the HTTP adapter (http/server.ts) turns
// it into an error envelope, the job runner stores it as a failed job's answer.
import type { STATUS_HTTP_CODES } from '../../wire/index.js';

/** The contract's statuses plus the two this service adds for HTTP-level refusals. */
export type ServiceStatus = keyof typeof STATUS_HTTP_CODES | 'PayloadTooLarge' | 'MethodNotAllowed';

export interface FieldError {
  code: string;
  detail: string;
  /** JSON pointer into the request body. */
  source: string;
  path?: string;
}

/** Thrown to answer with an error envelope. */
export class ServiceError extends Error {
  constructor(
    readonly status: ServiceStatus,
    readonly summary: string,
    readonly result: Record<string, unknown> | null = null,
  ) {
    super(summary);
  }
}

export function validationError(errors: FieldError[], summary?: string): ServiceError {
  const text = summary ?? (errors.length === 1 ? errors[0]!.detail : `There were ${errors.length} errors validating the request`);
  return new ServiceError('ValidationError', text, { errors });
}
