// Persisted operations. By default, Automatic Persisted Queries as Apollo's PersistedQueryLink
// sends them: a hash alone runs the document registered under it, an unknown hash is answered
// PersistedQueryNotFound and the client sends the document with its hash. With a file of trusted
// documents (PERSISTED_OPERATIONS_FILE, what codegen's client preset emits), only those run.
// Both only swap the request's document for a stored one: authentication comes before (it runs on
// the request, onRequestParse) and the depth, token, alias and cost limits after (on parse and
// validation of the stored document), exactly as for a document sent in full.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInMemoryAPQStore, useAPQ, type APQStore } from '@graphql-yoga/plugin-apq';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { Lexer, Source, TokenKind } from 'graphql';
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import { ConfigError, type GatewayConfig } from '../config.js';
import { POLL_DOCUMENT_ID, POLL_QUERY } from './download-route.js';
import { LIMITS } from './protections.js';

/** The longest document the APQ store keeps: real operations are a few KiB. */
export const MAX_PERSISTED_QUERY_CHARS = 16 * 1024;

/** How long an unused registered document stays (it is registered again on its next use). */
const APQ_TTL_MS = 24 * 60 * 60 * 1000;

export type PersistedOperationsMode = { kind: 'automatic'; maxEntries: number } | { kind: 'trusted'; documents: ReadonlyMap<string, string> };

/** The mode a configuration asks for; a trusted-documents file is read (and checked) here. */
export function persistedOperationsMode(config: Pick<GatewayConfig, 'apqMaxEntries' | 'persistedOperationsFile'>): PersistedOperationsMode {
  if (config.persistedOperationsFile) {
    // The gateway's own poll link (AcceptedRequest.location) must run whatever the file holds.
    const documents = loadPersistedOperations(config.persistedOperationsFile);
    documents.set(POLL_DOCUMENT_ID, POLL_QUERY);
    return { kind: 'trusted', documents };
  }
  return { kind: 'automatic', maxEntries: config.apqMaxEntries ?? 1000 };
}

export function persistedOperationPlugins(mode: PersistedOperationsMode): Plugin[] {
  if (mode.kind === 'automatic') return mode.maxEntries > 0 ? [onlyWithPersistedQuery(useAPQ({ store: boundedAPQStore(mode.maxEntries) }))] : [];
  return [trustedDocumentsOnly(mode.documents)];
}

/**
 * The APQ plugin's params hook is an async function: called on every request, it would answer each
 * with a promise, and yoga would run the rest of every request's pipeline as promise
 * continuations. It does nothing without a `persistedQuery` extension, so only requests that carry
 * one call it.
 */
function onlyWithPersistedQuery(plugin: Plugin): Plugin {
  const onParams = plugin.onParams;
  if (!onParams) return plugin;
  return { ...plugin, onParams: (payload) => (payload.params.extensions?.persistedQuery == null ? undefined : onParams(payload)) };
}

/**
 * An LRU of at most `maxEntries` documents. A document over the token limit could never run, and
 * one over MAX_PERSISTED_QUERY_CHARS would make the store's memory depend on what callers send:
 * neither is kept (each is still parsed, validated and refused or run like any document).
 */
export function boundedAPQStore(maxEntries: number): APQStore {
  const store = createInMemoryAPQStore({ max: maxEntries, ttl: APQ_TTL_MS });
  return {
    get: (hash) => store.get(hash),
    set: async (hash, query) => {
      if (query.length <= MAX_PERSISTED_QUERY_CHARS && withinTokenLimit(query)) await store.set(hash, query);
    },
  };
}

/** Counts tokens as graphql-armor's limit does (lexer tokens), stopping at the limit or a syntax error. */
function withinTokenLimit(query: string): boolean {
  const lexer = new Lexer(new Source(query));
  try {
    for (let tokens = 0; lexer.advance().kind !== TokenKind.EOF; tokens++) if (tokens >= LIMITS.tokens) return false;
  } catch {
    return false;
  }
  return true;
}

function trustedDocumentsOnly(documents: ReadonlyMap<string, string>): Plugin {
  return usePersistedOperations({
    allowArbitraryOperations: false,
    extractPersistedOperationId: operationId,
    // Codegen writes "sha256:<hex>"; Apollo's PersistedQueryLink sends the bare hex.
    getPersistedOperation: (id) => documents.get(id) ?? documents.get(`sha256:${id}`) ?? null,
    customErrors: {
      persistedQueryOnly: { message: 'only persisted operations are accepted: send documentId (or extensions.persistedQuery.sha256Hash) instead of the query text', extensions: { http: { status: 400 }, code: 'PERSISTED_QUERY_ONLY' } },
      keyNotFound: { message: 'only persisted operations are accepted: the request names none (documentId or extensions.persistedQuery.sha256Hash)', extensions: { http: { status: 400 }, code: 'PERSISTED_QUERY_ID_REQUIRED' } },
      // Apollo's link knows this message: it then sends the query text, refused above.
      notFound: { message: 'PersistedQueryNotFound', extensions: { http: { status: 404 }, code: 'PERSISTED_QUERY_NOT_IN_LIST' } },
    },
  });
}

/**
 * The id as the GraphQL-over-HTTP persisted documents proposal sends it (`documentId`, in the JSON
 * body or the URL: yoga's GET parser keeps only the standard parameters), or as Apollo's link does.
 */
function operationId(params: GraphQLParams, request: Request): string | null {
  const documentId = (params as { documentId?: unknown }).documentId ?? new URL(request.url).searchParams.get('documentId');
  if (typeof documentId === 'string' && documentId !== '') return documentId;
  const persisted = (params.extensions as { persistedQuery?: { version?: unknown; sha256Hash?: unknown } } | undefined)?.persistedQuery;
  return persisted?.version === 1 && typeof persisted.sha256Hash === 'string' ? persisted.sha256Hash : null;
}

/**
 * Reads a JSON map {id: document} (graphql-codegen's persisted-documents.json). Ids of the form
 * "sha256:<hex>" must be the document's hash: a mismatch means the file was edited by hand.
 */
export function loadPersistedOperations(file: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`PERSISTED_OPERATIONS_FILE: cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`PERSISTED_OPERATIONS_FILE: ${file} must hold a JSON object {"<hash>": "<document>", …}`);
  const documents = new Map<string, string>();
  for (const [id, document] of Object.entries(parsed)) {
    if (typeof document !== 'string') throw new ConfigError(`PERSISTED_OPERATIONS_FILE: the document of "${id}" is not a string`);
    const hash = /^sha256:([0-9a-f]{64})$/.exec(id)?.[1];
    if (hash && hash !== createHash('sha256').update(document).digest('hex')) throw new ConfigError(`PERSISTED_OPERATIONS_FILE: "${id}" is not the sha256 of its document`);
    documents.set(id, document);
  }
  if (documents.size === 0) throw new ConfigError(`PERSISTED_OPERATIONS_FILE: ${file} holds no operations`);
  return documents;
}
