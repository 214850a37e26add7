// The trigram indexer thread (trigram-indexer.ts starts it): it runs a TrigramIndexWriter, looking
// for new commits in the audit database every few tens of milliseconds (PRAGMA data_version), less often
// while there are none.
import { parentPort, workerData } from 'node:worker_threads';
import { TrigramIndexWriter } from './trigram-index-writer.js';

export interface TrigramIndexerData {
  databasePath: string;
  indexPath: string;
  /** The FTS columns (fieldColumn of ftsFieldIds), in order. */
  columns: string[];
  /** Events indexed per transaction. */
  batchRows: number;
  /** How often the thread looks for new commits while there are some… */
  pollMs: number;
  /** …and at least how often while there are none (the interval doubles up to it). */
  idlePollMs: number;
}

/** Thread to main thread, on start and after each batch that changed the index: the leaves it covers. */
export interface TrigramIndexerReport {
  indexedSize: number;
}

const port = parentPort;
if (!port) throw new Error('trigram-indexer-worker.ts runs as a worker thread (TrigramIndexer starts it)');
const data = workerData as TrigramIndexerData;

const writer = new TrigramIndexWriter(data.databasePath, data.indexPath, data.columns, data.batchRows);

let seen = -1;
let delay = data.pollMs;
let timer: NodeJS.Timeout | undefined;

function look(): void {
  const version = writer.eventsVersion;
  if (version === seen) {
    delay = Math.min(delay * 2, data.idlePollMs);
  } else {
    delay = data.pollMs;
    let batch;
    try {
      batch = writer.indexBatch();
    } catch (err) {
      // Another connection held the index's write lock past the busy timeout (an operator's tool,
      // a test): try again at the next look. Anything else ends the thread, to be reported.
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
      timer = setTimeout(look, delay);
      return;
    }
    if (batch.indexed > 0 || batch.rebuilt) port!.postMessage({ indexedSize: batch.indexedSize } satisfies TrigramIndexerReport);
    // A full batch: more may be waiting. The next one runs after the messages queued meanwhile
    // (a stop among them).
    if (batch.indexed === data.batchRows) {
      timer = setTimeout(look, 0);
      return;
    }
    // Every event committed before `version` was read is indexed.
    seen = version;
  }
  timer = setTimeout(look, delay);
}

port.on('message', (message: unknown) => {
  if (message !== 'stop') return;
  clearTimeout(timer);
  writer.close();
  port.close();
});

// Where the index stands before the first batch: a waiter for leaves it already covers hears it.
port.postMessage({ indexedSize: writer.indexedSize } satisfies TrigramIndexerReport);
look();
