// v1/search and v1/results: compile the query to parameterised SQL, snapshot the matching leaf
// indexes as a result set (stable while events keep arriving), and answer pages of events with
// membership proofs against the roots of the snapshot.
import type { SearchRequest as WireSearchRequest } from '../../wire/index.js';
import { microTimestamp, ServiceError, validationError } from '../http/envelope.js';
import { JsonText } from '../http/json-text.js';
import { validateBody, type BodySpec } from '../http/validate.js';
import { compileAst, compileRestriction, parseQuery, QuerySyntaxError, SearchRestrictionError, type FieldResolver, type QueryNode, type SqlFragment } from '../query/index.js';
import { resultJson, type ResultEvent, type ResultRoots } from '../result-json.js';
import { searchFields } from '../search-fields.js';
import { FtsPrefilter } from '../store/fts-prefilter.js';
import { ResultSetStore, type NewResultSet, type ResultSet } from '../store/result-sets.js';
import { StatementCache } from '../store/statement-cache.js';
import { parseTimeBound } from '../time-range.js';
import type { RouteModuleFactory } from './module.js';

export const MAX_RESULTS = 10_000;
export const MAX_PAGE = 1000;
const PURGE_EVERY_MS = 60_000;
/**
 * The trigram index narrows a search to its candidates only when there are at most this many;
 * beyond that, walking the events in result order (and stopping at max_results) is cheaper.
 */
const PREFILTER_MAX_CANDIDATES = 10_000;

const SEARCH: BodySpec = {
  fields: {
    query: { type: 'string', required: true, maxLength: 10_000 },
    start: { type: 'string', maxLength: 64 },
    end: { type: 'string', maxLength: 64 },
    limit: { type: 'integer', min: 1, max: MAX_PAGE },
    max_results: { type: 'integer', min: 1, max: MAX_RESULTS },
    order: { type: 'string', enum: ['asc', 'desc'] },
    order_by: { type: 'string', maxLength: 64 },
    verbose: { type: 'boolean' },
    search_restriction: { type: 'object' },
    return_context: { type: 'boolean' },
  },
};

const RESULTS: BodySpec = {
  allowUnknown: true,
  fields: {
    id: { type: 'string', required: true, maxLength: 64 },
    limit: { type: 'integer', min: 1, max: MAX_PAGE },
    offset: { type: 'integer', min: 0 },
    assert_search_restriction: { type: 'object' },
    return_context: { type: 'boolean' },
  },
};

/** The wire request, with the restriction still unchecked (compileRestriction checks it). */
type SearchRequest = Omit<WireSearchRequest, 'search_restriction'> & { search_restriction?: Record<string, unknown> };

function badFormat(detail: string, source: string): ServiceError {
  return validationError([{ code: 'BadFormat', detail, source }]);
}

function compileWhere(req: SearchRequest, fields: FieldResolver, nowMs: number): { parts: SqlFragment[]; ast: QueryNode } {
  const parts: SqlFragment[] = [];
  let ast: QueryNode;
  try {
    ast = parseQuery(req.query);
    parts.push(compileAst(ast, fields));
  } catch (err) {
    if (err instanceof QuerySyntaxError) throw badFormat(`query: ${err.message}`, '/query');
    throw err;
  }
  for (const [key, op] of [['start', '>='], ['end', '<=']] as const) {
    const text = req[key];
    if (text === undefined) continue;
    const bound = parseTimeBound(text, nowMs);
    if (bound === null) throw badFormat(`'${key}' must be an RFC 3339 date-time or a relative time like 7d or 120min`, `/${key}`);
    parts.push({ sql: `e.received_at ${op} ?`, params: [bound] });
  }
  if (req.search_restriction) {
    try {
      parts.push(compileRestriction(req.search_restriction, fields));
    } catch (err) {
      if (err instanceof SearchRestrictionError) {
        throw badFormat(err.message, `/search_restriction/${err.field}${err.index === undefined ? '' : `/${err.index}`}`);
      }
      throw err;
    }
  }
  return { parts, ast };
}

interface PageContent {
  events: ResultEvent[];
  roots: ResultRoots;
}

/** What a search found in its snapshot: the set to create and its first page. */
interface Found {
  set: NewResultSet;
  leaves: number[];
  firstPage: PageContent;
}

