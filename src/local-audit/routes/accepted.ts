// The 202 answer of a job that is still running, shared by the endpoints that submit jobs
// (v2/log_async, v1/export) and by polling (GET /request/<id>).
import type { ActionResult } from '../http/router.js';
import type { JobRunner } from '../jobs.js';

const ACCEPTED_SUMMARY = 'Your request is in progress; poll the location in result until it succeeds';

/** The 202 answer for job `id`: {ttl_mins, retry_counter, location}. */
export function acceptedAnswer(publicUrl: string, runner: JobRunner, id: string, retryCounter: number): ActionResult {
  return {
    status: 'Accepted',
    summary: ACCEPTED_SUMMARY,
    result: { ttl_mins: runner.ttlMinutes, retry_counter: retryCounter, location: `${publicUrl}/request/${id}` },
  };
}
