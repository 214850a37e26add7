// Durable background jobs (v2/log_async, v1/export). A job is a row in the `jobs` table, committed
// before the 202 is sent, so it survives a restart. One runner per service runs pending jobs one at
// a time, oldest first. A job's effects and its completion are written in ONE SQLite transaction:
// after a crash either both happened or neither did, so a resumed job never appends twice.
import type Database from 'better-sqlite3';
import type { AuditLog } from './audit-log.js';
import { ServiceError, type ServiceStatus } from './http/envelope.js';
import type { Db } from './store/database.js';

/** How long a finished job's result stays pollable (and its export downloadable). */
export const JOB_TTL_MS = 24 * 3600_000;

export type JobState = 'pending' | 'done' | 'failed';

export interface JobError {
  status: ServiceStatus;
  summary: string;
  result: Record<string, unknown>;
}

export interface Job {
  id: string;
  kind: string;
  state: JobState;
  request: unknown;
  createdAtMs: number;
  expiresAtMs: number;
  /** What polling returns once done. */
  result?: unknown;
  /** Data kept with a finished job that polling does not show (e.g. an export's snapshot). */
  detail?: unknown;
  error?: JobError;
}

export interface JobOutcome {
  result: unknown;
  detail?: unknown;
}

/**
 * Does a job's work. Runs synchronously inside the transaction that marks the job done, so every
 * write it makes commits (or rolls back) together with the completion. Throw a ServiceError to
 * fail the job with that envelope.
 */
export type JobHandler = (request: unknown, job: Job) => JobOutcome;

interface JobRow {
  id: string;
  kind: string;
  state: JobState;
  request: string;
  result: string | null;
  error: string | null;
  created_at_ms: number;
  expires_at_ms: number;
}

export interface JobRunnerOptions {
  ttlMs?: number;
  onError: (err: unknown) => void;
  /** Called after a job's transaction rolled back, to resync in-memory state (the tree frontier). */
  afterRollback?: () => void;
}

