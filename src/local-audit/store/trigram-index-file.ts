// The trigram index of the events' `string` fields (see ftsFieldIds) lives in a SQLite file of its
// own beside the audit database, so that a thread of its own (trigram-indexer-worker.ts) writes it
// while the main thread commits appends: SQLite has one writer per file, and the index cost the
// append path more than a third of its time. It is derived data: it covers the leaves below its
// `indexed_size` and is rebuilt from the events whenever it cannot be trusted to match them.
//
// The file holds an FTS5 table (contentless, case-sensitive trigrams: a phrase query finds every
// row whose column contains the phrase as a substring), with rowid = leaf index, and `meta`:
//   indexed_size  the leaves [0, indexed_size) are indexed, each once, and no other
//   last_hash     the hash (hex) of leaf indexed_size - 1: an index made for another history (a
//                 database restored from an older backup, the file of another data directory)
//                 does not match it and is rebuilt
//   columns       the table's definition: its columns and options (JSON); another one means a
//                 rebuild (files from before `columnsize=0` hold the column list alone)
import Database from 'better-sqlite3';
import { dirname, join } from 'node:path';
import { restrictFileModes, type Db } from './database.js';

/** The index file of the audit database at `databasePath`. */
export function trigramIndexPath(databasePath: string): string {
  return join(dirname(databasePath), 'audit-trigrams.sqlite');
}

/**
 * Contentless (the values stay in the audit database), case-sensitive trigrams, and no per-row
 * column sizes: they serve only ranking (bm25), which the prefilter never asks for, and writing
 * them cost about a tenth of the indexer's insert time (5.7 against 6.4 µs per event, 100,000
 * events in 400-row transactions).
 */
const TABLE_OPTIONS = "content='', columnsize=0, tokenize='trigram case_sensitive 1'";

/** Where the index stands: the leaves it covers, and the hash of the last of them. */
export interface IndexedPrefix {
  size: number;
  lastHash: string | null;
}

/**
 * Opens the index file for writing, creating it (0600, like the audit database: it holds field
 * values) and its tables when missing. `columns` are the FTS columns (fieldColumn of
 * ftsFieldIds), in order; a file indexed over other columns is emptied.
 */
export function openTrigramIndex(path: string, columns: readonly string[]): Db {
  restrictFileModes(path);
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    // Losing the last commits to an OS crash costs only their indexing again (indexed_size is in
    // the same transactions); WAL keeps the file itself consistent.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const stored = db.prepare(`SELECT value FROM meta WHERE key = 'columns'`).pluck().get() as string | undefined;
    const wanted = JSON.stringify({ columns, options: TABLE_OPTIONS });
    if (stored !== wanted) {
      db.transaction(() => {
        db.exec('DROP TABLE IF EXISTS events_fts');
        if (columns.length > 0) {
          db.exec(`CREATE VIRTUAL TABLE events_fts USING fts5(${columns.map((c) => `"${c}"`).join(', ')}, ${TABLE_OPTIONS})`);
        }
        db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('columns', ?)`).run(wanted);
        setIndexedPrefix(db, { size: 0, lastHash: null });
      }).immediate();
    }
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** The statement indexedPrefix reads with, prepared once per connection (searches read it each time). */
const prefixStatements = new WeakMap<Db, Database.Statement<[], [string, string]>>();

export function indexedPrefix(db: Db): IndexedPrefix {
  let statement = prefixStatements.get(db);
  if (!statement) {
    statement = db.prepare<[], [string, string]>(`SELECT key, value FROM meta WHERE key IN ('indexed_size', 'last_hash')`).raw();
    prefixStatements.set(db, statement);
  }
  const rows = statement.all();
  const values = new Map(rows);
  const size = Number(values.get('indexed_size') ?? 0);
  return { size: Number.isSafeInteger(size) && size >= 0 ? size : 0, lastHash: values.get('last_hash') ?? null };
}

export function setIndexedPrefix(db: Db, prefix: IndexedPrefix): void {
  const put = db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`);
  put.run('indexed_size', String(prefix.size));
  if (prefix.lastHash === null) db.prepare(`DELETE FROM meta WHERE key = 'last_hash'`).run();
  else put.run('last_hash', prefix.lastHash);
}

/**
 * Whether the index was built from the events the audit database holds: the leaf it ends with
 * has the hash it recorded (`hashAt`: the hash, lowercase hex, of a leaf of the database, or
 * undefined past its end).
 */
export function indexMatchesEvents(prefix: IndexedPrefix, hashAt: (leaf: number) => string | undefined): boolean {
  if (prefix.size === 0) return true;
  return prefix.lastHash !== null && hashAt(prefix.size - 1) === prefix.lastHash;
}

/** Empties the index (in the caller's transaction): it covers no leaf. */
export function clearTrigramIndex(db: Db): void {
  if (db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'events_fts'`).get()) {
    // A contentless table is emptied with its 'delete-all' command.
    db.prepare(`INSERT INTO events_fts (events_fts) VALUES ('delete-all')`).run();
  }
  setIndexedPrefix(db, { size: 0, lastHash: null });
}

/**
 * Empties the index when it was not built from the events of `events` (the audit database); says
 * whether it did. The service runs this before any search can read the index: from then on the
 * indexer only adds the rows it reads from those events, checking the same on every batch, so
 * searches may trust every leaf below indexed_size.
 */
export function forgetForeignIndex(index: Db, events: Db): boolean {
  const hashAt = events.prepare<[number], string>('SELECT lower(hex(hash)) FROM events WHERE leaf_index = ?').pluck();
  return index
    .transaction(() => {
      if (indexMatchesEvents(indexedPrefix(index), (leaf) => hashAt.get(leaf))) return false;
      clearTrigramIndex(index);
      return true;
    })
    .immediate();
}

