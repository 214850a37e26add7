// Waiting out a 202: poll GET /request/<id> with bounded exponential backoff until the real result
// arrives or the deadline passes. The deadline bounds the whole wait: sleeps are cut to fit it and
// a poll still in flight when it passes is abandoned.
//
// A 202 means the service took the request: a write will be applied whatever happens to the polls
// after it. So a poll's failure (rate limited, not found, a 5xx, the network) is never passed off as
// the request's own: it becomes AcceptedResultUnavailableError, which says the request was accepted
// and names it for a later poll. Only an error that can be nothing but the request's own outcome
// (see JOB_VERDICTS) is reported as itself.
import { AcceptedResultUnavailableError, AcceptedTimeoutError, AuditApiError, AuditClientError } from './errors.js';
import type { Redactor } from './redact.js';
import type { AcceptedRequest, AuditResponse } from './response.js';
import { sleep } from './retry.js';
import { linkedController } from './signals.js';

export interface PollingPolicy {
  /** Delay before the first poll; doubles after each 202 (jittered). */
  initialDelayMs: number;
  /** Cap on one delay. */
  maxDelayMs: number;
  /** Default deadline, counted from the start of the call. */
  deadlineMs: number;
}

export const DEFAULT_POLLING_POLICY: PollingPolicy = { initialDelayMs: 250, maxDelayMs: 5_000, deadlineMs: 30_000 };

/** Time kept back from the last sleep so the final poll can still complete before the deadline. */
const FINAL_POLL_RESERVE_MS = 100;

/**
 * Error statuses a poll gets only as the accepted request's own outcome (a job that failed): a GET
 * of /request/<id> has no body to be invalid, no offset and no tree of its own. Any other status
 * (NotFound, TooManyRequests, Unauthorized, a 5xx…) may be the poll's own failure and says nothing
 * certain about the request.
 */
const JOB_VERDICTS: ReadonlySet<string> = new Set(['ValidationError', 'BadOffset', 'TreeNotFound']);

interface PollLoopOptions {
  policy: PollingPolicy;
  /** Absolute time (ms since epoch) after which the wait is given up. */
  deadlineAt: number;
  /** The deadline as the caller gave it, for the error message. */
  deadlineMs: number;
  signal?: AbortSignal;
  endpoint: string;
  /** Builds the error for a caller abort that happened while sleeping. */
  aborted: (reason: unknown) => Error;
  /** Scrubs what the upstream chose (the request id, its location) before it goes into an error. */
  redactor: Redactor;
  random?: () => number;
}

/** The delay before poll n (0-based): initial * 2^n, capped, with up to 25% taken off at random. */
export function pollDelay(n: number, policy: PollingPolicy, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** n);
  return Math.round(nominal * (1 - random() * 0.25));
}

/**
 * Polls until done. `pollOnce` performs one GET /request/<id> under the given signal (which aborts
 * at the deadline or when the caller aborts), and refuses an answer about another request. Caller
 * aborts propagate as they are; a deadline hit becomes AcceptedTimeoutError; the accepted request's
 * own failure is thrown as it is; any other failure becomes AcceptedResultUnavailableError.
 */
export async function pollUntilDone<R>(
  accepted: AcceptedRequest,
  pollOnce: (signal: AbortSignal) => Promise<AuditResponse<R> | AcceptedRequest>,
  options: PollLoopOptions,
): Promise<AuditResponse<R>> {
  const { policy, deadlineAt, signal } = options;
  // One signal for the sleeps and polls: it aborts when the caller's does or at the deadline.
  const link = linkedController(signal);
  const bounded = link.controller.signal;
  let deadlinePassed = false;
  const deadlineTimer = setTimeout(() => {
    deadlinePassed = true;
    link.controller.abort(new Error('polling deadline'));
  }, Math.max(0, deadlineAt - Date.now()));
  let polls = 0;
  // Always the accepted request's: that is the id a later poll must use.
  const requestId = options.redactor.text(accepted.requestId);
  const location = options.redactor.text(accepted.location);
  const timeout = (): AcceptedTimeoutError => new AcceptedTimeoutError({ requestId, location, deadlineMs: options.deadlineMs, polls, endpoint: options.endpoint });
  const unavailable = (err: unknown): AcceptedResultUnavailableError =>
    new AcceptedResultUnavailableError({
      requestId,
      location,
      endpoint: options.endpoint,
      cause: err instanceof AuditClientError ? err : options.redactor.error(err),
    });

  try {
    for (let n = 0; ; n++) {
      const remaining = deadlineAt - Date.now();
      if (remaining <= 0) throw timeout();
      const wanted = pollDelay(n, policy, options.random);
      // The last poll: its sleep is cut so that it starts just before the deadline.
      const final = wanted >= remaining - FINAL_POLL_RESERVE_MS;
      try {
        await sleep(final ? Math.max(0, remaining - FINAL_POLL_RESERVE_MS) : wanted, bounded);
        polls++;
        const outcome = await pollOnce(bounded);
        if (outcome.status === 'Success') return outcome;
      } catch (err) {
        if (signal?.aborted) throw err instanceof AuditClientError ? err : options.aborted(signal.reason);
        if (deadlinePassed) throw timeout();
        if (err instanceof AuditApiError && JOB_VERDICTS.has(err.status) && err.requestId === accepted.requestId) throw err;
        throw unavailable(err);
      }
      if (final) throw timeout();
    }
  } finally {
    clearTimeout(deadlineTimer);
    link.unlink();
  }
}
