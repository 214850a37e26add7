// v1/search and v1/results: compile the query to parameterised SQL, snapshot the matching leaf
// indexes as a result set (stable while events keep arriving), and answer pages of events with
// membership proofs against the roots of the snapshot. The matching leaves are found by a search
// worker (store/search-pool.ts), off the thread that commits appends.
import type { SearchRequest as WireSearchRequest } from '../../wire/index.js';
import { microTimestamp } from '../core/clock.js';
import { ServiceError, validationError } from '../core/errors.js';
import { JsonText } from '../http/json-text.js';
import { pointer, validateBody, type BodySpec } from '../core/validate.js';
import { MAX_PAGE, MAX_RESULTS, MAX_SHORT_PARAM } from '../core/limits.js';
import { checkQueryCost, parseQuery, QuerySyntaxError, type FieldResolver } from '../query/index.js';
import { compileAst } from '../store/query-sql.js';
import { checkRestrictionSize, compileRestriction, SearchRestrictionError } from '../store/restriction-sql.js';
import { eventJsonBytes, MAX_PAGE_EVENT_BYTES, resultJson, type ResultEvent, type ResultRoots } from '../result-json.js';
import type { NewResultSet, ResultSet } from '../store/result-sets.js';
import type { MatchQuery } from '../store/search-store.js';
import { parseTimeRange } from '../time-range.js';
import type { RouteModuleFactory } from './module.js';

const PURGE_EVERY_MS = 60_000;

const SEARCH: BodySpec = {
  fields: {
    query: { type: 'string', required: true, maxLength: 10_000 },
    start: { type: 'string', maxLength: MAX_SHORT_PARAM },
    end: { type: 'string', maxLength: MAX_SHORT_PARAM },
    limit: { type: 'integer', min: 1, max: MAX_PAGE },
    max_results: { type: 'integer', min: 1, max: MAX_RESULTS },
    order: { type: 'string', enum: ['asc', 'desc'] },
    order_by: { type: 'string', maxLength: MAX_SHORT_PARAM },
    verbose: { type: 'boolean' },
    search_restriction: { type: 'object' },
    return_context: { type: 'boolean' },
  },
};

