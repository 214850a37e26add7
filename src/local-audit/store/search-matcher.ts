// The SQL of v1/search: the leaf indexes of the events that match a compiled query, in result
// order, narrowed by the trigram index when that pays. It runs in a search worker
// (search-worker.ts) on a read-only connection of its own; the route builds the conditions with
// the query compiler (query/) against `searchFields`, this module adds the bounds, the order, the
// limit and the deadline.
import type { AuditSchema } from '../audit-schema.js';
import type { FieldResolver, QueryNode } from '../query/index.js';
import type { SqlFragment } from './query-sql.js';
import { fieldColumn, ftsFieldIds, type Db } from './database.js';
import { FtsPrefilter } from './fts-prefilter.js';
import { IndexedCandidates, type Candidates } from './indexed-candidates.js';
import { MatchCache } from './match-cache.js';
import { TrigramSample } from './trigram-sample.js';
import { searchFields } from './search-fields.js';
import { StatementCache } from './statement-cache.js';

/**
 * The trigram index narrows a search to its candidates only when there are at most this many;
 * beyond that, walking the events in result order (and stopping at max_results) is cheaper.
 */
const PREFILTER_MAX_CANDIDATES = 10_000;

/**
 * The deadline is checked on every event whose leaf index is a multiple of this (a power of two):
 * rarely enough that the check costs nothing next to the scan, often enough to stop within a few
 * milliseconds even when every event costs the most tests a query may make.
 */
const DEADLINE_CHECK_EVERY = 1024;

/**
 * The searches whose matches a worker keeps (match-cache.ts), and how many leaf indexes it keeps
 * in all: a few megabytes per worker.
 */
const CACHED_SEARCHES = 128;
const CACHED_LEAVES = 500_000;

export interface SearchMatcherOptions {
  /** Below this many events a scan of the whole table is cheaper than the index lookup. */
  prefilterMinEvents: number;
  /** A connection to the trigram index file (trigram-index-file.ts); without it, searches scan. */
  index?: Db;
  onError: (err: unknown) => void;
}

export interface MatchQuery {
  /** The compiled query (columns from `searchFields`) and its syntax tree, for the trigram prefilter. */
  query: SqlFragment;
  ast: QueryNode;
  /** The compiled search_restriction and the restriction itself, for the trigram prefilter. */
  restriction?: { condition: SqlFragment; values: Record<string, unknown> };
  /** received_at bounds, normalised to the stored form. */
  start?: string;
  end?: string;
  /** received_at or a search field. */
  orderBy: string;
  direction: 'asc' | 'desc';
  /** An integer in [1, MAX_RESULTS]. */
  maxResults: number;
  /** Only leaves below this size (the snapshot's) match. */
  treeSize: number;
  /** Whether received_at rises with the leaf index over those leaves (ArrivalOrder). */
  receivedInLeafOrder: boolean;
  /**
   * The store's generation (EventStore.generation): it rises when the file may have changed other
   * than by appends, and matches found in another generation are not reused.
   */
  generation: number;
}

/** The search ran past its deadline; the worker reports it, the route answers 400. */
export class SearchDeadlineError extends Error {
  override readonly name = 'SearchDeadlineError';
}

/** JSON.stringify replacer: an integer past 2^53 (a bigint parameter) as an object no string or number becomes. */
function keepBigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? { bigint: value.toString() } : value;
}

export class SearchMatcher {
  private readonly fields: FieldResolver;
  private readonly prefilter: FtsPrefilter;
  private readonly trigrams: TrigramSample;
  private readonly candidates: IndexedCandidates | undefined;
  // Compiled searches by SQL text: the same query shapes recur (values travel as parameters).
  private readonly statements: StatementCache;
  /** How the trigram index narrowed the last search (for diagnostics and tests). */
  lastNarrowing: 'rarest trigrams' | 'phrases' | 'none' = 'none';
  /** How many leaves of the last narrowed search the index did not cover yet (each was looked at). */
  lastUnindexed = 0;
  /** The leaves the last search looked at: all below its tree size, or those from a kept search's size on. */
  lastRange: { from: number; to: number } = { from: 0, to: 0 };
  private readonly cache = new MatchCache(CACHED_SEARCHES, CACHED_LEAVES);
  /** performance.now() past which the running search stops. */
  private deadlineAt = Infinity;
  private readonly inTransaction: (q: MatchQuery) => readonly number[];