/** Does the set's own restriction imply the asserted one (every asserted field, values within)? */
function restrictionHolds(set: ResultSet, asserted: Record<string, unknown>): boolean {
  const own = set.restriction ? (JSON.parse(set.restriction) as Record<string, unknown[]>) : {};
  return Object.entries(asserted).every(([field, values]) => {
    const ownValues = own[field];
    return Array.isArray(values) && Array.isArray(ownValues) && ownValues.every((v) => values.includes(v));
  });
}

export const searchModule: RouteModuleFactory = ({ log, options, onError }) => {
  const sets = new ResultSetStore(log.db);
  const fields = searchFields(log.schema);
  const prefilter = new FtsPrefilter(log.schema);
  const candidates = prefilter.enabled
    ? log.db.prepare<[string, number], { rowid: number }>(`SELECT rowid FROM events_fts WHERE events_fts MATCH ? AND rowid < ? LIMIT ${PREFILTER_MAX_CANDIDATES + 1}`)
    : undefined;
  let lastPurge = 0;
  // Compiled searches by SQL text: the same query shapes recur (values travel as parameters).
  const statements = new StatementCache(log.db, 128);

  /** `leaf_index IN (candidates)` when the trigram index narrows the search enough, else nothing. */
  const narrow = (ast: QueryNode, req: SearchRequest, treeSize: number): SqlFragment[] => {
    if (treeSize < options.prefilterMinEvents) return [];
    const match = candidates && prefilter.derive(ast, req.search_restriction);
    if (!match) return [];
    let leaves: number[];
    try {
      leaves = candidates.all(match, treeSize).map((r) => r.rowid);
    } catch (err) {
      // Never expected (every value is quoted); the search is still right without the index.
      onError(err);
      return [];
    }
    if (leaves.length > PREFILTER_MAX_CANDIDATES) return [];
    return [{ sql: 'e.leaf_index IN (SELECT value FROM json_each(?))', params: [JSON.stringify(leaves)] }];
  };

  /**
   * The events of a page with their proofs, and the roots those prove against: the membership
   * proof of an event below the set's published size is against that published root, any other
   * against the set's tree size.
   */
  const pageContent = (set: Pick<ResultSet, 'publishedSize' | 'treeSize'>, leaves: readonly number[], verbose: boolean): PageContent => {
    const stored = log.events.getManyText(leaves);
    // The page's proofs share their upper nodes: read each node once per page.
    const proofs = verbose ? log.membershipProofs(stored.map((e) => e.leafIndex), (leaf) => (leaf < set.publishedSize ? set.publishedSize : set.treeSize)) : undefined;
    const events = stored.map((e, i): ResultEvent => ({ ...e, published: e.leafIndex < set.publishedSize, membershipProof: proofs?.[i] }));
    const roots: ResultRoots = {};
    if (verbose) {
      if (set.publishedSize > 0) roots.root = log.publishedRoot(set.publishedSize);
      if (set.treeSize > 0) roots.unpublished_root = log.unpublishedRoot(set.treeSize);
    }
    return { events, roots };
  };

  /** A page of results as JSON text: `head` (id, expires_at), count, events and roots. */
  const pageJson = (count: number, content: PageContent, head: Record<string, unknown> = {}): JsonText =>
    new JsonText(resultJson(head, count, content.events, content.roots));

  // A search reads one snapshot, in one transaction: the sizes, the matches, the first page, its
  // proofs and roots. Its result set is written after it, in a transaction shared with the other
  // searches of this turn of the event loop (ResultSetStore.createBatched).
  const searchTx = log.db.transaction((req: SearchRequest): Found => {
    const nowMs = Date.now();
    if (nowMs - lastPurge > PURGE_EVERY_MS) {
      sets.purgeExpired(nowMs);
      lastPurge = nowMs;
    }
    const orderBy = req.order_by ?? 'received_at';
    const orderField = fields.get(orderBy);
    if (!orderField) throw validationError([{ code: 'NotEnumMember', detail: `'order_by' must be received_at or a schema field, not "${orderBy}"`, source: '/order_by' }]);
    const direction = (req.order ?? 'desc') === 'asc' ? 'ASC' : 'DESC';
    // Snapshot: the tree and published sizes now. better-sqlite3 is synchronous, so no append
    // can run between reading the sizes and selecting the matching leaves.
    const treeSize = log.size;
    const publishedSize = Math.min(log.latestPublishedSize(), treeSize);
    const { parts, ast } = compileWhere(req, fields, nowMs);
    const where = [...parts, ...narrow(ast, req, treeSize), { sql: 'e.leaf_index < ?', params: [treeSize] }];
    // received_at order is leaf order while arrival times rise with the leaves: then walk the
    // table by rowid instead of the received_at index plus a row lookup per match. A time
    // range keeps the index, which narrows the walk to the range.
    const byLeaf = orderBy === 'received_at' && log.events.arrival.receivedInLeafOrder && req.start === undefined && req.end === undefined;
    const order = byLeaf ? `e.leaf_index ${direction}` : `${orderField.column} ${direction}, e.leaf_index ${direction}`;
    // The limit is written into the SQL, not bound: SQLite recompiles a statement with a bound
    // LIMIT every time it is bound (its value may change the plan), which cost ~8% of the query.
    // validateBody has checked it is an integer in [1, MAX_RESULTS]; most searches use the default.
    const maxResults = req.max_results ?? MAX_RESULTS;
    if (!Number.isSafeInteger(maxResults)) throw new Error('max_results is not an integer');
    const matches = `SELECT e.leaf_index FROM events e WHERE ${where.map((w) => `(${w.sql})`).join(' AND ')} ORDER BY ${order} LIMIT ${maxResults}`;
    // The matches come back as one JSON array rather than a row each: better-sqlite3 fills its
    // result array through the V8 API an element at a time, which cost nearly as much as the
    // scan (400 matches: 48 -> 37 us). The ordered, limited subquery runs as a co-routine (a
    // subquery with LIMIT is never flattened into an aggregate), so the aggregate takes its rows
    // in result order.
    const sql = `SELECT json_group_array(leaf_index) FROM (${matches})`;
    const params = where.flatMap((w) => w.params);
    const leaves = JSON.parse(statements.get(sql).pluck().get(...params) as string) as number[];
    const set: NewResultSet = {
      createdAt: microTimestamp(),
      expiresAtMs: nowMs + options.resultTtlMs,
      treeSize,
      publishedSize,
      restriction: req.search_restriction ? JSON.stringify(req.search_restriction) : null,
    };
    return { set, leaves, firstPage: pageContent(set, leaves.slice(0, req.limit ?? 20), req.verbose ?? true) };
  });

  type ResultsRequest = { id: string; limit?: number; offset?: number; assert_search_restriction?: Record<string, unknown> };
  // One transaction, one snapshot, locks taken once; IMMEDIATE as it may write (a remembered root).
  const resultsTx = log.db.transaction((req: ResultsRequest): JsonText => {
    const set = sets.get(req.id);
    if (!set) throw new ServiceError('NotFound', `result set ${req.id} was not found or has expired`);
    if (req.assert_search_restriction && !restrictionHolds(set, req.assert_search_restriction)) {
      throw validationError([{ code: 'BadFormat', detail: 'the result set was not made with the asserted search restriction', source: '/assert_search_restriction' }]);
    }
    const offset = req.offset ?? 0;
    if (offset > 0 && offset >= set.count) {
      throw new ServiceError('BadOffset', `offset ${offset} is past the end of the ${set.count} results`, {
        errors: [{ code: 'BadOffset', detail: `offset must be less than ${set.count}`, source: '/offset' }],
      });
    }
    return pageJson(set.count, pageContent(set, sets.page(set, offset, req.limit ?? 20), true));
  });

  return {
    actions: {
      'v1/search': async ({ body }) => {
        const found = searchTx(validateBody<SearchRequest>(body, SEARCH));
        const set = await sets.createBatched(found.set, found.leaves);
        return { result: pageJson(set.count, found.firstPage, { id: set.id, expires_at: microTimestamp(BigInt(set.expiresAtMs) * 1000n) }) };
      },
      'v1/results': ({ body }) => ({ result: resultsTx.immediate(validateBody<ResultsRequest>(body, RESULTS)) }),
    },
    close: () => sets.flush(),
  };
};

