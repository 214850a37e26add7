// WAL checkpoints in a worker thread. SQLite's automatic checkpoint runs in the connection that
// commits, right after the commit: on the service's one writing connection that is the main
// thread, which then copies every page the last few commits wrote back into the database file and
// fsyncs it while no request is served (about 4 µs per ingested event; in bursts of ten
// milliseconds and more). Here a connection of the worker's own does it: it looks every
// POLL_MS whether another connection has committed (PRAGMA data_version; less often while nothing
// is) and then runs a PASSIVE checkpoint, which never blocks the writer or the readers.
//
// The main connection's own automatic checkpoint is off while the worker runs. As a bound on the
// WAL it would bound nothing the worker does not: what keeps a WAL long is readers holding old
// snapshots (searches scanning for seconds), and no checkpoint, the worker's or the writer's, may
// copy past them. What the writer's would add is the copy and its fsync inside whichever commit
// comes first once they end: on a 1,000,000-event database, one v1/log at a time while four of the
// worst allowed searches ran, the slowest of ~16,000 logs took 434-793 ms in 5 of 7 runs with it at
// 4000 pages (a CPU profile: 459 ms inside one commit), against 14-17 ms in 3 of 3 runs without. If the worker stops or fails, the writer goes back to SQLite's default.
// Durability is the same either way: a commit is acknowledged once it is in the WAL. The worker is
// plain JavaScript (eval): it needs only the driver, so it runs the same from source (tsx, Jest)
// and compiled.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { HELPER_THREAD_LIMITS } from './module-worker.js';
import type { Db } from './database.js';

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

/**
 * How often the worker looks for new commits while there are some… Every commit writes the same
 * hot pages again (the right edges of the indexes, the top tree nodes), and a checkpoint copies
 * each page once however often it was written since the last: looking every 100 ms instead of 20
 * took the service's CPU per single-event log at 1,600 logs/s from 221–229 to 195–204 µs.
 */
const POLL_MS = 100;
/** …and at least how often while there are none (the interval doubles up to it). */
const IDLE_POLL_MS = 1000;
/** SQLite's default automatic checkpoint, in pages: what the writer goes back to without the worker. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
// A checkpoint that finds the checkpoint lock taken (another connection checkpointing) waits for nothing.
db.pragma('busy_timeout = 0');
const dataVersion = db.prepare('PRAGMA data_version').pluck();
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)').raw();
let seen = -1;
let delay = workerData.pollMs;
let timer;
const look = () => {
  try {
    const version = dataVersion.get();
    if (version === seen) {
      // Nothing committed: look less often, down to once a second, until something is.
      delay = Math.min(delay * 2, workerData.idlePollMs);
    } else {
      delay = workerData.pollMs;
      const [busy, walFrames, checkpointed] = checkpoint.get();
      // Done once every frame is back in the file; else (readers still on older frames) next time.
      if (busy === 0 && checkpointed === walFrames) seen = version;
      parentPort.postMessage({ walFrames, checkpointed });
    }
  } catch (err) {
    if (!err || err.code !== 'SQLITE_BUSY') {
      db.close();
      throw err;
    }
  }
  timer = setTimeout(look, delay);
};
timer = setTimeout(look, delay);
parentPort.on('message', (message) => {
  if (message === 'stop') {
    clearTimeout(timer);
    db.close();
    parentPort.close();
  }
});
`;

export interface CheckpointProgress {
  /** Frames in the WAL when the worker last checkpointed, and how many of them are in the file. */
  walFrames: number;
  checkpointed: number;
}

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  /** What the worker's last checkpoint found (for tests and diagnostics). */
  last: CheckpointProgress | undefined;

  constructor(
    private readonly db: Db,
    private readonly onError: (err: unknown) => void,
  ) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: db.name, driver: DRIVER, pollMs: POLL_MS, idlePollMs: IDLE_POLL_MS }, resourceLimits: HELPER_THREAD_LIMITS });
    // Checkpoints alone never keep a process alive.
    this.worker.unref();
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (progress: CheckpointProgress) => (this.last = progress));
    this.worker.on('error', (err) => {
      this.fallBack();
      this.onError(new Error(`the WAL checkpoint worker failed; the writer checkpoints again: ${err.message}`, { cause: err }));
    });
    this.worker.on('exit', () => this.fallBack());
    // The writer's own checkpoint is off while the worker runs (see the top of this file).
    db.pragma('wal_autocheckpoint = 0');
  }

  /** The pages the writer's own automatic checkpoint waits for now. */
  get writerAutocheckpoint(): number {
    return this.db.pragma('wal_autocheckpoint', { simple: true }) as number;
  }

  /** Ends the worker (before the database closes: closing checkpoints what is left). */
  async stop(): Promise<void> {
    // Held until it has exited: else a process with nothing else left would end here, exit code 0.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }

  /** The worker is gone: the writer checkpoints as SQLite does by default. */
  private fallBack(): void {
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  }
}
