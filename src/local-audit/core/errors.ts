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

/**
 * Most problems one ValidationError lists. A body within the size limit can hold hundreds of
 * thousands of unknown keys; listing each made answers of tens of megabytes (ten times the
 * request) and stalled the event loop while they were built and written.
 */
export const MAX_LISTED_ERRORS = 100;

/**
 * Stands for a problem past the listed ones: checks with an unbounded number of problems (one per
 * unknown key) push this shared object once `errors` is full, so the problem is counted without
 * building its detail or pointer. validationError never lists it.
 */
export const UNLISTED_ERROR: FieldError = Object.freeze({ code: '', detail: '', source: '' });

/** Whether another problem would still be listed (otherwise push UNLISTED_ERROR). */
export function listing(errors: FieldError[]): boolean {
  return errors.length < MAX_LISTED_ERRORS;
}

/** The ValidationError for `errors`: at most MAX_LISTED_ERRORS listed, the summary counting all. */
export function validationError(errors: FieldError[], summary?: string): ServiceError {
  const listed = errors.slice(0, MAX_LISTED_ERRORS).filter((e) => e !== UNLISTED_ERROR);
  const unlisted = errors.length - listed.length;
  const text =
    summary ??
    (errors.length === 1
      ? errors[0]!.detail
      : unlisted > 0
        ? `There were ${errors.length} errors validating the request; the first ${listed.length} are listed`
        : `There were ${errors.length} errors validating the request`);
  return new ServiceError('ValidationError', text, { errors: listed });
}
