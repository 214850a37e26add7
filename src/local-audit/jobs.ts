// Durable background jobs (v2/log_async, v1/export). A job is a row of the job store
// (store/job-store.ts), committed before the 202 is sent, so it survives a restart. One runner per
// service runs pending jobs one at a time, oldest first. A job's effects and its completion are
// written in ONE transaction: after a crash either both happened or neither did, so a resumed job
// never appends twice.
//
// An asynchronous job (an export writing its file) does its long work outside any transaction,
// yielding to the event loop so requests and appends keep flowing, then records what it made and
// its completion in one transaction. If that fails, or the work does, it discards what it made.
//
// A job whose transaction fails for a storage reason (isStorageFailure: lock not obtained, disk
// full, I/O error…) is not failed: the 202 promised the work, and the storage may recover. Its
// transaction rolled back, so it stays pending (polls keep answering 202), the error goes to
// onError (the service is then not ready), and the runner retries it after a backoff. Being the
// oldest pending job, it runs before any later one: jobs append in the order they were accepted.
// Any other error (a ServiceError such as a validation error, a bug) fails the job for good.
import { ServiceError } from './core/errors.js';
import { isStorageFailure } from './core/write-health.js';
import type { Job, JobError, JobOutcome, JobStore } from './store/job-store.js';

export type { Job, JobError, JobOutcome, JobState } from './store/job-store.js';

/** How long a finished job's result stays pollable (and its export downloadable). */
const JOB_TTL_MS = 24 * 3600_000;

/**
 * The wait before retrying after the store failed; it doubles with each failure in a row, up to
 * RETRY_MAX_MS. Short at first (a lock held for a moment), capped so a recovered store is noticed
 * within seconds, long enough that a store that stays broken is not hammered: each attempt can
 * block the event loop for the busy timeout.
 */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;

/**
 * Does a job's work. Runs synchronously inside the transaction that marks the job done, so every
 * write it makes commits (or rolls back) together with the completion. Throw a ServiceError to
 * fail the job with that envelope; a storage failure it meets leaves the job pending, retried.
 */
type JobHandler = (request: unknown, job: Job) => JobOutcome;

/** What an asynchronous job's work leaves to do once it has finished. */
export interface AsyncJobResult {
  /** Runs inside the transaction that marks the job done: its writes commit with the completion. */
  complete(): JobOutcome;
  /** Undoes the work's effects outside the database (its files) when the completion rolled back. */
  discard(): void;
}

/**
 * Does an asynchronous job's work, then says how to complete it. `signal` is aborted when the
 * service stops: the job is then left pending (it runs again at the next start). Reject with a
 * ServiceError to fail the job with that envelope, after removing what the work made.
 */
type AsyncJobHandler = (request: unknown, job: Job, signal: AbortSignal) => Promise<AsyncJobResult>;

interface JobRunnerOptions {
  ttlMs?: number;
  onError: (err: unknown) => void;
  /** Called after a job's transaction rolled back, to bring in-memory state back in line with the file. */
  afterRollback?: () => void;
}

export class JobRunner {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly asyncHandlers = new Map<string, AsyncJobHandler>();
  /** The asynchronous job being run, settled once it is recorded (done, failed or left pending). */
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** retry_counter of each pending job's 202 answers; a client hint, so memory is enough. */
  private readonly pollCounts = new Map<string, number>();
  private readonly ttlMs: number;
  private scheduled: NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The last wait before a retry; 0 once a job has been recorded since (no failure in a row). */
  private retryDelayMs = 0;
  private purgeTimer: NodeJS.Timeout | undefined;
  private paused = false;
  private stopped = false;

  constructor(
    private readonly store: JobStore,
    private readonly options: JobRunnerOptions,
  ) {
    this.ttlMs = options.ttlMs ?? JOB_TTL_MS;
  }

  get ttlMinutes(): number {
    return Math.ceil(this.ttlMs / 60_000);
  }

  register(kind: string, handler: JobHandler): void {
    if (this.handlers.has(kind) || this.asyncHandlers.has(kind)) throw new Error(`a handler for jobs of kind "${kind}" is already registered`);
    this.handlers.set(kind, handler);
  }

  registerAsync(kind: string, handler: AsyncJobHandler): void {
    if (this.handlers.has(kind) || this.asyncHandlers.has(kind)) throw new Error(`a handler for jobs of kind "${kind}" is already registered`);
    this.asyncHandlers.set(kind, handler);
  }

  /**
   * Starts running pending jobs (those left by a previous run first) and purging expired ones.
   * Call once every handler is registered.
   */
  start(): void {
    if (this.stopped) return;
    this.purgeExpired();
    this.purgeTimer ??= setInterval(() => this.purgeExpired(), 3600_000).unref();
    this.kick();
  }

  /** Records a job (committed when this returns) and queues it. */
  submit(id: string, kind: string, request: unknown, nowMs = Date.now()): void {
    if (!this.handlers.has(kind) && !this.asyncHandlers.has(kind)) throw new Error(`no handler for jobs of kind "${kind}"`);
    this.store.insert(id, kind, request, nowMs, nowMs + this.ttlMs);
    this.kick();
  }

  /** The job, or undefined when unknown or (finished and) expired. */
  get(id: string, nowMs = Date.now()): Job | undefined {
    const job = this.store.get(id);
    if (!job || (job.state !== 'pending' && job.expiresAtMs < nowMs)) {
      this.pollCounts.delete(id);
      return undefined;
    }
    return job;
  }

