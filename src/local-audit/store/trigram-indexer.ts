// The service's trigram indexer: a worker thread (trigram-indexer-worker.ts) that keeps the index
// file (trigram-index-file.ts) up with the committed events. The file is created here, before any
// search worker opens it. Should the thread fail, the failure is reported and a new one starts
// after a pause that doubles, up to a minute; meanwhile searches look at the events the index does
// not cover yet one by one (search-matcher.ts), so they find the same events, only slower.
import { rmSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { isUnreadableDatabase, type Db } from './database.js';
import { forgetForeignIndex, openTrigramIndex, trigramIndexPath } from './trigram-index-file.js';
import type { TrigramIndexerData, TrigramIndexerReport } from './trigram-indexer-worker.js';
import { startModuleWorker, workerModule } from './module-worker.js';

const ENTRY = workerModule(import.meta.url, 'trigram-indexer-worker');

/**
 * How much nicer than the rest of the process the indexer runs. The index only narrows searches
 * down, and a search scans what it does not cover yet, so the indexer gives way to the main
 * thread, which commits the appends: during ingest of 1000-event batches on two cores the service
 * took 40,461–44,678 events/s with it, against 35,336–41,593 without (alternating runs), and the
 * index was still at most 4,000 events behind when the load ended. With a core to spare it runs
 * as before.
 */
const INDEXER_NICENESS = 10;

/** Events indexed per transaction of the index file. */
const BATCH_ROWS = 5000;
/**
 * How often the thread looks for new commits while there are some, and at least how often while
 * there are none. Each batch is a transaction of the index file with an FTS5 segment flushed and
 * merged: at moderate rates a look every 10 ms indexed a dozen events per batch. Every 30 ms took
 * the service's CPU per single-event log at 1,600 logs/s from 221–229 to 204–213 µs; searches
 * meanwhile scan the events not yet indexed, about 30 ms of them at most.
 */
const POLL_MS = 30;
const IDLE_POLL_MS = 200;
/** The pause before a failed thread is replaced, doubling after each failure up to a minute. */
const FIRST_RESTART_MS = 1000;
const MAX_RESTART_MS = 60_000;

/**
 * Opens the index file; one that is no database or is damaged is derived data only: it is
 * reported, removed, and made again empty (the indexer fills it from the events).
 */
function openOrReplace(path: string, columns: readonly string[], onError: (err: unknown) => void): Db {
  try {
    return openTrigramIndex(path, columns);
  } catch (err) {
    if (!isUnreadableDatabase(err)) throw err;
    onError(new Error(`the trigram index ${path} cannot be read (${(err as Error).message}); it is built again from the events`, { cause: err }));
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
    return openTrigramIndex(path, columns);
  }
}

export class TrigramIndexer {
  readonly path: string;
  private readonly held: Db;
  private worker: Worker | undefined;
  private exited: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelay = FIRST_RESTART_MS;
  private stopped = false;
  /** The leaves the index covered at the thread's last report. */
  private indexed = 0;
  private waiters: Array<{ size: number; resolve: () => void }> = [];

  private readonly databasePath: string;

  /** `db`: the service's connection to the audit database; `columns`: the FTS columns (fieldColumn of ftsFieldIds). */
  constructor(
    db: Db,
    private readonly columns: readonly string[],
    private readonly onError: (err: unknown) => void,
  ) {
    this.databasePath = db.name;
    this.path = trigramIndexPath(db.name);
    // Created (or checked against the events) here, before any search worker opens it; and kept
    // open while the service runs, so its -wal and -shm files exist whenever a read-only
    // connection opens it.
    this.held = openOrReplace(this.path, columns, onError);
    try {
      forgetForeignIndex(this.held, db);
    } catch (err) {
      this.held.close();
      throw err;
    }
    this.start();
  }

  /** Resolves once the index covers the first `size` leaves (tests and benchmarks wait with it). */
  whenIndexed(size: number): Promise<void> {
    if (this.indexed >= size) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ size, resolve }));
  }

  /** Ends the thread (before the audit database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (worker) {
      // Held until it has exited: else a process with nothing else left would end here, exit code 0.
      worker.ref();
      worker.postMessage('stop');
    }
    await this.exited;
    if (this.held.open) this.held.close();
  }

  private start(): void {
    const data: TrigramIndexerData = {
      databasePath: this.databasePath,
      indexPath: this.path,
      columns: [...this.columns],
      batchRows: BATCH_ROWS,
      pollMs: POLL_MS,
      idlePollMs: IDLE_POLL_MS,
    };
    const worker = startModuleWorker(ENTRY, data, INDEXER_NICENESS);
    this.worker = worker;
    // Indexing alone never keeps a process alive.
    worker.unref();
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (report: TrigramIndexerReport) => this.onReport(report));
    worker.on('error', (err) => this.onError(new Error(`the trigram indexer failed (searches scan the events it has not indexed): ${err.message}`, { cause: err })));
    worker.once('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      if (this.stopped) return;
      this.restartTimer = setTimeout(() => this.start(), this.restartDelay);
      this.restartTimer.unref();
      this.restartDelay = Math.min(this.restartDelay * 2, MAX_RESTART_MS);
    });
  }

  private onReport(report: TrigramIndexerReport): void {
    this.indexed = report.indexedSize;
    // A thread that works again starts the next restart pause over.
    this.restartDelay = FIRST_RESTART_MS;
    const ready = this.waiters.filter((w) => w.size <= this.indexed);
    this.waiters = this.waiters.filter((w) => w.size > this.indexed);
    for (const w of ready) w.resolve();
  }
}
