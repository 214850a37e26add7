// The `jobs` table: durable background jobs (jobs.ts runs them). A job's row is committed before
// its 202 is sent; a job's effects and its completion are written in ONE transaction
// (`runAndComplete`), so after a crash either both happened or neither did.
import type Database from 'better-sqlite3';
import type { ServiceStatus } from '../core/errors.js';
import type { Db } from './database.js';

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

export class JobStore {
  private readonly insertStmt: Database.Statement<[string, string, string, number, number]>;
  private readonly selectStmt: Database.Statement<[string], JobRow>;
  private readonly nextStmt: Database.Statement<[], JobRow>;
  private readonly completeStmt: Database.Statement<[string, number, string]>;
  private readonly failStmt: Database.Statement<[string, number, string]>;
  private readonly purgeStmt: Database.Statement<[number]>;
  private readonly completeTx: (job: Job, expiresAtMs: number, work: (job: Job) => JobOutcome) => void;

  constructor(db: Db) {
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
    const tx = db.transaction((job: Job, expiresAtMs: number, work: (job: Job) => JobOutcome) => {
      const outcome = work(job);
      const stored = JSON.stringify({ result: outcome.result ?? {}, detail: outcome.detail });
      if (this.completeStmt.run(stored, expiresAtMs, job.id).changes !== 1) {
        // Someone finished it meanwhile (cannot happen in one process; guarded anyway): undo ours.
        throw new Error(`job ${job.id} was no longer pending`);
      }
    });
    this.completeTx = (job, expiresAtMs, work) => tx.immediate(job, expiresAtMs, work);
  }

  /** Records a pending job (committed when this returns). */
  insert(id: string, kind: string, request: unknown, createdAtMs: number, expiresAtMs: number): void {
    this.insertStmt.run(id, kind, JSON.stringify(request), createdAtMs, expiresAtMs);
  }

  get(id: string): Job | undefined {
    const row = this.selectStmt.get(id);
    return row && toJob(row);
  }

  /** The oldest pending job. */
  next(): Job | undefined {
    const row = this.nextStmt.get();
    return row && toJob(row);
  }

  hasPending(): boolean {
    return this.nextStmt.get() !== undefined;
  }

  /**
   * Runs `work` and marks the job done with its outcome, in one IMMEDIATE transaction: every write
   * `work` makes commits with the completion, or (when it throws) rolls back with it.
   */
  runAndComplete(job: Job, expiresAtMs: number, work: (job: Job) => JobOutcome): void {
    this.completeTx(job, expiresAtMs, work);
  }

  fail(id: string, error: JobError, expiresAtMs: number): void {
    this.failStmt.run(JSON.stringify(error), expiresAtMs, id);
  }

  purgeExpired(nowMs: number): number {
    return this.purgeStmt.run(nowMs).changes;
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
