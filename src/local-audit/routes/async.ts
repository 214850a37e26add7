// v2/log_async and polling (GET /request/<id>) for every kind of job.
// v2/log_async validates exactly like v2/log and rejects bad input at once; accepted events are
// recorded as a job (committed before the 202) and appended in the background. The job id is the
// 202 response's request_id, which is what the SDKs poll.
import type { AuditLog } from '../audit-log.js';
import { ServiceError } from '../core/errors.js';
import { validateBody } from '../core/validate.js';
import { appendBulk, LOG_BATCH_BODY, validateBulkItems } from '../log-items.js';
import { acceptedAnswer } from './accepted.js';
import type { RouteModuleFactory } from './module.js';

const LOG_ASYNC_JOB = 'log_async';

interface LogAsyncRequest {
  events: unknown[];
  verbose: boolean;
}

function runLogAsync(log: AuditLog, request: unknown): { result: unknown } {
  const req = request as LogAsyncRequest;
  // Checked again at run time: a job resumed after a restart meets the schema of that run.
  const items = validateBulkItems(log.schema, req.events);
  return { result: appendBulk(log, items, req.verbose) };
}

export const asyncModule: RouteModuleFactory = ({ log, jobs: runner, publicUrl }) => {
  runner.register(LOG_ASYNC_JOB, (request) => runLogAsync(log, request));

  return {
    actions: {
      'v2/log_async': ({ body, requestId }) => {
        const req = validateBody<{ events: unknown[]; verbose?: boolean }>(body, LOG_BATCH_BODY);
        const items = validateBulkItems(log.schema, req.events);
        // Only the validated items are kept: unknown top-level keys are accepted, not stored.
        const job: LogAsyncRequest = { events: items, verbose: req.verbose ?? false };
        runner.submit(requestId, LOG_ASYNC_JOB, job);
        return acceptedAnswer(publicUrl(), runner, requestId, 0);
      },
    },
    poll: (id) => {
      const job = runner.get(id);
      if (!job) return undefined;
      if (job.state === 'pending') return acceptedAnswer(publicUrl(), runner, id, runner.nextRetryCounter(id));
      runner.forgetPolls(id);
      if (job.state === 'failed') {
        const error = job.error ?? { status: 'InternalError' as const, summary: 'The job failed', result: {} };
        throw new ServiceError(error.status, error.summary, error.result);
      }
      return { result: job.result ?? {} };
    },
  };
};