  constructor(
    db: Db,
    schema: AuditSchema,
    private readonly options: SearchMatcherOptions,
  ) {
    this.fields = searchFields(schema);
    this.prefilter = new FtsPrefilter(schema);
    this.trigrams = new TrigramSample(db, ftsFieldIds(schema).map(fieldColumn));
    this.candidates = this.prefilter.enabled && options.index ? new IndexedCandidates(options.index, PREFILTER_MAX_CANDIDATES) : undefined;
    this.statements = new StatementCache(db, 128);
    // better-sqlite3 has no progress handler: the scan calls back into JS every
    // DEADLINE_CHECK_EVERY events instead, and an exception thrown there ends the statement.
    db.function('search_deadline_check', { deterministic: false, directOnly: true }, () => {
      if (performance.now() > this.deadlineAt) throw new SearchDeadlineError('search too expensive: narrow it');
      return 1;
    });
    // The prefilter and the scan read one snapshot.
    this.inTransaction = db.transaction((q: MatchQuery) => this.run(q));
  }

  /** The matching leaf indexes, in result order, at most `maxResults`; SearchDeadlineError past `deadlineMs`. */
  matches(q: MatchQuery, deadlineMs: number): readonly number[] {
    this.deadlineAt = performance.now() + deadlineMs;
    try {
      return this.inTransaction(q);
    } finally {
      this.deadlineAt = Infinity;
    }
  }

  private run(q: MatchQuery): readonly number[] {
    const orderField = this.fields.get(q.orderBy);
    if (!orderField) throw new Error(`order_by "${q.orderBy}" is not a search field`);
    // First, so that SQLite tests it on every row it visits, before the query's own tests.
    const where: SqlFragment[] = [{ sql: `e.leaf_index % ${DEADLINE_CHECK_EVERY} <> 0 OR search_deadline_check()`, params: [] }, q.query];
    if (q.start !== undefined) where.push({ sql: 'e.received_at >= ?', params: [q.start] });
    if (q.end !== undefined) where.push({ sql: 'e.received_at <= ?', params: [q.end] });
    if (q.restriction) where.push(q.restriction.condition);
    const direction = q.direction === 'asc' ? 'ASC' : 'DESC';
    // The limit is written into the SQL, not bound: SQLite recompiles a statement with a bound
    // LIMIT every time it is bound (its value may change the plan). Most searches use the
    // default, so the statement cache keeps few variants.
    if (!Number.isSafeInteger(q.maxResults)) throw new Error('max_results is not an integer');
    // received_at order is leaf order while arrival times rise with the leaves: then walk the
    // table by rowid instead of the received_at index plus a row lookup per match. A time
    // range keeps the index, which narrows the walk to the range.
    const byLeaf = q.orderBy === 'received_at' && q.receivedInLeafOrder && q.start === undefined && q.end === undefined;
    if (!byLeaf) {
      const order = `${orderField.column} ${direction}, e.leaf_index ${direction}`;
      return this.select(where, q, { from: 0, to: q.treeSize }, order);
    }
    // In leaf order, the matches below a larger size are the kept ones plus those among the new
    // leaves, which all sort after (ascending) or before (descending) the kept ones.
    const key = JSON.stringify([direction, q.maxResults, where.map((w) => w.sql), where.map((w) => w.params)], keepBigints);
    const kept = this.cache.get(key, q.generation);
    const order = `e.leaf_index ${direction}`;
    let leaves: readonly number[];
    // However many leaves were added since, looking at them alone never costs more than looking
    // at all of them (the trigram prefilter narrows that range as it would the whole log).
    if (kept && kept.treeSize <= q.treeSize) {
      if (direction === 'ASC' && kept.leaves.length >= q.maxResults) {
        // The first max_results matches are all below the kept size already.
        this.lastNarrowing = 'none';
        this.lastRange = { from: q.treeSize, to: q.treeSize };
        leaves = kept.leaves;
      } else {
        const added = this.select(where, q, { from: kept.treeSize, to: q.treeSize }, order);
        const merged = direction === 'ASC' ? kept.leaves.concat(added) : added.concat(kept.leaves);
        if (merged.length > q.maxResults) merged.length = q.maxResults;
        leaves = merged;
      }
    } else {
      leaves = this.select(where, q, { from: 0, to: q.treeSize }, order);
    }
    // Kept as it is handed back: neither the cache nor its callers change a list of matches (the
    // worker posts it, which copies it).
    this.cache.set(key, q.generation, q.treeSize, leaves);
    return leaves;
  }

