// When to try a call again, and how long to wait first.
//
// Reads (search, results, root, pollResult, schema, download_results, file downloads) are
// idempotent: they retry on connection trouble, 5xx and 429.
// Writes (log, logBulk, logBulkAsync, logStream, export) must never be silently duplicated: an
// event logged twice is two events in a tamper-evident log, forever. So a write is retried only
// when the failure proves the request never reached the server — the connection was refused
// (ECONNREFUSED at connect), a connect timeout or a DNS failure before any socket existed. A reset,
// a timeout after connecting or a 503 may come after the server stored the events: those surface
// to the caller, who knows whether repeating is acceptable.
import { AuditClientError, AuditTransportError, RateLimitedError, TimeoutError } from './errors.js';

export interface RetryPolicy {
  /** Extra attempts after the first (0 disables retries). */
  retries: number;
  /** Backoff before retry n (0-based) is about baseDelayMs * 2^n, jittered. */
  baseDelayMs: number;
  /** Cap on one backoff; also the longest Retry-After the client will wait out by itself. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 2, baseDelayMs: 100, maxDelayMs: 2_000 };

export type CallKind = 'read' | 'write';

/**
 * "Equal jitter": half the exponential delay fixed, half random. Concurrent callers spread out,
 * while each still waits at least half the nominal delay.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(nominal / 2 + (random() * nominal) / 2);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP-date. Undefined when absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Is this failure one that may be retried for a call of this kind? */
export function isRetryable(err: unknown, kind: CallKind): boolean {
  if (!(err instanceof AuditClientError) || !err.transient) return false;
  // A whole answer that took the total deadline already cost the longest wait the caller accepts:
  // trying again would multiply it. Transient still: a later request may be quicker.
  if (err instanceof TimeoutError && err.phase === 'total') return false;
  if (kind === 'read') return true;
  // Writes: only when provably never sent (see the comment at the top of this file).
  return err instanceof AuditTransportError && err.neverReachedServer;
}

/**
 * Milliseconds to wait before retry `attempt` (0-based), or null to give up: not retryable, out of
 * attempts, or the server asked (Retry-After) for longer than the policy's cap — then the caller
 * gets the RateLimitedError with its retryAfterMs and decides.
 */
export function retryDelay(err: unknown, kind: CallKind, attempt: number, policy: RetryPolicy, random?: () => number): number | null {
  if (attempt >= policy.retries || !isRetryable(err, kind)) return null;
  const backoff = backoffDelay(attempt, policy, random);
  const retryAfter = err instanceof RateLimitedError ? err.retryAfterMs : undefined;
  if (retryAfter === undefined) return backoff;
  if (retryAfter > policy.maxDelayMs) return null;
  return Math.max(backoff, retryAfter);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
