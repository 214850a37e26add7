// A search worker thread (search-pool.ts starts it): its own read-only connection to the service's
// SQLite file, on which it finds the matching leaves of one search at a time. better-sqlite3 is
// synchronous, so a search on the main thread would hold up every request, appends included;
// here it holds up only this thread, and WAL mode lets it read while the main thread commits.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { SearchReply, SearchRequest, SearchWorkerData } from './search-pool.js';
import { SearchDeadlineError, SearchMatcher } from './search-matcher.js';

const port = parentPort;
if (!port) throw new Error('search-worker.ts runs as a worker thread (SearchPool starts it)');
const data = workerData as SearchWorkerData;

const db = new Database(data.path, { readonly: true, fileMustExist: true });
db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
const index = data.indexPath === undefined ? undefined : new Database(data.indexPath, { readonly: true, fileMustExist: true });
index?.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
const matcher = new SearchMatcher(db, data.schema, {
  prefilterMinEvents: data.prefilterMinEvents,
  index,
  onError: (err) => port.postMessage({ type: 'error-report', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies SearchReply),
});

port.on('message', (request: SearchRequest) => {
  let reply: SearchReply;
  try {
    reply = { type: 'matches', id: request.id, leaves: matcher.matches(request.query, request.deadlineMs) };
  } catch (err) {
    reply =
      err instanceof SearchDeadlineError
        ? { type: 'deadline', id: request.id }
        : { type: 'failed', id: request.id, message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply);
});