  /** The matches of `where` among the leaves in [range.from, range.to), in `order`, at most max_results. */
  private select(where: SqlFragment[], q: MatchQuery, range: { from: number; to: number }, order: string): number[] {
    this.lastRange = range;
    const bounds: SqlFragment[] = [{ sql: 'e.leaf_index < ?', params: [range.to] }];
    if (range.from > 0) bounds.push({ sql: 'e.leaf_index >= ?', params: [range.from] });
    const all = [...where, ...this.narrow(q, range), ...bounds];
    const matches = `SELECT e.leaf_index FROM events e WHERE ${all.map((w) => `(${w.sql})`).join(' AND ')} ORDER BY ${order} LIMIT ${q.maxResults}`;
    // The matches come back as one JSON array rather than a row each: better-sqlite3 fills its
    // result array through the V8 API an element at a time, which costs about as much as the
    // scan itself, while one string is parsed at once. The ordered, limited subquery runs as a co-routine (a
    // subquery with LIMIT is never flattened into an aggregate), so the aggregate takes its rows
    // in result order.
    const sql = `SELECT json_group_array(leaf_index) FROM (${matches})`;
    const params = all.flatMap((w) => w.params);
    return JSON.parse(this.statements.get(sql).pluck().get(...params) as string) as number[];
  }

  /**
   * `leaf_index IN (candidates)` when the trigram index narrows the search of `range` enough, else
   * nothing. The candidates are the leaves the index names below where it ends, and every leaf
   * from there on, which it does not cover yet.
   */
  private narrow(q: MatchQuery, range: { from: number; to: number }): SqlFragment[] {
    this.lastNarrowing = 'none';
    this.lastUnindexed = 0;
    const span = range.to - range.from;
    if (span < this.options.prefilterMinEvents || !this.candidates) return [];
    // A value's rarest trigrams are used when they are estimated to leave a margin under the
    // prefilter's cap. The estimate comes from a sample: should those trigrams name more events
    // than the cap after all, the phrases (exact, dearer to look up) are tried before a scan.
    const rarest = { share: (column: string, trigram: string) => this.trigrams.share(column, trigram, q.treeSize), maxShare: (0.8 * PREFILTER_MAX_CANDIDATES) / span };
    const quick = this.prefilter.derive(q.ast, q.restriction?.values, rarest);
    if (!quick) return [];
    const exact = this.prefilter.derive(q.ast, q.restriction?.values);
    let found = this.candidatesOf(quick, range);
    let used: SearchMatcher['lastNarrowing'] = quick === exact ? 'phrases' : 'rarest trigrams';
    if ((found === undefined || tooMany(found, range)) && exact !== null && exact !== quick) {
      found = this.candidatesOf(exact, range);
      used = 'phrases';
    }
    if (found === undefined || tooMany(found, range)) return [];
    this.lastNarrowing = used;
    this.lastUnindexed = range.to - found.indexedTo;
    const leaves = found.leaves;
    for (let leaf = found.indexedTo; leaf < range.to; leaf++) leaves.push(leaf);
    return [{ sql: 'e.leaf_index IN (SELECT value FROM json_each(?))', params: [JSON.stringify(leaves)] }];
  }

  /** The leaves the trigram index names for `match` (at most one past the cap) and where it ends; undefined if it fails. */
  private candidatesOf(match: string, range: { from: number; to: number }): Candidates | undefined {
    try {
      return this.candidates!.find(match, range.from, range.to);
    } catch (err) {
      // Never expected (every value is quoted); the search is still right without the index.
      this.options.onError(err);
      return undefined;
    }
  }
}

/** Whether the candidates, with the leaves the index does not cover yet, are more than a narrowed search takes. */
function tooMany(found: Candidates, range: { from: number; to: number }): boolean {
  return found.leaves.length + (range.to - found.indexedTo) > PREFILTER_MAX_CANDIDATES;
}
