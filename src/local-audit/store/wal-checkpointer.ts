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
// A worker that fails (a checkpoint refused for another reason than a lock: a full disk, an I/O
// error; a thread that cannot start) is reported and started again after a delay that doubles
// from RESTART_MS up to MAX_RESTART_MS, until stop(): what failed it may pass (the disk gets room),
// and until then the writer's own checkpoint stands in.
// A commit is acknowledged once it is in the WAL, with or without the worker; a checkpoint syncs
// the WAL before it copies it, so the worker's also bound what an OS crash or power loss can take
// of what was acknowledged (database.ts). The worker is plain JavaScript (eval): it needs only the
// driver, so it runs the same from source (tsx, Jest) and compiled.
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
/** The first delay before a failed worker is started again… */
const RESTART_MS = 1000;
/** …doubling up to this; a worker that ran this long before failing starts the doubling over. */
const MAX_RESTART_MS = 60_000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
// The driver's errors are no native Error: one thrown out of the thread reaches the parent as a
// plain object of its enumerable properties, the code without the message. Thrown as an Error
// with the code, it keeps both.
const plain = (err) => Object.assign(new Error(err && err.message ? err.message : String(err)), err && err.code ? { code: err.code } : {});
let db;
try {
  db = new Database(workerData.path, { fileMustExist: true });
} catch (err) {
  throw plain(err);
}
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
      try {
        db.close();
      } catch {}
      throw plain(err);
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
  private worker: Worker | undefined;
  private exited: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private restartMs = RESTART_MS;
  private stopped = false;
  /** What the worker's last checkpoint found (for tests and diagnostics). */
  last: CheckpointProgress | undefined;
  /** How many workers have been started (for tests and diagnostics). */
  starts = 0;

  constructor(
    private readonly db: Db,
    private readonly onError: (err: unknown) => void,
  ) {
    this.start();
  }

  /** The pages the writer's own automatic checkpoint waits for now. */
  get writerAutocheckpoint(): number {
    return this.db.pragma('wal_autocheckpoint', { simple: true }) as number;
  }

  /** Ends the worker, or the wait to start one again (before the database closes: closing checkpoints what is left). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    // Held until it has exited: else a process with nothing else left would end here, exit code 0.
    this.worker?.ref();
    this.worker?.postMessage('stop');
    await this.exited;
  }

  private start(): void {
    if (this.stopped || !this.db.open) return;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: this.db.name, driver: DRIVER, pollMs: POLL_MS, idlePollMs: IDLE_POLL_MS }, resourceLimits: HELPER_THREAD_LIMITS });
    const startedAt = performance.now();
    this.worker = worker;
    this.starts++;
    // Checkpoints alone never keep a process alive.
    worker.unref();
    let failure: Error | undefined;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (progress: CheckpointProgress) => (this.last = progress));
    worker.on('error', (err) => (failure = err));
    worker.on('exit', (code) => {
      this.worker = undefined;
      this.fallBack();
      if (this.stopped) return;
      if (performance.now() - startedAt >= MAX_RESTART_MS) this.restartMs = RESTART_MS;
      const delay = this.restartMs;
      this.restartMs = Math.min(delay * 2, MAX_RESTART_MS);
      const why = failure ? describe(failure) : `it exited with code ${code}`;
      this.onError(new Error(`the WAL checkpoint worker failed (${why}); the writer checkpoints until it starts again in ${delay} ms`, { cause: failure }));
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        this.start();
      }, delay);
      this.restartTimer.unref();
    });
    // The writer's own checkpoint is off while the worker runs (see the top of this file).
    this.db.pragma('wal_autocheckpoint = 0');
  }

  /** The worker is gone: the writer checkpoints as SQLite does by default. */
  private fallBack(): void {
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  }
}

function describe(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
}
