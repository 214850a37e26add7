// v2/log_async and polling (GET /request/<id>) for every kind of job.
// v2/log_async validates exactly like v2/log and rejects bad input at once; accepted events are
// recorded as a job (committed before the 202) and appended in the background. The job id is the
// 202 response's request_id, which is what the SDKs poll.
import type { AuditLog } from '../audit-log.js';
import { ServiceError } from '../http/envelope.js';
import type { ActionResult } from '../http/router.js';
import { validateBody, type BodySpec } from '../http/validate.js';
import { sharedJobRunner, type JobRunner } from '../jobs.js';
import { appendBulk, MAX_BULK_EVENTS, validateBulkItems } from './log.js';
import type { RouteModuleFactory, ServiceParts } from './module.js';

export const LOG_ASYNC_JOB = 'log_async';

// The same body as v2/log (routes/log.ts), which the real service also accepts unknown keys on.
const V2_LOG_ASYNC: BodySpec = {
  allowUnknown: true,
  fields: {
    events: { type: 'array', required: true, minItems: 1, maxItems: MAX_BULK_EVENTS },
    verbose: { type: 'boolean' },
    prev_root: { type: 'string', maxLength: 64 },
  },
};

interface LogAsyncRequest {
  events: unknown[];
  verbose: boolean;
}

const ACCEPTED_SUMMARY = 'Your request is in progress; poll the location in result until it succeeds';

/** The 202 answer for job `id`: {ttl_mins, retry_counter, location}. */
export function acceptedAnswer(parts: ServiceParts, runner: JobRunner, id: string, retryCounter: number): ActionResult {
  return {
    status: 'Accepted',
    summary: ACCEPTED_SUMMARY,
    result: { ttl_mins: runner.ttlMinutes, retry_counter: retryCounter, location: `${parts.publicUrl()}/request/${id}` },
  };
}

function runLogAsync(log: AuditLog, request: unknown): { result: unknown } {
  const req = request as LogAsyncRequest;
  // Checked again at run time: a job resumed after a restart meets the schema of that run.
  const items = validateBulkItems(log.schema, req.events);
  return { result: appendBulk(log, items, req.verbose) };
}

export const asyncModule: RouteModuleFactory = (parts) => {
  const { log } = parts;
  const runner = sharedJobRunner(log, parts.onError);
  runner.register(LOG_ASYNC_JOB, (request) => runLogAsync(log, request));

  return {
    actions: {
      'v2/log_async': ({ body, requestId }) => {
        const req = validateBody<{ events: unknown[]; verbose?: boolean }>(body, V2_LOG_ASYNC);
        const items = validateBulkItems(log.schema, req.events);
        // Only the validated items are kept: unknown top-level keys are accepted, not stored.
        const job: LogAsyncRequest = { events: items, verbose: req.verbose ?? false };
        runner.submit(requestId, LOG_ASYNC_JOB, job);
        return acceptedAnswer(parts, runner, requestId, 0);
      },
    },
    poll: (id) => {
      const job = runner.get(id);
      if (!job) return undefined;
      if (job.state === 'pending') return acceptedAnswer(parts, runner, id, runner.nextRetryCounter(id));
      runner.forgetPolls(id);
      if (job.state === 'failed') {
        const error = job.error ?? { status: 'InternalError' as const, summary: 'The job failed', result: {} };
        throw new ServiceError(error.status, error.summary, error.result);
      }
      return { result: job.result ?? {} };
    },
    close: () => runner.stop(),
  };
};