const RESULTS: BodySpec = {
  allowUnknown: true,
  fields: {
    id: { type: 'string', required: true, maxLength: MAX_SHORT_PARAM },
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

/** The ValidationError for a restriction refused in request member `member`. */
function restrictionError(err: SearchRestrictionError, member: 'search_restriction' | 'assert_search_restriction'): ServiceError {
  const at = [member, ...(err.field === undefined ? [] : [err.field]), ...(err.index === undefined ? [] : [err.index])];
  return validationError([{ code: err.code, detail: err.message, source: pointer(...at) }]);
}

/** What the request asks to match, compiled; the search store adds the order and the snapshot. */
type CompiledSearch = Pick<MatchQuery, 'query' | 'ast' | 'restriction' | 'start' | 'end'>;

function compileSearch(req: SearchRequest, fields: FieldResolver, nowMs: number): CompiledSearch {
  let compiled: CompiledSearch;
  try {
    const ast = parseQuery(req.query);
    checkQueryCost(ast, fields);
    compiled = { ast, query: compileAst(ast, fields) };
  } catch (err) {
    if (err instanceof QuerySyntaxError) throw badFormat(`query: ${err.message}`, '/query');
    throw err;
  }
  // As v1/export reads them: a start after the end is refused, not answered with no events.
  const range = parseTimeRange(req, nowMs);
  if (range.start !== undefined) compiled.start = range.start;
  if (range.end !== undefined) compiled.end = range.end;
  if (req.search_restriction) {
    try {
      compiled.restriction = { condition: compileRestriction(req.search_restriction, fields), values: req.search_restriction };
    } catch (err) {
      if (err instanceof SearchRestrictionError) throw restrictionError(err, 'search_restriction');
      throw err;
    }
  }
  return compiled;
}

interface PageContent {
  events: ResultEvent[];
  roots: ResultRoots;
}

type StoredText = { leafIndex: number; hash: string; envelopeJson: string };

/**
 * Leaves read per statement while a page is read: the first slice is a default page (20), so most
 * pages take one statement; later slices shrink when events are large (readPage).
 */
const FIRST_READ_SLICE = 20;
const MAX_READ_SLICE = 100;

/**
 * The page cannot be answered within MAX_PAGE_EVENT_BYTES. It is refused, not cut short: the
 * gateway's paging and the vendor SDK's callers move on by the limit they asked for (the gateway
 * counts a short page's missing events as gone from storage), so a shorter page would skip events.
 */
function pageTooLarge(asked: number, fit: number): ServiceError {
  const mib = MAX_PAGE_EVENT_BYTES / (1024 * 1024);
  return validationError([
    {
      code: 'AboveMaximum',
      detail: `the ${asked} events of this page are more than the ${mib} MiB of events a page may hold (its first ${fit} fit): ask for a smaller 'limit'`,
      source: '/limit',
    },
  ]);
}

/**
 * The stored events of a page, read a slice at a time so that a page too large to answer is
 * refused once the events read pass the budget, not after all of them are held in memory.
 * Returns the envelopes' UTF-8 byte lengths with them. A page of one event is never refused:
 * asking for one at a time always gets through a result set.
 */
function readPage(read: (leaves: readonly number[]) => StoredText[], leaves: readonly number[]): { stored: StoredText[]; envelopeBytes: number[] } {
  const stored: StoredText[] = [];
  const envelopeBytes: number[] = [];
  let total = 0;
  let fit = 0;
  let slice = FIRST_READ_SLICE;
  for (let at = 0; at < leaves.length; ) {
    for (const event of read(leaves.slice(at, at + slice))) {
      const bytes = Buffer.byteLength(event.envelopeJson, 'utf8');
      total += bytes;
      if (total <= MAX_PAGE_EVENT_BYTES) fit++;
      stored.push(event);
      envelopeBytes.push(bytes);
    }
    if (total > MAX_PAGE_EVENT_BYTES && leaves.length > 1) throw pageTooLarge(leaves.length, fit);
    at += slice;
    // Large events: read only about as many as could still fit, so the overshoot stays small.
    const average = stored.length > 0 ? total / stored.length : 0;
    slice = average > 0 ? Math.max(1, Math.min(MAX_READ_SLICE, Math.floor((MAX_PAGE_EVENT_BYTES - total) / average) + 1)) : MAX_READ_SLICE;
  }
  return { stored, envelopeBytes };
}

/** Refuses a page whose events, proofs included, pass MAX_PAGE_EVENT_BYTES (see readPage). */
function checkPageBytes(events: readonly ResultEvent[], envelopeBytes: readonly number[], asked: number): void {
  if (events.length <= 1) return;
  let total = 0;
  let fit = 0;
  for (const [i, event] of events.entries()) {
    total += eventJsonBytes(event, envelopeBytes[i]!);
    if (total <= MAX_PAGE_EVENT_BYTES) fit++;
  }
  if (total > MAX_PAGE_EVENT_BYTES) throw pageTooLarge(asked, fit);
}

/** Does the set's own restriction imply the asserted one (every asserted field, values within)? */
function restrictionHolds(set: ResultSet, asserted: Record<string, unknown>): boolean {
  const own = set.restriction ? (JSON.parse(set.restriction) as Record<string, unknown[]>) : {};
  return Object.entries(asserted).every(([field, values]) => {
    const ownValues = own[field];
    return Array.isArray(values) && Array.isArray(ownValues) && ownValues.every((v) => values.includes(v));
  });
}

export const searchModule: RouteModuleFactory = ({ log, options, resultSets: sets, search, transactions }) => {
  const { fields } = search;
  let lastPurge = 0;

  /**
   * The events of a page with their proofs, and the roots those prove against: the membership
   * proof of an event below the set's published size is against that published root, any other
   * against the set's tree size.
   */
  const pageContent = (set: Pick<ResultSet, 'publishedSize' | 'treeSize'>, leaves: readonly number[], verbose: boolean): PageContent => {
    const { stored, envelopeBytes } = readPage((slice) => log.events.getManyText(slice), leaves);
    // The page's proofs share their upper nodes: read each node once per page.
    const proofs = verbose ? log.membershipProofs(stored.map((e) => e.leafIndex), (leaf) => (leaf < set.publishedSize ? set.publishedSize : set.treeSize)) : undefined;
    const events = stored.map((e, i): ResultEvent => ({ ...e, published: e.leafIndex < set.publishedSize, membershipProof: proofs?.[i], hideLeafIndex: !verbose }));
    checkPageBytes(events, envelopeBytes, leaves.length);
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

  /**
   * What a search asks the workers for, and the snapshot it answers about: the tree and published
   * sizes now, synchronously, so no append runs in between. The worker finds the matches among the
   * leaves below that tree size; they were committed before it starts and never change, so what it
   * finds is what this snapshot holds, however many events arrive meanwhile.
   */
  const prepare = (req: SearchRequest): { match: Omit<MatchQuery, 'receivedInLeafOrder' | 'generation'>; set: NewResultSet } => {
    const nowMs = Date.now();
    if (nowMs - lastPurge > PURGE_EVERY_MS) {
      sets.purgeExpired(nowMs);
      lastPurge = nowMs;
    }
    const orderBy = req.order_by ?? 'received_at';
    if (!fields.get(orderBy)) throw validationError([{ code: 'NotEnumMember', detail: `'order_by' must be received_at or a schema field, not "${orderBy}"`, source: '/order_by' }]);
    const compiled = compileSearch(req, fields, nowMs);
    const treeSize = log.size;
    const publishedSize = Math.min(log.latestPublishedSize(), treeSize);
    const match = {
      ...compiled,
      orderBy,
      direction: req.order ?? 'desc',
      // validateBody has checked it is an integer in [1, MAX_RESULTS].
      maxResults: req.max_results ?? MAX_RESULTS,
      treeSize,
    } as const;
    const set: NewResultSet = {
      createdAt: microTimestamp(),
      expiresAtMs: nowMs + options.resultTtlMs,
      treeSize,
      publishedSize,
      restriction: req.search_restriction ? JSON.stringify(req.search_restriction) : null,
      verbose: req.verbose ?? true,
    };
    return { match, set };
  };

  // The first page, its proofs and roots in one transaction. Its result set is written after it,
  // in a transaction shared with the other searches of this turn of the event loop
  // (ResultSetStore.createBatched).
  const firstPageTx = transactions.read(pageContent);

  type ResultsRequest = { id: string; limit?: number; offset?: number; assert_search_restriction?: Record<string, unknown> };
  // One transaction, one snapshot, locks taken once; IMMEDIATE as it may write (a remembered root).
  const resultsTx = transactions.write((req: ResultsRequest): JsonText => {
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
    return pageJson(set.count, pageContent(set, sets.page(set, offset, req.limit ?? 20), set.verbose));
  });

  return {
    actions: {
      'v1/search': async ({ body }) => {
        const req = validateBody<SearchRequest>(body, SEARCH);
        const { match, set: newSet } = prepare(req);
        const leaves = await search.matches(match);
        const firstPage = firstPageTx(newSet, leaves.slice(0, req.limit ?? 20), newSet.verbose);
        const set = await sets.createBatched(newSet, leaves);
        return { result: pageJson(set.count, firstPage, { id: set.id, expires_at: microTimestamp(BigInt(set.expiresAtMs) * 1000n) }) };
      },
      'v1/results': ({ body }) => {
        const req = validateBody<ResultsRequest>(body, RESULTS);
        if (req.assert_search_restriction) {
          // Bounded like search_restriction: restrictionHolds scans the asserted list once for every
          // value of the set's own restriction.
          try {
            checkRestrictionSize(req.assert_search_restriction, 'assert_search_restriction');
          } catch (err) {
            if (err instanceof SearchRestrictionError) throw restrictionError(err, 'assert_search_restriction');
            throw err;
          }
        }
        return { result: resultsTx(req) };
      },
    },
    close: async () => {
      sets.flush();
      await search.close();
    },
  };
};

