// Apollo Client 4 cache configuration for the gateway: its paged fields, and its events' verification.
//
// `search` and `results` return a union: AuditEventConnection or one of the typed errors
// (`QuerySearchResult = AuditEventConnection | InvalidCursorError | ...`). Apollo's
// relayStylePagination merges connection pages of a union field correctly (the __typename and
// extra fields such as totalCount and resultId are kept), but it does not know about the error
// members: when a further page (fetchMore with `after`) comes back as an error, its merge
// copies the error's __typename over the connection, so the cached field reads as the error and
// every page already shown disappears (test/frontend/apollo.test.ts shows both behaviours).
// unionRelayStylePagination below keeps the loaded pages in that case; the error is still
// returned to the caller by fetchMore.
import type { FieldFunctionOptions, FieldPolicy, PossibleTypesMap, TypePolicies } from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';
import { isAbstractType, type GraphQLSchema } from 'graphql';

/** The arguments that select a result set; first/after/last/before only select a page of it. */
export const SEARCH_KEY_ARGS = ['query', 'start', 'end', 'order', 'orderBy', 'maxResults', 'searchRestriction', 'returnContext'];
export const RESULTS_KEY_ARGS = ['resultId', 'assertSearchRestriction', 'returnContext'];

type Stored = { __typename?: string } & Record<string, unknown>;

/**
 * relayStylePagination for a field whose type is a union of a connection type and error types.
 * Connection pages merge as relayStylePagination merges them; an error for a further page
 * (after/before) leaves the loaded pages alone; an error for a first page replaces the field.
 */
export function unionRelayStylePagination(connectionTypename: string, keyArgs: string[]): FieldPolicy<Stored | null> {
  const relay = relayStylePagination(keyArgs);
  const relayRead = relay.read as unknown as (existing: Stored, options: FieldFunctionOptions) => Stored | undefined;
  const relayMerge = relay.merge as unknown as (existing: Stored | undefined, incoming: Stored, options: FieldFunctionOptions) => Stored;
  const isConnection = (value: Stored | null | undefined): value is Stored => value?.__typename === connectionTypename;
  return {
    keyArgs,
    read(existing, options) {
      if (!existing) return existing;
      // An error result is stored as it came; only connections go through the relay read.
      return isConnection(existing) ? relayRead(existing, options) : existing;
    },
    merge(existing, incoming, options) {
      if (!incoming) return existing ?? null;
      if (isConnection(incoming)) return relayMerge(isConnection(existing) ? existing : undefined, incoming, options);
      const pageOfLoadedSet = Boolean(options.args?.after || options.args?.before);
      return pageOfLoadedSet && isConnection(existing) ? existing : incoming;
    },
  };
}

/** Type policies for the gateway's Query fields, and for an event's verification. */
export function auditTypePolicies(): TypePolicies {
  return {
    Query: {
      fields: {
        search: unionRelayStylePagination('AuditEventConnection', SEARCH_KEY_ARGS),
        results: unionRelayStylePagination('AuditEventConnection', RESULTS_KEY_ARGS),
      },
    },
    // An event's verification has no id of its own: without this, a query that selects some of
    // its fields (a refetch of the verdict) replaces the object another query wrote with more of
    // them, and that query no longer reads from the cache. It belongs to its event, so the fields
    // each query brings are merged.
    EventVerification: { merge: true },
  };
}

/**
 * Which object types belong to each union and interface, for Apollo's fragment matching
 * (`... on Error` needs it). Derived from the schema; a browser build would generate the same
 * map at build time (e.g. with @graphql-codegen/fragment-matcher).
 */
export function possibleTypesOf(schema: GraphQLSchema): PossibleTypesMap {
  const map: PossibleTypesMap = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (isAbstractType(type) && !type.name.startsWith('__')) map[type.name] = schema.getPossibleTypes(type).map((t) => t.name);
  }
  return map;
}
