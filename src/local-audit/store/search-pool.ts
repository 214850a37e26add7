// The search workers of one service: a few worker threads (search-worker.ts), each with its own
// read-only connection, that find the matching leaves of searches off the main thread, which
// commits the appends. Searches wait in a bounded queue for a free worker. Each runs under a
// deadline, checked by the worker as it scans; should the worker not answer by a little after it
// (a statement that never reaches a check), it is terminated and replaced. A worker that fails is
// replaced too, and the search it was running fails with an InternalError.
import type { Worker } from 'node:worker_threads';
import type { AuditSchema } from '../audit-schema.js';
import { ServiceError } from '../core/errors.js';
import type { MatchQuery } from './search-matcher.js';
import { startModuleWorker, workerModule } from './module-worker.js';

/** What every worker is started with. */
export interface SearchWorkerData {
  path: string;
  /** The trigram index file (trigram-index-file.ts), when the schema has indexed fields. */
  indexPath?: string;
  schema: AuditSchema;
  prefilterMinEvents: number;
  busyTimeoutMs: number;
}

/** Main thread to worker: one search. */
export interface SearchRequest {
  id: number;
  query: MatchQuery;
  deadlineMs: number;
}

/** Worker to main thread. */
export type SearchReply =
  | { type: 'matches'; id: number; leaves: readonly number[] }
  | { type: 'deadline'; id: number }
  | { type: 'failed'; id: number; message: string }
  /** Something the worker got past but the service's onError should hear of. */
  | { type: 'error-report'; message: string };

export interface SearchPoolOptions {
  /** The SQLite file of the service. */
  path: string;
  /** The trigram index file, when the schema has indexed fields. */
  indexPath?: string;
  schema: AuditSchema;
  prefilterMinEvents: number;
  /** Worker threads, started on the first searches that need them. */
  workers: number;
  /** Searches that may wait for a worker; one more is refused with TooManyRequests. */
  maxQueued: number;
  /** How long one search may run in its worker before it ends with "search too expensive". */
  deadlineMs: number;
  onError: (err: unknown) => void;
}

/**
 * How long past the deadline a worker that has not answered is given before it is terminated: a
 * statement checks the deadline only on the rows it visits, and the trigram index lookup visits
 * none.
 */
const TERMINATE_AFTER_DEADLINE_MS = 1000;

const ENTRY = workerModule(import.meta.url, 'search-worker');

/**
 * How much nicer than the rest of the process a search thread runs: searches give way to the main
 * thread, which commits the appends, when they compete for the CPU.
 */
const SEARCH_NICENESS = 10;

export function searchTooExpensive(deadlineMs: number): ServiceError {
  const detail = `search too expensive: narrow it (it ran past the ${deadlineMs} ms search deadline)`;
  return new ServiceError('ValidationError', 'search too expensive: narrow it', { errors: [{ code: 'SearchTooExpensive', detail, source: '/query' }] });
}

interface Job {
  query: MatchQuery;
  resolve: (leaves: readonly number[]) => void;
  reject: (err: unknown) => void;
}

interface Slot {
  worker: Worker;
  running?: { id: number; job: Job; timer: NodeJS.Timeout };
}

