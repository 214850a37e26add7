// The matches of a search with no terms and no restriction, ordered by received_at: every event
// received in the time range. While arrival times rise with the leaves (ArrivalOrder), those are
// one run of consecutive leaves, so its two ends are two lookups on the received_at index instead
// of a scan on a search thread. Such searches are what time-range listings and Query.node send,
// and what a verifier's proof that a new root extends an old one starts with: all the events
// received since the old root's last leaf, thousands of them under a steady write rate.
import type Database from 'better-sqlite3';
import type { QueryNode } from '../query/index.js';
import type { Db } from './database.js';
import type { MatchQuery } from './search-matcher.js';

/** Is the query's syntax tree the empty query (no terms at all)? */
function isEmptyQuery(ast: QueryNode): boolean {
  return ast.type === 'and' && ast.children.length === 0;
}

export class TimeRangeLeaves {
  private readonly firstAtOrAfter: Database.Statement<[string], number | undefined>;
  private readonly lastAtOrBefore: Database.Statement<[string], number | undefined>;

  constructor(db: Db) {
    // The same comparisons the search worker's SQL makes (e.received_at >= ? / <= ?).
    this.firstAtOrAfter = db.prepare<[string], number | undefined>('SELECT leaf_index FROM events WHERE received_at >= ? ORDER BY received_at ASC, leaf_index ASC LIMIT 1').pluck();
    this.lastAtOrBefore = db.prepare<[string], number | undefined>('SELECT leaf_index FROM events WHERE received_at <= ? ORDER BY received_at DESC, leaf_index DESC LIMIT 1').pluck();
  }

  /**
   * The matching leaves in result order, at most maxResults, when the search is a plain time range
   * over leaves in arrival order; undefined when it needs a search thread.
   */
  matches(q: Omit<MatchQuery, 'generation'>): number[] | undefined {
    if (!q.receivedInLeafOrder || q.orderBy !== 'received_at' || q.restriction !== undefined || !isEmptyQuery(q.ast)) return undefined;
    const from = q.start === undefined ? 0 : (this.firstAtOrAfter.get(q.start) ?? q.treeSize);
    const to = Math.min(q.treeSize, q.end === undefined ? q.treeSize : (this.lastAtOrBefore.get(q.end) ?? -1) + 1);
    const count = Math.max(0, Math.min(to - from, q.maxResults));
    return q.direction === 'asc'
      ? Array.from({ length: count }, (_, i) => from + i)
      : Array.from({ length: count }, (_, i) => to - 1 - i);
  }
}