  /** The next retry_counter for a 202 answer about `id` (1 on the first poll). */
  nextRetryCounter(id: string): number {
    const n = (this.pollCounts.get(id) ?? 0) + 1;
    this.pollCounts.set(id, n);
    return n;
  }

  forgetPolls(id: string): void {
    this.pollCounts.delete(id);
  }

  /** Stops picking up jobs (tests use it to leave jobs pending across a restart). */
  pause(): void {
    this.paused = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
  }

  resume(): void {
    this.paused = false;
    this.kick();
  }

  /** Resolves once no job is pending (or the runner is paused or stopped). Tests use it. */
  async idle(): Promise<void> {
    while (!this.paused && !this.stopped && this.store.hasPending()) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Stops picking up jobs and aborts the asynchronous one running; await `settled()` after. */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
    if (this.scheduled) clearImmediate(this.scheduled);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.scheduled = this.retryTimer = this.purgeTimer = undefined;
  }

  /** Resolves once no asynchronous job is running (the database may then be closed). */
  async settled(): Promise<void> {
    await this.running;
  }

  purgeExpired(nowMs = Date.now()): number {
    try {
      return this.store.purgeExpired(nowMs);
    } catch (err) {
      this.options.onError(err);
      return 0;
    }
  }

  private kick(): void {
    if (this.scheduled || this.retryTimer || this.running || this.paused || this.stopped) return;
    // setImmediate between jobs: HTTP requests are served between two jobs, never starved.
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      if (this.paused || this.stopped) return;
      let ranOne: boolean;
      try {
        ranOne = this.runNext();
      } catch (err) {
        // The database itself failed (even recording the failure did): try again later rather
        // than spinning on the same job.
        this.retryLater(err);
        return;
      }
      if (ranOne) this.kick();
    });
  }

  /**
   * Reports a failure of the store and runs the oldest pending job again after the backoff. Until
   * then kick() does nothing, so no later job overtakes it.
   */
  private retryLater(err: unknown): void {
    this.options.onError(err);
    this.retryDelayMs = Math.min(this.retryDelayMs === 0 ? RETRY_FIRST_MS : this.retryDelayMs * 2, RETRY_MAX_MS);
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, this.retryDelayMs).unref();
  }

  /** Runs the oldest pending job; false when there was none. */
  private runNext(): boolean {
    const job = this.store.next();
    if (!job) return false;
    const asyncHandler = this.asyncHandlers.get(job.kind);
    if (asyncHandler) {
      this.running = this.runAsync(job, asyncHandler)
        // The store failed even while cleaning up (resyncing): nothing was recorded, so retry.
        .catch((err: unknown) => this.retryLater(err))
        .finally(() => {
          this.running = undefined;
          this.kick();
        });
      // The next job is picked up when this one has settled.
      return false;
    }
    const handler = this.handlers.get(job.kind);
    try {
      this.store.runAndComplete(job, Date.now() + this.ttlMs, () => {
        if (!handler) throw new ServiceError('InternalError', `no handler is registered for jobs of kind "${job.kind}"`);
        return handler(job.request, job);
      });
    } catch (err) {
      this.options.afterRollback?.();
      if (isStorageFailure(err)) {
        // Rolled back, so still pending: the retry reads the job again (a completion that did
        // land despite the error left it done, and it is not run twice).
        this.retryLater(err);
        return false;
      }
      this.recordFailure(job, err);
    }
    this.retryDelayMs = 0;
    return true;
  }

  private async runAsync(job: Job, handler: AsyncJobHandler): Promise<void> {
    let outcome: AsyncJobResult;
    try {
      outcome = await handler(job.request, job, this.abort.signal);
    } catch (err) {
      // Stopped half-way: the job stays pending and runs again at the next start.
      if (this.abort.signal.aborted) return;
      this.recordFailureLater(job, err);
      return;
    }
    if (this.abort.signal.aborted) {
      outcome.discard();
      return;
    }
    try {
      this.store.runAndComplete(job, Date.now() + this.ttlMs, () => outcome.complete());
    } catch (err) {
      outcome.discard();
      this.options.afterRollback?.();
      // What the work made is gone and nothing of the completion committed: the job runs again
      // from the start once the store takes writes (a new snapshot, a new file).
      if (isStorageFailure(err)) this.retryLater(err);
      else this.recordFailureLater(job, err);
      return;
    }
    this.retryDelayMs = 0;
  }

  /** Records a failure outside runNext: a database that cannot even do that is reported, then retried. */
  private recordFailureLater(job: Job, err: unknown): void {
    try {
      this.recordFailure(job, err);
    } catch (dbErr) {
      this.retryLater(dbErr);
    }
  }

  private recordFailure(job: Job, err: unknown): void {
    const error: JobError =
      err instanceof ServiceError
        ? { status: err.status, summary: err.summary, result: err.result ?? {} }
        : { status: 'InternalError', summary: 'The job failed with an internal error; see the service log', result: {} };
    if (!(err instanceof ServiceError) || err.status === 'InternalError') this.options.onError(err);
    this.store.fail(job.id, error, Date.now() + this.ttlMs);
    this.retryDelayMs = 0;
  }
}