export class SearchPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: SearchPoolOptions) {
    if (!(Number.isSafeInteger(options.workers) && options.workers >= 1)) throw new Error(`search workers must be a positive integer, not ${options.workers}`);
    if (!(Number.isSafeInteger(options.deadlineMs) && options.deadlineMs >= 1)) throw new Error(`the search deadline must be a positive integer (ms), not ${options.deadlineMs}`);
  }

  /** The matching leaf indexes of `query`, found by a worker. */
  run(query: MatchQuery): Promise<readonly number[]> {
    if (this.closed) return Promise.reject(new ServiceError('ServiceNotAvailable', 'the service is shutting down'));
    if (this.queue.length >= this.options.maxQueued) {
      return Promise.reject(new ServiceError('TooManyRequests', `too many searches are waiting (${this.options.maxQueued}); retry later`));
    }
    return new Promise<readonly number[]>((resolve, reject) => {
      this.queue.push({ query, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Starts every worker now rather than with the first searches, which would otherwise wait for
   * their threads to start: each loads its modules and opens its connections, close to a second
   * from source on a small machine, and a burst of searches queues behind it. Returns how many
   * it started (none when all are running).
   */
  warm(): number {
    const before = this.slots.length;
    while (!this.closed && this.slots.length < this.options.workers) this.spawn();
    return this.slots.length - before;
  }

  /** Worker threads running now (started by warm() or by searches, not yet retired). */
  get workers(): number {
    return this.slots.length;
  }

  /** Terminates every worker; queued searches fail, running ones end with the workers. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new ServiceError('ServiceNotAvailable', 'the service is shutting down'));
    const slots = this.slots.splice(0);
    for (const slot of slots) this.settle(slot, new ServiceError('ServiceNotAvailable', 'the service is shutting down'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const free = this.slots.find((s) => !s.running);
      if (!free && this.slots.length >= this.options.workers) return;
      const slot = free ?? this.spawn();
      const job = this.queue.shift()!;
      const id = this.nextId++;
      const timer = setTimeout(() => this.retire(slot, searchTooExpensive(this.options.deadlineMs)), this.options.deadlineMs + TERMINATE_AFTER_DEADLINE_MS);
      slot.running = { id, job, timer };
      slot.worker.postMessage({ id, query: job.query, deadlineMs: this.options.deadlineMs } satisfies SearchRequest);
    }
  }

  private spawn(): Slot {
    const { path, indexPath, schema, prefilterMinEvents } = this.options;
    const worker = startModuleWorker(ENTRY, { path, indexPath, schema, prefilterMinEvents, busyTimeoutMs: 5000 } satisfies SearchWorkerData, SEARCH_NICENESS);
    const slot: Slot = { worker };
    worker.on('message', (reply: SearchReply) => this.onReply(slot, reply));
    worker.on('error', (err) => {
      this.options.onError(err);
      this.retire(slot, new ServiceError('InternalError', 'the search failed: its worker thread stopped; it was replaced, retry the search'));
    });
    worker.on('exit', (code) => this.retire(slot, new ServiceError('InternalError', `the search failed: its worker thread exited (code ${code}); it was replaced, retry the search`)));
    this.slots.push(slot);
    return slot;
  }

  private onReply(slot: Slot, reply: SearchReply): void {
    if (reply.type === 'error-report') {
      this.options.onError(new Error(`search worker: ${reply.message}`));
      return;
    }
    const running = slot.running;
    // A reply for a search that already ended (its backstop fired) has no one waiting.
    if (!running || running.id !== reply.id) return;
    clearTimeout(running.timer);
    slot.running = undefined;
    if (reply.type === 'matches') running.job.resolve(reply.leaves);
    else if (reply.type === 'deadline') running.job.reject(searchTooExpensive(this.options.deadlineMs));
    else running.job.reject(new Error(`search worker: ${reply.message}`));
    this.dispatch();
  }

  /** Fails the slot's running search with `err`. */
  private settle(slot: Slot, err: unknown): void {
    const running = slot.running;
    if (!running) return;
    clearTimeout(running.timer);
    slot.running = undefined;
    running.job.reject(err);
  }

  /** Takes a worker out of the pool (stuck, failed or gone), fails its search, and lets a new one start. */
  private retire(slot: Slot, err: unknown): void {
    const at = this.slots.indexOf(slot);
    if (at < 0) return;
    this.slots.splice(at, 1);
    this.settle(slot, err);
    // A worker in the middle of a statement stops when the statement returns to JavaScript.
    slot.worker.terminate().catch((e: unknown) => this.options.onError(e));
    this.dispatch();
  }
}
