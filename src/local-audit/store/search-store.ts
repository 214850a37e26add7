// The SQL of v1/search: the leaf indexes of the events that match a compiled query, in result
// order, narrowed by the trigram index when that pays. The route builds the conditions with the
// query compiler (query/) against `fields`; this module adds the bounds, the order and the limit.
import type Database from 'better-sqlite3';
import type { AuditSchema } from '../audit-schema.js';
import type { FieldResolver, QueryNode, SqlFragment } from '../query/index.js';
import type { Db } from './database.js';
import type { EventStore } from './event-store.js';
import { FtsPrefilter } from './fts-prefilter.js';
import { searchFields } from './search-fields.js';
import { StatementCache } from './statement-cache.js';

/**
 * The trigram index narrows a search to its candidates only when there are at most this many;
 * beyond that, walking the events in result order (and stopping at max_results) is cheaper.
 */
const PREFILTER_MAX_CANDIDATES = 10_000;

interface SearchStoreOptions {
  /** Below this many events a scan of the whole table is cheaper than the index lookup. */
  prefilterMinEvents: number;
  onError: (err: unknown) => void;
}

export interface MatchQuery {
  /** The compiled query (columns from `fields`) and its syntax tree, for the trigram prefilter. */
  query: SqlFragment;
  ast: QueryNode;
  /** The compiled search_restriction and the restriction itself, for the trigram prefilter. */
  restriction?: { condition: SqlFragment; values: Record<string, unknown> };
  /** received_at bounds, normalised to the stored form. */
  start?: string;
  end?: string;
  /** received_at or a field of `fields`. */
  orderBy: string;
  direction: 'asc' | 'desc';
  /** An integer in [1, MAX_RESULTS]. */
  maxResults: number;
  /** Only leaves below this size (the snapshot's) match. */
  treeSize: number;
}

export class SearchStore {
  /** How the query compiler sees the events table. */
  readonly fields: FieldResolver;
  private readonly prefilter: FtsPrefilter;
  private readonly candidates: Database.Statement<[string, number], { rowid: number }> | undefined;
  // Compiled searches by SQL text: the same query shapes recur (values travel as parameters).
  private readonly statements: StatementCache;

  constructor(
    db: Db,
    schema: AuditSchema,
    private readonly events: EventStore,
    private readonly options: SearchStoreOptions,
  ) {
    this.fields = searchFields(schema);
    this.prefilter = new FtsPrefilter(schema);
    this.candidates = this.prefilter.enabled
      ? db.prepare<[string, number], { rowid: number }>(`SELECT rowid FROM events_fts WHERE events_fts MATCH ? AND rowid < ? LIMIT ${PREFILTER_MAX_CANDIDATES + 1}`)
      : undefined;
    this.statements = new StatementCache(db, 128);
  }

  /** The matching leaf indexes, in result order, at most `maxResults`. */
  matches(q: MatchQuery): number[] {
    const orderField = this.fields.get(q.orderBy);
    if (!orderField) throw new Error(`order_by "${q.orderBy}" is not a search field`);
    const where: SqlFragment[] = [q.query];
    if (q.start !== undefined) where.push({ sql: 'e.received_at >= ?', params: [q.start] });
    if (q.end !== undefined) where.push({ sql: 'e.received_at <= ?', params: [q.end] });
    if (q.restriction) where.push(q.restriction.condition);
    where.push(...this.narrow(q), { sql: 'e.leaf_index < ?', params: [q.treeSize] });
    const direction = q.direction === 'asc' ? 'ASC' : 'DESC';
    // received_at order is leaf order while arrival times rise with the leaves: then walk the
    // table by rowid instead of the received_at index plus a row lookup per match. A time
    // range keeps the index, which narrows the walk to the range.
    const byLeaf = q.orderBy === 'received_at' && this.events.arrival.receivedInLeafOrder && q.start === undefined && q.end === undefined;
    const order = byLeaf ? `e.leaf_index ${direction}` : `${orderField.column} ${direction}, e.leaf_index ${direction}`;
    // The limit is written into the SQL, not bound: SQLite recompiles a statement with a bound
    // LIMIT every time it is bound (its value may change the plan). Most searches use the
    // default, so the statement cache keeps few variants.
    if (!Number.isSafeInteger(q.maxResults)) throw new Error('max_results is not an integer');
    const matches = `SELECT e.leaf_index FROM events e WHERE ${where.map((w) => `(${w.sql})`).join(' AND ')} ORDER BY ${order} LIMIT ${q.maxResults}`;
    // The matches come back as one JSON array rather than a row each: better-sqlite3 fills its
    // result array through the V8 API an element at a time, which costs about as much as the
    // scan itself, while one string is parsed at once. The ordered, limited subquery runs as a co-routine (a
    // subquery with LIMIT is never flattened into an aggregate), so the aggregate takes its rows
    // in result order.
    const sql = `SELECT json_group_array(leaf_index) FROM (${matches})`;
    const params = where.flatMap((w) => w.params);
    return JSON.parse(this.statements.get(sql).pluck().get(...params) as string) as number[];
  }

  /** `leaf_index IN (candidates)` when the trigram index narrows the search enough, else nothing. */
  private narrow(q: MatchQuery): SqlFragment[] {
    if (q.treeSize < this.options.prefilterMinEvents) return [];
    const match = this.candidates && this.prefilter.derive(q.ast, q.restriction?.values);
    if (!match) return [];
    let leaves: number[];
    try {
      leaves = this.candidates.all(match, q.treeSize).map((r) => r.rowid);
    } catch (err) {
      // Never expected (every value is quoted); the search is still right without the index.
      this.options.onError(err);
      return [];
    }
    if (leaves.length > PREFILTER_MAX_CANDIDATES) return [];
    return [{ sql: 'e.leaf_index IN (SELECT value FROM json_each(?))', params: [JSON.stringify(leaves)] }];
  }
}
