// Query.search, Query.auditEvents and Query.results: Relay connections over an upstream result
// set. Cursors carry the result-set id and offset (see cursor.ts); `first/after` and
// `last/before` translate to v1/results offsets, and every event gets the gateway's own
// verification. auditEvents is search typed as the connection itself, for Relay's @connection.
import { hash as digestOf } from 'node:crypto';
import {
  getDirectiveValues,
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  type FieldNode,
  type GraphQLResolveInfo,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { AuditApiError, BadOffsetError, NotFoundError, ValidationError } from '../../audit-client/errors.js';
import { MAX_SEARCH_RESTRICTION_VALUES, type PublishedRoot, type ResultsResult, type SearchEvent, type SearchRequest, type UnpublishedRoot } from '../../wire/index.js';
import { builder } from '../builder.js';
import type { GraphQLContext } from '../context.js';
import { InvalidCursorError, type CursorPayload } from '../cursor.js';
import { ForbiddenError } from '../../auth/errors.js';
import { PAGING_ERRORS } from '../error-types.js';
import { InputError, ResultSetExpiredError, upstream } from '../errors.js';
import { PageVerifier } from '../page-verifier.js';
import { AuditEventRef, type AuditEventNode } from './audit-event.js';
import { PublishedRootRef, UnpublishedRootRef } from './roots.js';

/** Page size bounds: the upstream serves at most 1000 events per page. */
const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 1000;

/** What AuditEventConnection adds to Relay's edges and pageInfo; toConnection fills it in. */
interface ConnectionExtras {
  totalCount: number;
  missingEvents: number;
  foreignEvents: number;
  resultId: string;
  expiresAt: string | null;
  root: PublishedRoot | null;
  unpublishedRoot: UnpublishedRoot | null;
}

interface ConnectionShape extends ConnectionExtras {
  edges: Array<{ cursor: string; node: AuditEventNode }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/** Sort direction of search and export; the values are the wire's `order` (asc / desc). */
export const OrderEnum = builder.enumType('SortOrder', {
  description: 'Sort direction.',
  values: { ASC: { value: 'asc', description: 'Oldest first.' }, DESC: { value: 'desc', description: 'Newest first.' } } as const,
});

// The second type argument is the shape the connection's own fields resolve from.
const AuditEventConnectionRef = builder.connectionObject<typeof AuditEventRef, ConnectionExtras>(
  {
    type: AuditEventRef,
    name: 'AuditEventConnection',
    description: 'A page of a result set, with the roots its proofs lead to.',
    // The page size is already the connection field's multiplier: edges must not multiply again.
    edgesField: { complexity: { field: 1, multiplier: 1 } },
    fields: (t) => ({
      totalCount: t.int({ description: 'Size of the whole result set (matches, capped by maxResults).', resolve: (c) => c.totalCount }),
      missingEvents: t.int({
        description:
          'Events of this page that the result set lists but the upstream did not return: they were removed from its storage after the search (tampering). Paging by endCursor or startCursor still moves past them.',
        resolve: (c) => c.missingEvents,
      }),
      foreignEvents: t.int({
        description:
          'Events the upstream returned on this page that do not match the restrictions the gateway forced (your tenant, searchRestriction or assertSearchRestriction values), checked on the verified envelope rather than the upstream\'s index: they are not returned, and each is tampering evidence in Query.integrity.',
        resolve: (c) => c.foreignEvents,
      }),
      resultId: t.id({ description: 'The upstream result set id, for results() and downloadResults().', resolve: (c) => c.resultId }),
      expiresAt: t.field({ type: 'DateTime', nullable: true, description: 'When the result set expires upstream (known after a search).', resolve: (c) => c.expiresAt }),
      root: t.field({ type: PublishedRootRef, nullable: true, description: 'The latest published root at search time: published events prove membership against it.', resolve: (c) => c.root }),
      unpublishedRoot: t.field({ type: UnpublishedRootRef, nullable: true, description: 'The current root at search time: unpublished events prove membership against it.', resolve: (c) => c.unpublishedRoot }),
    }),
  },
  {
    name: 'AuditEventEdge',
    description: 'One event of a page and its cursor.',
    fields: (t) => ({
      fpeContext: t.string({
        nullable: true,
        description:
          "The audit service's format-preserving-encryption context for this event (the fpe_context it answers when asked with returnContext), passed through as sent and not covered by the verification; null when not asked for or none was given.",
        resolve: (edge) => (typeof edge.node.event.fpe_context === 'string' ? edge.node.event.fpe_context : null),
      }),
    }),
  },
);

/**
 * Cost of a connection field: its events count once each (the connection's multiplier is the
 * page size asked for), so `first: 1000` costs 1000 times a page of one.
 */
function connectionComplexity(args: { first?: number | null; last?: number | null }): { field: number; multiplier: number } {
  const size = args.first ?? args.last ?? DEFAULT_PAGE_SIZE;
  return { field: 5, multiplier: Math.max(1, Math.min(size, MAX_PAGE_SIZE)) };
}

interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  /** results only: where the page starts, instead of a cursor. */
  offset?: number | null;
}

/** Works out which [offset, offset+limit) slice of the result set the Relay arguments ask for. */
function pageWindow(args: PageArgs, total: number | undefined, decode: (c: string) => CursorPayload): { offset: number; limit: number; cursorSet?: string } {
  for (const [name, value] of [['first', args.first], ['last', args.last]] as const) {
    if (value !== null && value !== undefined && (value < 0 || value > MAX_PAGE_SIZE)) {
      throw new InputError(`${name} must be between 0 and ${MAX_PAGE_SIZE}`, name);
    }
  }
  if (args.first != null && args.last != null) throw new InputError('pass first or last, not both', 'last');
  if (args.offset != null && (args.after || args.before)) throw new InputError('pass offset or a cursor (after/before), not both', 'offset');
  if (args.offset != null && args.offset < 0) throw new InputError('offset must be between 0 and the size of the result set', 'offset');
  const after = args.after ? decode(args.after) : undefined;
  const before = args.before ? decode(args.before) : undefined;
  if (after && before && after.resultId !== before.resultId) throw new InvalidCursorError('after and before belong to different result sets');
  const cursorSet = after?.resultId ?? before?.resultId;
  let start = after ? after.offset + 1 : (args.offset ?? 0);
  let end = before ? before.offset : (total ?? Number.MAX_SAFE_INTEGER);
  if (end < start) end = start;
  if (args.last != null) {
    if (!before && total === undefined) throw new InputError('last without before needs the result size; use it after a first page', 'last');
    start = Math.max(start, end - args.last);
  } else {
    end = Math.min(end, start + (args.first ?? DEFAULT_PAGE_SIZE));
  }
  return { offset: start, limit: end - start, ...(cursorSet ? { cursorSet } : {}) };
}

/** Does the stored event itself (not the upstream's index of it) hold one of the values for every field? */
export function matchesRestriction(event: SearchEvent, restriction: Record<string, string[]>): boolean {
  const stored: unknown = event?.envelope?.event;
  if (stored === null || typeof stored !== 'object') return false;
  for (const [field, values] of Object.entries(restriction)) {
    const value = Object.hasOwn(stored, field) ? (stored as Record<string, unknown>)[field] : undefined;
    if (value === undefined || value === null) return false;
    const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
    if (text === undefined || !values.includes(text)) return false;
  }
  return true;
}

/** Builds the connection object from one upstream page. */
function toConnection(
  ctx: GraphQLContext,
  page: { events: SearchEvent[]; count: number; root?: PublishedRoot; unpublished_root?: UnpublishedRoot },
  resultId: string,
  expiresAt: string | null,
  offset: number,
  limit: number,
  scope: string,
  restriction: Record<string, string[]> | undefined,
): ConnectionShape {
  if (page.root) ctx.upstream.roots.set(page.root);
  // An upstream that ignores the restriction the gateway forced (or whose index was edited) must
  // not hand one tenant another's events: each is checked on its envelope, dropped and reported.
  const kept: Array<{ event: SearchEvent; position: number }> = [];
  let foreign = 0;
  page.events.forEach((event, position) => {
    if (!restriction || matchesRestriction(event, restriction)) kept.push({ event, position });
    else foreign++;
  });
  if (foreign > 0) {
    ctx.integrity?.reportTampering(`the audit service returned ${foreign} event(s) outside the restriction ${JSON.stringify(restriction)} in result set ${resultId}`);
  }
  const verifier = new PageVerifier(
    kept.map((k) => k.event),
    page.root,
    page.unpublished_root,
    ctx,
  );
  // A page shorter than the result set says it should be: events the set lists are gone from the
  // upstream's storage. Which positions are gone is unknown, so the page starts and ends at its
  // window's edges, not at its first and last events: paging on by endCursor (or back by
  // startCursor) neither repeats nor loops. Dropped foreign events are not missing ones.
  const expected = Math.max(0, Math.min(limit, page.count - offset));
  const missingEvents = Math.max(0, expected - page.events.length);
  const end = offset + Math.max(expected, page.events.length);
  // Every cursor of the page, edges and page edges alike, comes from the window offset..end-1.
  const cursorAt = end > offset ? ctx.cursors.window({ resultId, scope, start: offset, count: end - offset }) : undefined;
  const edges = kept.map(({ event, position }, index) => ({
    cursor: cursorAt!(offset + position),
    node: { event, page: verifier, index },
  }));
  if (missingEvents > 0) {
    ctx.integrity?.reportTampering(`${missingEvents} event(s) that result set ${resultId} lists at offsets ${offset}..${end - 1} are gone from the audit service's storage`);
  }
  const atEdges = missingEvents > 0 || foreign > 0;
  return {
    edges,
    pageInfo: {
      hasPreviousPage: offset > 0,
      hasNextPage: end < page.count,
      startCursor: atEdges ? cursorAt!(offset) : (edges[0]?.cursor ?? null),
      endCursor: atEdges ? cursorAt!(end - 1) : (edges.at(-1)?.cursor ?? null),
    },
    totalCount: page.count,
    missingEvents,
    foreignEvents: foreign,
    resultId,
    expiresAt,
    root: page.root ?? null,
    unpublishedRoot: page.unpublished_root ?? null,
  };
}

/** A tenant-bound caller's restriction, merged over what the caller asked for. */
export function effectiveRestriction(ctx: GraphQLContext, asked: Record<string, string[]> | undefined): Record<string, string[]> | undefined {
  const tenant = ctx.caller.tenantId;
  if (tenant === undefined) return asked;
  const askedTenants = asked?.tenant_id;
  if (askedTenants && !askedTenants.every((t) => t === tenant)) throw new ForbiddenError('you may only search your own tenant');
  return { ...asked, tenant_id: [tenant] };
}

/** Reads a page of an existing result set; an expired/unknown set is ResultSetExpiredError. */
async function resultsPage(ctx: GraphQLContext, resultId: string, offset: number, limit: number, assert?: Record<string, string[]>, returnContext?: boolean | null): Promise<ResultsResult> {
  if (limit === 0) {
    // Relay allows first: 0; ask for one event to learn the count, and show none.
    const probe = await resultsPage(ctx, resultId, 0, 1, assert);
    return { ...probe, events: [] };
  }
  try {
    return (
      await upstream(() =>
        ctx.client.results(
          { id: resultId, offset, limit, ...(assert ? { assert_search_restriction: assert } : {}), ...(returnContext != null ? { return_context: returnContext } : {}) },
          { signal: ctx.signal },
        ),
      )
    ).result;
  } catch (err) {
    if (err instanceof NotFoundError) throw new ResultSetExpiredError(resultId);
    // The set was not made with the caller's tenant restriction: someone else's results.
    if (err instanceof ValidationError && ctx.caller.tenantId !== undefined && err.errors.some((e) => e.source === '/assert_search_restriction')) {
      throw new ForbiddenError('that result set was not made for your tenant');
    }
    if (err instanceof BadOffsetError && offset > 0) {
      // Paging just past the end (after the last cursor) is an empty page, not an error.
      const probe = await resultsPage(ctx, resultId, 0, 1, assert);
      if (offset >= probe.count) return { ...probe, events: [] };
    }
    throw err;
  }
}

/** The page of a result set that Relay arguments select. */
async function pageFromSet(
  ctx: GraphQLContext,
  resultId: string,
  args: PageArgs & { returnContext?: boolean | null },
  decode: (c: string) => CursorPayload,
  assert: Record<string, string[]> | undefined,
  scope: string,
  expiresAt: string | null,
  knownTotal?: number,
): Promise<ConnectionShape> {
  let total = knownTotal;
  if (total === undefined && args.last != null && !args.before) total = (await resultsPage(ctx, resultId, 0, 1, assert)).count;
  const window = pageWindow(args, total, decode);
  const page = await resultsPage(ctx, resultId, window.offset, window.limit, assert, args.returnContext);
  return toConnection(ctx, { ...page, events: page.events.slice(0, window.limit) }, resultId, expiresAt, window.offset, window.limit, scope, assert);
}

const SearchRestrictionInput = builder.inputType('SearchRestrictionInput', {
  description: 'Only events whose field equals one of the values are visible.',
  fields: (t) => ({
    field: t.string({ required: true, description: 'A schema field, e.g. tenant_id.' }),
    values: t.stringList({ required: true, description: 'Accepted values (exact match).' }),
  }),
});

type RestrictionInput = ReadonlyArray<{ field: string; values: readonly string[] }> | null | undefined;

function restrictionFromInput(input: RestrictionInput): Record<string, string[]> | undefined {
  if (!input || input.length === 0) return undefined;
  // A Map, not an object: a field named "__proto__" or "constructor" must be a key like any other
  // (the upstream rejects unknown fields with a typed error), not Object.prototype's member.
  const out = new Map<string, string[]>();
  for (const { field, values } of input) {
    const list = out.get(field) ?? [];
    // One at a time: spreading a long list into push() overflows the call stack, and copying the
    // merged list for every entry is quadratic in the entries naming one field.
    for (const value of values) list.push(value);
    out.set(field, list);
  }
  return Object.fromEntries(out);
}

/**
 * The restriction argument `argument` asks for, as the gateway sends it (effectiveRestriction: a
 * tenant-bound caller's tenant forced in). More values than the audit service takes are an
 * InputError here rather than its ValidationError after a round trip.
 */
function restrictionArgument(ctx: GraphQLContext, input: RestrictionInput, argument: 'searchRestriction' | 'assertSearchRestriction'): Record<string, string[]> | undefined {
  const restriction = effectiveRestriction(ctx, restrictionFromInput(input));
  checkRestrictionSize(ctx, restriction, argument);
  return restriction;
}

/**
 * The restriction as sent (the caller's tenant included) within MAX_SEARCH_RESTRICTION_VALUES,
 * the service's own bound, or an InputError on `argument` before any upstream call.
 */
export function checkRestrictionSize(ctx: GraphQLContext, restriction: Record<string, string[]> | undefined, argument: string): void {
  let total = 0;
  for (const values of Object.values(restriction ?? {})) total += values.length;
  if (total > MAX_SEARCH_RESTRICTION_VALUES) {
    const tenant = ctx.caller.tenantId === undefined ? '' : ', your tenant included';
    throw new InputError(`${argument} lists ${total} values${tenant}; at most ${MAX_SEARCH_RESTRICTION_VALUES} are allowed over all its fields`, argument);
  }
}

/** The arguments of search and auditEvents (besides first/after/last/before). */
const SEARCH_ARGS = builder.args((t) => ({
  query: t.string({ required: true, description: 'Search terms: field:value (contains), bare values, quotes, -negation, AND/OR, parentheses, field>n.' }),
  start: t.string({ description: 'Earliest received_at: RFC 3339 or relative (7d, 120min).' }),
  end: t.string({ description: 'Latest received_at: RFC 3339 or relative.' }),
  order: t.field({ type: OrderEnum, description: 'Sort direction (default newest first).' }),
  orderBy: t.string({ description: 'Sort field: received_at (default) or a schema field.' }),
  maxResults: t.int({ description: 'Cap on the result set size (1..10000).' }),
  searchRestriction: t.field({ type: [SearchRestrictionInput], description: 'Exact-match restrictions, e.g. [{field: "tenant_id", values: ["t1"]}].' }),
  returnContext: t.boolean({ description: 'Ask for format-preserving-encryption context.' }),
}));

interface SearchArgs extends PageArgs {
  query: string;
  start?: string | null;
  end?: string | null;
  order?: 'asc' | 'desc' | null;
  orderBy?: string | null;
  maxResults?: number | null;
  searchRestriction?: RestrictionInput;
  returnContext?: boolean | null;
}

/** A page of a new search, or of the result set the cursor came from. */
async function searchConnection(args: SearchArgs, ctx: GraphQLContext): Promise<ConnectionShape> {
  const restriction = restrictionArgument(ctx, args.searchRestriction, 'searchRestriction');
  const request: SearchRequest = {
    query: args.query,
    verbose: true,
    ...(args.start ? { start: args.start } : {}),
    ...(args.end ? { end: args.end } : {}),
    ...(args.order ? { order: args.order } : {}),
    ...(args.orderBy ? { order_by: args.orderBy } : {}),
    ...(args.maxResults != null ? { max_results: args.maxResults } : {}),
    ...(restriction ? { search_restriction: restriction } : {}),
    ...(args.returnContext != null ? { return_context: args.returnContext } : {}),
  };
  // The cursor scope ties a cursor to this search (its arguments and the caller's tenant).
  const scope = 'search:' + digestOf('sha256', JSON.stringify(request), 'base64url').slice(0, 16);
  const decode = (c: string): CursorPayload => {
    const payload = ctx.cursors.decode(c);
    if (payload.scope !== scope) throw new InvalidCursorError('cursor belongs to another search; pass the same arguments as the search that issued it');
    return payload;
  };
  if (args.after || args.before) {
    // Continue the result set the cursor came from instead of searching again.
    const resultId = decode((args.after ?? args.before)!).resultId;
    return (await pageFromSet(ctx, resultId, args, decode, restriction, scope, null));
  }
  pageWindow(args, 0, decode); // checks first/last before calling upstream
  const wantsFirstPage = args.last == null && args.first !== 0;
  const limit = wantsFirstPage ? (args.first ?? DEFAULT_PAGE_SIZE) : 1;
  const found = (await upstream(() => ctx.client.search({ ...request, limit }, { signal: ctx.signal }))).result;
  if (wantsFirstPage) return toConnection(ctx, found, found.id, found.expires_at, 0, limit, scope, restriction);
  return (await pageFromSet(ctx, found.id, args, decode, restriction, scope, found.expires_at, found.count));
}

/**
 * Every event the caller may see that the audit service received at exactly `receivedAt` (an
 * inclusive [t, t] search, the narrowest range the API takes), each verified and restricted as
 * any search page is: what Query.node looks an event up by. Usually one page; several events may
 * share the instant, so it pages on until the result set ends. Failures are auditEvents' GraphQL
 * errors.
 */
export async function eventsReceivedAt(ctx: GraphQLContext, receivedAt: string): Promise<AuditEventNode[]> {
  return eventsBetween(ctx, { query: '', start: receivedAt, end: receivedAt });
}

/**
 * Every event matching `query` and `restriction` (on top of the caller's forced one) received in
 * [start, end], inclusive, oldest first, each verified and restricted as any search page is (the
 * live tail re-checks its pending events with one such search).
 */
export async function eventsBetween(ctx: GraphQLContext, range: { query: string; start: string; end: string; restriction?: Record<string, string[]> }): Promise<AuditEventNode[]> {
  const searchRestriction = range.restriction ? Object.entries(range.restriction).map(([field, values]) => ({ field, values })) : null;
  const args: SearchArgs = { query: range.query, start: range.start, end: range.end, order: 'asc', first: MAX_PAGE_SIZE, searchRestriction };
  const nodes: AuditEventNode[] = [];
  try {
    for (let after: string | null = null; ; ) {
      const page = await searchConnection(after === null ? args : { ...args, after }, ctx);
      nodes.push(...page.edges.map((edge) => edge.node));
      if (!page.pageInfo.hasNextPage || page.pageInfo.endCursor === null) return nodes;
      after = page.pageInfo.endCursor;
    }
  } catch (err) {
    throw err instanceof Error ? pagingFailure(err) : err;
  }
}

builder.queryFields((t) => ({
  search: t.connection(
    {
      type: AuditEventRef,
      description: 'Searches the audit log. Each event carries the gateway’s own verification of its hash, proofs and signature.',
      complexity: connectionComplexity,
      authScopes: { 'audit:search': true },
      errors: { types: [...PAGING_ERRORS] },
      nullable: true,
      args: SEARCH_ARGS,
      resolve: (_root, args, ctx) => searchConnection(args, ctx),
    },
    AuditEventConnectionRef,
  ),
  results: t.connection(
    {
      type: AuditEventRef,
      description: 'Pages through a result set made by search (by its resultId).',
      complexity: connectionComplexity,
      authScopes: { 'audit:search': true },
      errors: { types: [...PAGING_ERRORS] },
      nullable: true,
      args: {
        resultId: t.arg.id({ required: true, description: 'The resultId of a search.' }),
        assertSearchRestriction: t.arg({ type: [SearchRestrictionInput], description: 'Fail unless the result set was made with this restriction.' }),
        returnContext: t.arg.boolean({ description: 'Ask for format-preserving-encryption context.' }),
        offset: t.arg.int({
          description:
            'Start the page at this position of the result set (0..totalCount; totalCount gives an empty page) instead of at a cursor: not with after or before. The cursors of the page continue from there.',
        }),
      },
      resolve: async (_root, args, ctx) => {
        const resultId = String(args.resultId);
        const scope = `results:${resultId}`;
        const assert = restrictionArgument(ctx, args.assertSearchRestriction, 'assertSearchRestriction');
        const decode = (c: string): CursorPayload => {
          const payload = ctx.cursors.decode(c);
          if (payload.resultId !== resultId) throw new InvalidCursorError('cursor belongs to another result set');
          return { ...payload, scope };
        };
        const connection = await pageFromSet(ctx, resultId, args, decode, assert, scope, null);
        if (args.offset != null && args.offset > connection.totalCount) {
          throw new InputError(`offset must be between 0 and the size of the result set (${connection.totalCount})`, 'offset');
        }
        return connection;
      },
    },
    AuditEventConnectionRef,
  ),
  auditEvents: t.connection(
    {
      type: AuditEventRef,
      nullable: true,
      description:
        'search for Relay: the same arguments, result set and verified events, but the type is the connection itself (what @connection needs). A failure is null plus a GraphQL error whose extensions.code names it (INPUT, INVALID_CURSOR, RESULT_SET_EXPIRED, UPSTREAM_VALIDATION, FORBIDDEN, …: the error type search would return, without its Error suffix). A further page (after or before given) that fails is instead a page that keeps the client where it was, when the selection holds the cursor it pages on (pageInfo.endCursor for after, startCursor for before; Relay always asks for it): no edges, hasNextPage and hasPreviousPage true, that cursor null with the error, and nothing known of the set (totalCount, missingEvents and foreignEvents 0, expiresAt, root and unpublishedRoot null, resultId the cursor\'s set or empty). Relay then keeps the pages it loaded instead of dropping the connection.',
      complexity: connectionComplexity,
      authScopes: { 'audit:search': true },
      args: SEARCH_ARGS,
      resolve: async (_root, args, ctx, info) => {
        try {
          return await searchConnection(args, ctx);
        } catch (err) {
          const failure = err instanceof Error ? pagingFailure(err) : err;
          const held = failure instanceof Error ? heldPage(args, ctx, info, failure) : undefined;
          if (held) return held;
          throw failure;
        }
      },
    },
    AuditEventConnectionRef,
  ),
}));

/**
 * A failure search returns as a typed error, as the GraphQL error auditEvents gives instead:
 * its code is the error type's name without "Error" in SCREAMING_SNAKE_CASE. Anything else stays
 * as it is (yoga masks it as unexpected).
 */
export function pagingFailure(err: Error): Error {
  const cls = [...PAGING_ERRORS, AuditApiError].find((c) => err instanceof c);
  if (!cls) return err;
  const typeName = builder.configStore.getTypeConfig(cls).name;
  const code = typeName.replace(/Error$/, '').replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
  const summary = (err as Partial<{ summary: unknown }>).summary;
  return new GraphQLError(typeof summary === 'string' ? summary : err.message, { extensions: { code } });
}

/**
 * The answer for a further page of auditEvents that failed: an empty page whose pageInfo leaves a
 * client where it was, the error on the cursor it pages on. Relay's ConnectionHandler writes a
 * null connection over every page it holds, but merges an empty page (its edges stay, and a null
 * cursor leaves its own in place). Undefined for a first page, or when that cursor is not
 * selected: the error would reach no one, so the field fails as a whole.
 */
function heldPage(args: PageArgs, ctx: GraphQLContext, info: GraphQLResolveInfo, failure: Error): ConnectionShape | undefined {
  const carriers = [...(args.after ? ['endCursor'] : []), ...(args.before ? ['startCursor'] : [])];
  if (carriers.length === 0 || !selectsPageInfoField(info, carriers)) return undefined;
  let resultId = '';
  try {
    resultId = ctx.cursors.decode((args.after ?? args.before)!).resultId;
  } catch {
    // An unreadable cursor (INVALID_CURSOR) names no set.
  }
  // graphql-js and graphql-jit both answer a field whose value is an Error with that error (and null).
  const pageInfo = {
    hasNextPage: true,
    hasPreviousPage: true,
    startCursor: args.before ? failure : null,
    endCursor: args.after ? failure : null,
  } as unknown as ConnectionShape['pageInfo'];
  return { edges: [], pageInfo, totalCount: 0, missingEvents: 0, foreignEvents: 0, resultId, expiresAt: null, root: null, unpublishedRoot: null };
}

/** Does the selection of this field ask for pageInfo { <one of names> }, under any alias, fragment or @include that applies? */
function selectsPageInfoField(info: GraphQLResolveInfo, names: readonly string[]): boolean {
  const included = (node: SelectionNode): boolean =>
    getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.['if'] !== true &&
    getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.['if'] !== false;
  // The connection and PageInfo are object types that implement nothing: every fragment that
  // validates on them applies.
  const fields = (sets: readonly SelectionSetNode[], wanted: readonly string[]): FieldNode[] => {
    const found: FieldNode[] = [];
    const visited = new Set<string>();
    const visit = (set: SelectionSetNode): void => {
      for (const selection of set.selections) {
        if (!included(selection)) continue;
        if (selection.kind === Kind.FIELD) {
          if (wanted.includes(selection.name.value)) found.push(selection);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          visit(selection.selectionSet);
        } else if (!visited.has(selection.name.value)) {
          visited.add(selection.name.value);
          const fragment = info.fragments[selection.name.value];
          if (fragment) visit(fragment.selectionSet);
        }
      }
    };
    sets.forEach(visit);
    return found;
  };
  const selectionSets = (nodes: readonly FieldNode[]): SelectionSetNode[] => nodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  return fields(selectionSets(fields(selectionSets(info.fieldNodes), ['pageInfo'])), names).length > 0;
}
