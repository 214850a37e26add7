// PRAGMA quick_check of the audit database, in a worker thread on a read-only connection of its
// own. It reads every page of the file (about a second per 250 MiB), which on a start would
// block the service that long; in a worker the service listens at once and is not ready until
// the check has passed (http/readiness.ts). quick_check checks the b-trees' structure, not that
// the indexes agree with their tables. The worker is plain JavaScript (eval): it needs only the
// driver, so it runs the same from source (tsx, Jest) and compiled.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { HELPER_THREAD_LIMITS } from './module-worker.js';

export type IntegrityOutcome = { ok: true } | { ok: false; reason: string };

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db;
try {
  db = new Database(workerData.path, { readonly: true, fileMustExist: true });
  // A row may hold several lines ("*** in database main ***", then a finding): one line each.
  const lines = db.pragma('quick_check(5)').flatMap((row) => String(row.quick_check).split('\\n')).filter((line) => line !== '' && !line.startsWith('***'));
  parentPort.postMessage({ lines });
} catch (err) {
  parentPort.postMessage({ error: err && err.message ? err.message : String(err) });
} finally {
  if (db) db.close();
}
`;

/** A running check: its outcome, and `stop()` to end it early (the service closing). */
export interface IntegrityCheck {
  outcome: Promise<IntegrityOutcome>;
  stop(): Promise<void>;
}

export function startIntegrityCheck(path: string): IntegrityCheck {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver: DRIVER }, resourceLimits: HELPER_THREAD_LIMITS });
  // The check alone never keeps a process alive: a service that failed to start can exit.
  worker.unref();
  const outcome = new Promise<IntegrityOutcome>((resolve) => {
    let settled = false;
    const settle = (result: IntegrityOutcome): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    worker.once('message', (message: { lines?: string[]; error?: string }) => {
      if (message.error !== undefined) settle({ ok: false, reason: `the audit database ${path} cannot be read (${message.error}); restore it from a backup or move it away` });
      else if (message.lines!.length === 1 && message.lines![0] === 'ok') settle({ ok: true });
      else settle({ ok: false, reason: `the audit database ${path} is damaged (PRAGMA quick_check: ${message.lines!.join('; ')}); restore it from a backup or move it away` });
    });
    worker.once('error', (err) => settle({ ok: false, reason: `the integrity check of ${path} could not run: ${err.message}` }));
    worker.once('exit', () => settle({ ok: false, reason: `the integrity check of ${path} stopped before it finished` }));
  });
  return {
    outcome,
    stop: async () => {
      await worker.terminate();
    },
  };
}
