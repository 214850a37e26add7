// A small typed frontend client for the gateway: plain fetch, no GraphQL client library. The
// documents are the typed documents codegen made from examples/operations/*.graphql, so
// variables and results are checked by the compiler and union results (`... on Error`) narrow on
// __typename.
//
// Run it against a running gateway (npm start):
//   npx tsx examples/frontend-client.ts [http://127.0.0.1:4000/graphql]
import { pathToFileURL } from 'node:url';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type DocumentNode } from 'graphql';
import {
  LogEventDocument,
  ResultsPageDocument,
  RootDocument,
  SearchEventsDocument,
  type AuditEventFieldsFragment,
  type AuditEventInput,
  type AuditEventPageFragment,
  type LogEventMutation,
  type RootQuery,
  type SearchEventsQueryVariables,
} from './generated/graphql.js';

/** The request failed as a whole: HTTP status or GraphQL `errors` (a bad document, masked bug). */
export class GraphQLRequestError extends Error {
  override name = 'GraphQLRequestError';
  constructor(
    message: string,
    readonly status: number,
    readonly errors: ReadonlyArray<{ message: string }> = [],
  ) {
    super(message);
  }
}

/** The gateway answered with one of a field's typed errors (e.g. InvalidCursorError). */
export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    readonly typename: string,
    message: string,
  ) {
    super(`${typename}: ${message}`);
  }
}

export type Execute = <TResult, TVariables>(document: TypedDocumentNode<TResult, TVariables>, variables: TVariables) => Promise<TResult>;

export interface ExecutorOptions {
  /** Extra request headers (e.g. authorization once the gateway asks for it). */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** An executor that POSTs typed documents as GraphQL over HTTP JSON. */
export function createExecutor(url: string, options: ExecutorOptions = {}): Execute {
  const doFetch = options.fetch ?? fetch;
  const printed = new WeakMap<DocumentNode, string>();
  return async <TResult, TVariables>(document: TypedDocumentNode<TResult, TVariables>, variables: TVariables): Promise<TResult> => {
    let query = printed.get(document);
    if (query === undefined) {
      query = print(document);
      printed.set(document, query);
    }
    const response = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...options.headers },
      body: JSON.stringify({ query, variables }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const text = await response.text();
    let body: { data?: TResult | null; errors?: Array<{ message: string }> };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new GraphQLRequestError(`HTTP ${response.status}: not a GraphQL response: ${text.slice(0, 200)}`, response.status);
    }
    if (body.errors?.length || body.data == null) {
      const errors = body.errors ?? [];
      throw new GraphQLRequestError(errors.map((e) => e.message).join('; ') || `HTTP ${response.status} without data`, response.status, errors);
    }
    return body.data;
  };
}

/**
 * The member of a union result with the wanted __typename, or a GatewayError for any other. Root
 * fields are nullable (a field that failed unexpectedly is null, its error in `errors`, and the
 * other root fields keep their data); `execute` already throws on errors, so null is refused here too.
 */
export function expectType<T extends { __typename: string }, N extends T['__typename']>(value: T | null | undefined, typename: N): Extract<T, { __typename: N }> {
  if (value == null) throw new GatewayError('null', `no ${typename}: the field is null (its error is in the response's errors)`);
  if (value.__typename !== typename) {
    const message = 'message' in value && typeof value.message === 'string' ? value.message : 'unexpected result';
    throw new GatewayError(value.__typename, message);
  }
  return value as Extract<T, { __typename: N }>;
}

export type LoggedEvent = Extract<LogEventMutation['log'], { __typename: 'LogResult' }>;

/** Logs one event and has the gateway verify what was stored (the document's default options). */
export async function logEvent(execute: Execute, event: AuditEventInput): Promise<LoggedEvent> {
  const { log } = await execute(LogEventDocument, { event });
  if (log?.__typename === 'UpstreamValidationError') {
    const fields = log.fieldErrors.map((f) => `${f.path ?? f.source}: ${f.detail}`).join('; ');
    throw new GatewayError(log.__typename, `${log.message} (${fields})`);
  }
  return expectType(log, 'LogResult');
}

export type SearchArgs = Omit<SearchEventsQueryVariables, 'first' | 'after'>;

/**
 * Every event a search matches, page by page: the first page from `search`, the next ones from
 * `results` over the same result set (no new search upstream), each continuing after the
 * previous page's endCursor.
 */
export async function* searchAll(execute: Execute, args: SearchArgs, pageSize = 50): AsyncGenerator<AuditEventFieldsFragment, void, undefined> {
  let page: AuditEventPageFragment = expectType((await execute(SearchEventsDocument, { ...args, first: pageSize })).search, 'AuditEventConnection');
  const resultId = page.resultId;
  for (;;) {
    for (const edge of page.edges) yield edge.node;
    if (!page.pageInfo.hasNextPage || page.pageInfo.endCursor === null) return;
    const next = await execute(ResultsPageDocument, { resultId, first: pageSize, after: page.pageInfo.endCursor });
    page = expectType(next.results, 'AuditEventConnection');
  }
}

export type Root = Extract<RootQuery['root'], { __typename: 'PublishedRoot' }>;

/** The latest published root, or undefined while nothing has been published. */
export async function latestRoot(execute: Execute): Promise<Root | undefined> {
  const { root } = await execute(RootDocument, {});
  if (root?.__typename === 'TreeNotFoundError') return undefined;
  return expectType(root, 'PublishedRoot');
}

/** One line per event: what happened and what the gateway could verify about it. */
export function formatEvent(event: AuditEventFieldsFragment): string {
  const v = event.verification;
  const checks = `hash=${v.hash} membership=${v.membership} consistency=${v.consistency} signature=${v.signature}`;
  const verdict = v.verdict === 'VERIFIED' ? 'verified' : v.verdict === 'PENDING' ? `pending (${v.verdictReason ?? 'not proven yet'})` : `FAILED (${v.failures.join('; ')})`;
  return `${event.receivedAt} ${event.actor ?? '-'} ${event.action ?? '-'}: ${event.message ?? ''} [${checks}] ${verdict}`;
}

async function main(url: string): Promise<void> {
  const execute = createExecutor(url);
  const marker = `frontend-client-${Date.now()}`;
  const logged = await logEvent(execute, { actor: 'frontend-client', action: 'demo', target: marker, message: `hello from ${marker}` });
  console.log(`logged ${logged.hash}: ${JSON.stringify(logged.verification)}`);
  let count = 0;
  for await (const event of searchAll(execute, { query: `target:${marker}` }, 10)) {
    console.log(formatEvent(event));
    count += 1;
  }
  console.log(`${count} event(s) found`);
  const root = await latestRoot(execute);
  console.log(root ? `latest root: size ${root.size} ${root.rootHash} consistency ${root.consistency}` : 'no root published yet');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv[2] ?? process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000/graphql').catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
