// The search workers' side of the trigram index (trigram-index-file.ts): the leaves whose indexed
// columns match an FTS5 expression, and where the index ends, read in one snapshot of the index
// file. Below that end every leaf is indexed, so the leaves the index names there include every
// match; the leaves from it on are not indexed yet, and the caller looks at each of them.
import type Database from 'better-sqlite3';
import type { Db } from './database.js';
import { indexedPrefix } from './trigram-index-file.js';

export interface Candidates {
  /** The leaves in [from, indexedTo) that the index names, in leaf order, at most `limit` + 1. */
  leaves: number[];
  /** min(to, where the index ends), at least `from`: the leaves from here to `to` are not indexed yet. */
  indexedTo: number;
}

export class IndexedCandidates {
  private readonly lookup: Database.Statement<[string, number, number], number>;
  private readonly inSnapshot: (match: string, from: number, to: number) => Candidates;

  constructor(index: Db, limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`the candidate limit must be a non-negative integer, not ${limit}`);
    this.lookup = index.prepare<[string, number, number], number>(`SELECT rowid FROM events_fts WHERE events_fts MATCH ? AND rowid >= ? AND rowid < ? ORDER BY rowid LIMIT ${limit + 1}`).pluck();
    // indexed_size and the lookup in one read transaction: the indexer commits both together, and
    // a rebuild empties the table and resets the size together.
    this.inSnapshot = index.transaction((match: string, from: number, to: number) => {
      const indexedTo = Math.max(from, Math.min(to, indexedPrefix(index).size));
      const leaves = indexedTo > from ? this.lookup.all(match, from, indexedTo) : [];
      return { leaves, indexedTo };
    });
  }

  /** The candidates of `match` among the leaves in [from, to); throws on an expression FTS5 refuses. */
  find(match: string, from: number, to: number): Candidates {
    return this.inSnapshot(match, from, to);
  }
}
