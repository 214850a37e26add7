// Waiting out a 202: poll GET /request/<id> with bounded exponential backoff until the real result
// arrives or the deadline passes. The deadline bounds the whole wait: sleeps are cut to fit it and
// a poll still in flight when it passes is abandoned.
import { AcceptedTimeoutError, AuditClientError } from './errors.js';
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
  random?: () => number;
}

/** The delay before poll n (0-based): initial * 2^n, capped, with up to 25% taken off at random. */
export function pollDelay(n: number, policy: PollingPolicy, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** n);
  return Math.round(nominal * (1 - random() * 0.25));
}

/**
 * Polls until done. `pollOnce` performs one GET /request/<id> under the given signal (which aborts
 * at the deadline or when the caller aborts). Caller aborts propagate as they are; a deadline hit
 * becomes AcceptedTimeoutError.
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
  let current = accepted;
  const timeout = (): AcceptedTimeoutError =>
    new AcceptedTimeoutError({ requestId: current.requestId, location: current.location, deadlineMs: options.deadlineMs, polls, endpoint: options.endpoint });

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
        current = outcome;
      } catch (err) {
        if (signal?.aborted) throw err instanceof AuditClientError ? err : options.aborted(signal.reason);
        if (deadlinePassed) throw timeout();
        throw err;
      }
      if (final) throw timeout();
    }
  } finally {
    clearTimeout(deadlineTimer);
    link.unlink();
  }
}
