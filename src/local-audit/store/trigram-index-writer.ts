// Brings the trigram index file (trigram-index-file.ts) up to the events committed in the audit
// database, a batch per transaction, on connections of its own: the indexer thread
// (trigram-indexer-worker.ts) runs it, so the main thread's appends never wait for it.
import Database from 'better-sqlite3';
import type { Db } from './database.js';
import { clearTrigramIndex, indexedPrefix, indexMatchesEvents, openTrigramIndex, setIndexedPrefix, type IndexedPrefix } from './trigram-index-file.js';

/** How long a batch waits for another writer of the index file before it fails with SQLITE_BUSY. */
const INDEX_BUSY_TIMEOUT_MS = 100;

/** What one batch did. */
export interface IndexedBatch {
  /** Events indexed by it. */
  indexed: number;
  /** The leaves the index covers after it. */
  indexedSize: number;
  /** The index did not match the events' history and was emptied to be built again. */
  rebuilt: boolean;
}

/** The events after the indexed ones (leaf index, then the columns), and the last one's hash. */
interface EventsAfter {
  matches: boolean;
  rows: unknown[][];
  lastHash: string | null;
}

export class TrigramIndexWriter {
  private readonly index: Db;
  private readonly events: Db;
  private readonly rowsFrom: Database.Statement<[number, number], unknown[]>;
  private readonly hashAt: Database.Statement<[number], string>;
  private readonly dataVersion: Database.Statement<[], number>;
  private readonly insert: Database.Statement<unknown[]>;
  private readonly readAfter: (prefix: IndexedPrefix) => EventsAfter;
  private readonly inTransaction: Database.Transaction<() => IndexedBatch>;

  /** `columns`: the FTS columns (fieldColumn of ftsFieldIds), in order; `batchRows`: events per transaction. */
  constructor(
    databasePath: string,
    indexPath: string,
    columns: readonly string[],
    private readonly batchRows: number,
  ) {
    this.index = openTrigramIndex(indexPath, columns);
    // Another writer of the index (an operator's tool, a test) is waited for briefly only: the
    // caller tries the batch again later, and meanwhile stays free to stop.
    this.index.pragma(`busy_timeout = ${INDEX_BUSY_TIMEOUT_MS}`);
    try {
      this.events = new Database(databasePath, { readonly: true, fileMustExist: true });
    } catch (err) {
      this.index.close();
      throw err;
    }
    this.events.pragma('busy_timeout = 5000');
    const columnList = columns.map((c) => `"${c}"`).join(', ');
    this.rowsFrom = this.events.prepare<[number, number], unknown[]>(`SELECT leaf_index, ${columnList} FROM events WHERE leaf_index >= ? ORDER BY leaf_index LIMIT ?`).raw();
    this.hashAt = this.events.prepare<[number], string>('SELECT lower(hex(hash)) FROM events WHERE leaf_index = ?').pluck();
    this.dataVersion = this.events.prepare<[], number>('PRAGMA data_version').pluck();
    this.insert = this.index.prepare(`INSERT INTO events_fts (rowid, ${columnList}) VALUES (?, ${columns.map(() => '?').join(', ')})`);
    // The events after the indexed ones, up to a batch, and the hash of the last of them, in one
    // snapshot of the audit database. Leaves are consecutive; a gap would be a damaged file, and
    // the index never skips a leaf: the rows end before it. Only the last hash is needed, so only
    // it is read.
    this.readAfter = this.events.transaction((prefix: IndexedPrefix): EventsAfter => {
      if (!indexMatchesEvents(prefix, (leaf) => this.hashAt.get(leaf))) return { matches: false, rows: [], lastHash: null };
      const rows = this.rowsFrom.all(prefix.size, this.batchRows);
      let consecutive = 0;
      while (consecutive < rows.length && rows[consecutive]![0] === prefix.size + consecutive) consecutive++;
      if (consecutive < rows.length) rows.length = consecutive;
      const lastHash = consecutive === 0 ? prefix.lastHash : (this.hashAt.get(prefix.size + consecutive - 1) ?? null);
      return { matches: true, rows, lastHash };
    });
    this.inTransaction = this.index.transaction(() => this.batch());
  }

  /** Changes whenever another connection commits to the audit database (PRAGMA data_version). */
  get eventsVersion(): number {
    return this.dataVersion.get()!;
  }

  /** The leaves the index covers now. */
  get indexedSize(): number {
    return indexedPrefix(this.index).size;
  }

  /**
   * Indexes the next batch in one transaction of the index file (SQLITE_BUSY when another
   * connection holds its write lock for long; nothing is written then). The index's write lock is taken
   * before the events are read: whoever rewrites an indexed event in place and then its index row,
   * in that order (test/support/tamper.ts), is never undone by a batch read before the rewrite and
   * committed after it.
   */
  indexBatch(): IndexedBatch {
    return this.inTransaction.immediate();
  }

  /** Indexes every event committed so far; returns how many. */
  catchUp(): number {
    let total = 0;
    for (;;) {
      const { indexed } = this.indexBatch();
      total += indexed;
      if (indexed < this.batchRows) return total;
    }
  }

  close(): void {
    this.events.close();
    this.index.close();
  }

  private batch(): IndexedBatch {
    let prefix = indexedPrefix(this.index);
    let read = this.readAfter(prefix);
    let rebuilt = false;
    if (!read.matches) {
      clearTrigramIndex(this.index);
      prefix = { size: 0, lastHash: null };
      read = this.readAfter(prefix);
      rebuilt = true;
    }
    for (const row of read.rows) this.insert.run(...row);
    const next = prefix.size + read.rows.length;
    if (next !== prefix.size || rebuilt) setIndexedPrefix(this.index, { size: next, lastHash: read.lastHash });
    return { indexed: next - prefix.size, indexedSize: next, rebuilt };
  }

}