export class JobRunner {
  private readonly handlers = new Map<string, JobHandler>();
  /** retry_counter of each pending job's 202 answers; a client hint, so memory is enough. */
  private readonly pollCounts = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly insertStmt: Database.Statement<[string, string, string, number, number]>;
  private readonly selectStmt: Database.Statement<[string], JobRow>;
  private readonly nextStmt: Database.Statement<[], JobRow>;
  private readonly completeStmt: Database.Statement<[string, number, string]>;
  private readonly failStmt: Database.Statement<[string, number, string]>;
  private readonly purgeStmt: Database.Statement<[number]>;
  private scheduled: NodeJS.Immediate | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private paused = false;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly options: JobRunnerOptions,
  ) {
    this.ttlMs = options.ttlMs ?? JOB_TTL_MS;
    this.insertStmt = db.prepare(
      `INSERT INTO jobs (id, kind, state, request, created_at_ms, expires_at_ms) VALUES (?, ?, 'pending', ?, ?, ?)`,
    );
    this.selectStmt = db.prepare('SELECT * FROM jobs WHERE id = ?');
    // rowid breaks ties between jobs created in the same millisecond: insertion order.
    this.nextStmt = db.prepare(`SELECT * FROM jobs WHERE state = 'pending' ORDER BY created_at_ms, rowid LIMIT 1`);
    // The `state = 'pending'` guard makes completion idempotent: a job finishes at most once.
    this.completeStmt = db.prepare(`UPDATE jobs SET state = 'done', result = ?, expires_at_ms = ? WHERE id = ? AND state = 'pending'`);
    this.failStmt = db.prepare(`UPDATE jobs SET state = 'failed', error = ?, expires_at_ms = ? WHERE id = ? AND state = 'pending'`);
    // Pending jobs are never purged: each is an acknowledged promise to do the work.
    this.purgeStmt = db.prepare(`DELETE FROM jobs WHERE state != 'pending' AND expires_at_ms < ?`);
  }

  get ttlMinutes(): number {
    return Math.ceil(this.ttlMs / 60_000);
  }

  register(kind: string, handler: JobHandler): void {
    if (this.handlers.has(kind)) throw new Error(`a handler for jobs of kind "${kind}" is already registered`);
    this.handlers.set(kind, handler);
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
    if (!this.handlers.has(kind)) throw new Error(`no handler for jobs of kind "${kind}"`);
    this.insertStmt.run(id, kind, JSON.stringify(request), nowMs, nowMs + this.ttlMs);
    this.kick();
  }

  /** The job, or undefined when unknown or (finished and) expired. */
  get(id: string, nowMs = Date.now()): Job | undefined {
    const row = this.selectStmt.get(id);
    if (!row || (row.state !== 'pending' && row.expires_at_ms < nowMs)) {
      this.pollCounts.delete(id);
      return undefined;
    }
    return toJob(row);
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
    while (!this.paused && !this.stopped && this.nextStmt.get()) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.purgeTimer) clearInterval(this.purgeTimer);
    this.scheduled = this.retryTimer = this.purgeTimer = undefined;
  }

  purgeExpired(nowMs = Date.now()): number {
    try {
      return this.purgeStmt.run(nowMs).changes;
    } catch (err) {
      this.options.onError(err);
      return 0;
    }
  }

  private kick(): void {
    if (this.scheduled || this.retryTimer || this.paused || this.stopped) return;
    // setImmediate between jobs: HTTP requests are served between two jobs, never starved.
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      if (this.paused || this.stopped) return;
      let ranOne = false;
      try {
        ranOne = this.runNext();
      } catch (err) {
        // The database itself failed (even recording the failure did): try again later rather
        // than spinning on the same job.
        this.options.onError(err);
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, 1000).unref();
        return;
      }
      if (ranOne) this.kick();
    });
  }

  /** Runs the oldest pending job; false when there was none. */
  private runNext(): boolean {
    const row = this.nextStmt.get();
    if (!row) return false;
    const job = toJob(row);
    const handler = this.handlers.get(job.kind);
    const run = this.db.transaction(() => {
      if (!handler) throw new ServiceError('InternalError', `no handler is registered for jobs of kind "${job.kind}"`);
      const outcome = handler(job.request, job);
      const stored = JSON.stringify({ result: outcome.result ?? {}, detail: outcome.detail });
      if (this.completeStmt.run(stored, Date.now() + this.ttlMs, job.id).changes !== 1) {
        // Someone finished it meanwhile (cannot happen in one process; guarded anyway): undo ours.
        throw new Error(`job ${job.id} was no longer pending`);
      }
    });
    try {
      run.immediate();
    } catch (err) {
      this.options.afterRollback?.();
      const error: JobError =
        err instanceof ServiceError
          ? { status: err.status, summary: err.summary, result: err.result ?? {} }
          : { status: 'InternalError', summary: 'The job failed with an internal error; see the service log', result: {} };
      if (!(err instanceof ServiceError) || err.status === 'InternalError') this.options.onError(err);
      this.failStmt.run(JSON.stringify(error), Date.now() + this.ttlMs, job.id);
    }
    return true;
  }
}

function toJob(row: JobRow): Job {
  const job: Job = {
    id: row.id,
    kind: row.kind,
    state: row.state,
    request: JSON.parse(row.request) as unknown,
    createdAtMs: row.created_at_ms,
    expiresAtMs: row.expires_at_ms,
  };
  if (row.result !== null) {
    const stored = JSON.parse(row.result) as { result: unknown; detail?: unknown };
    job.result = stored.result;
    if (stored.detail !== undefined) job.detail = stored.detail;
  }
  if (row.error !== null) job.error = JSON.parse(row.error) as JobError;
  return job;
}

// One runner per service instance, shared by the route modules that submit or read jobs. Keyed by
// the instance's AuditLog, which is also how tests reach it (`jobRunnerOf(service.log)`).
const runners = new WeakMap<AuditLog, JobRunner>();

/** The service's runner, created on first use; it starts on the next turn of the event loop. */
export function sharedJobRunner(log: AuditLog, onError: (err: unknown) => void): JobRunner {
  let runner = runners.get(log);
  if (!runner) {
    const created = new JobRunner(log.db, { onError, afterRollback: () => log.events.tree.reload() });
    runners.set(log, created);
    // Route modules register their handlers synchronously while the service is assembled; by the
    // next turn they all have, so jobs left pending by a previous run can resume.
    setImmediate(() => created.start());
    runner = created;
  }
  return runner;
}

/** The runner of a running service, if any module created one (tests pause/resume it). */
export function jobRunnerOf(log: AuditLog): JobRunner | undefined {
  return runners.get(log);
}
