// Apollo Client 4 as a real frontend client of a running gateway: it logs events, searches,
// pages with fetchMore through relayStylePagination, and checks the merged pages and every
// event's verification. The documents are the typed documents codegen made from
// examples/operations; the cache configuration is examples/apollo-cache.ts.
import { readFileSync } from 'node:fs';
import { ApolloClient, HttpLink, InMemoryCache, type ObservableQuery, type OperationVariables, type TypePolicies } from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';
import { buildSchema } from 'graphql';
import { auditTypePolicies, possibleTypesOf, SEARCH_KEY_ARGS } from '../../examples/apollo-cache.js';
import {
  LogEventDocument,
  ResultsPageDocument,
  RootDocument,
  SearchEventsDocument,
  type AuditEventFieldsFragment,
  type AuditEventPageFragment,
  type LogOptions,
} from '../../examples/generated/graphql.js';
import { startTestGateway, type TestGateway } from './support.js';

const schema = buildSchema(readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8'));
const possibleTypes = possibleTypesOf(schema);

/** 20 events published, then 5 more that stay unpublished; every third one signed by the gateway. */
const PUBLISHED = 20;
const TOTAL = 25;
const isSigned = (i: number): boolean => i % 3 === 0;

let gw: TestGateway;
/** Hashes in log order (index = leaf index). */
const logged: string[] = [];

function makeClient(typePolicies: TypePolicies = auditTypePolicies()): ApolloClient {
  return new ApolloClient({
    link: new HttpLink({ uri: gw.url, fetch }),
    cache: new InMemoryCache({ possibleTypes, typePolicies }),
  });
}

/** Records an ObservableQuery's complete results and waits for one that satisfies a predicate. */
function watch<TData, TVariables extends OperationVariables>(query: ObservableQuery<TData, TVariables>) {
  const results: TData[] = [];
  let waiter: { predicate: (data: TData) => boolean; resolve: (data: TData) => void } | undefined;
  let failure: unknown;
  const subscription = query.subscribe({
    next: (result) => {
      // Only complete results count (not the loading/partial states Apollo 4 also emits).
      if (result.dataState !== 'complete') return;
      results.push(result.data as TData);
      if (waiter?.predicate(result.data as TData)) waiter.resolve(result.data as TData);
    },
    error: (err: unknown) => {
      failure = err;
    },
  });
  return {
    results,
    until(predicate: (data: TData) => boolean = () => true, timeoutMs = 15000): Promise<TData> {
      if (failure) return Promise.reject(failure);
      const seen = results.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching result in ${timeoutMs} ms; saw ${results.length}`)), timeoutMs);
        waiter = {
          predicate,
          resolve: (data) => {
            clearTimeout(timer);
            waiter = undefined;
            resolve(data);
          },
        };
      });
    },
    stop: () => subscription.unsubscribe(),
  };
}

function connection<T extends { __typename: string }>(value: T | null | undefined): Extract<T, { __typename: 'AuditEventConnection' }> {
  if (value?.__typename !== 'AuditEventConnection') throw new Error(`expected a connection, got ${JSON.stringify(value)}`);
  return value as Extract<T, { __typename: 'AuditEventConnection' }>;
}

const edgeCount = (page: { __typename: string } | null | undefined): number => (page?.__typename === 'AuditEventConnection' ? (page as AuditEventPageFragment).edges.length : -1);

/** What the gateway must have verified about the event logged i-th. */
function expectVerified(event: AuditEventFieldsFragment, i: number): void {
  const published = i < PUBLISHED;
  expect({ hash: event.hash, published: event.published, leafIndex: event.leafIndex, verification: event.verification }).toEqual({
    hash: logged[i],
    published,
    leafIndex: published ? i : null,
    verification: {
      __typename: 'EventVerification',
      hash: 'PASS',
      membership: 'PASS',
      // Published: the roots of sizes i and i+1 are consistent. Unpublished: nothing to check yet.
      consistency: published ? 'PASS' : 'NONE',
      signature: isSigned(i) ? 'PASS' : 'NONE',
      witness: 'NONE',
      // Proven when published; unpublished events cannot be yet.
      verdict: published ? 'VERIFIED' : 'PENDING',
      verdictReason: published ? null : expect.stringMatching(/^consistency: .*not published/),
      failures: [],
      verified: published,
    },
  });
}

beforeAll(async () => {
  gw = await startTestGateway('frontend-apollo-');
  const client = makeClient();
  for (let i = 0; i < TOTAL; i++) {
    if (i === PUBLISHED) gw.local.publishNow();
    const options: LogOptions = isSigned(i) ? { verify: true, signLocal: true } : { verify: true };
    const { data } = await client.mutate({
      mutation: LogEventDocument,
      variables: { event: { actor: 'apollo', action: `step-${i}`, target: `item-${i % 4}`, message: `apollo event ${i}` }, options },
    });
    const log = data?.log;
    if (log?.__typename !== 'LogResult') throw new Error(`log ${i} failed: ${JSON.stringify(log)}`);
    // The gateway checks each log against the root it verified on the previous log.
    expect(log.verification).toEqual({
      __typename: 'LogVerification',
      hash: 'PASS',
      membership: 'PASS',
      consistency: i === 0 ? 'NONE' : 'PASS',
      signature: isSigned(i) ? 'PASS' : 'NONE',
      failures: [],
    });
    logged.push(log.hash);
  }
  await client.clearStore();
  client.stop();
});

afterAll(async () => {
  await gw?.close();
});

test('search pages merge through relayStylePagination into the whole result set, every event verified', async () => {
  const client = makeClient();
  const query = client.watchQuery({ query: SearchEventsDocument, variables: { query: 'actor:apollo', first: 10 } });
  const watcher = watch(query);
  try {
    const first = connection((await watcher.until()).search);
    expect(first.edges).toHaveLength(10);
    expect(first.totalCount).toBe(TOTAL);
    expect(first.root).toMatchObject({ size: PUBLISHED, consistency: 'PASS' });
    expect(first.unpublishedRoot).toMatchObject({ size: TOTAL });

    const fetchedPages: number[] = [first.edges.length];
    let current = first;
    while (current.pageInfo.hasNextPage) {
      const before = current.edges.length;
      const more = await query.fetchMore({ variables: { after: current.pageInfo.endCursor } });
      fetchedPages.push(connection(more.data?.search).edges.length);
      current = connection((await watcher.until((d) => edgeCount(d.search) > before)).search);
    }
    expect(fetchedPages).toEqual([10, 10, 5]);

    // The watched query now shows one connection holding every page, newest first.
    expect(current.edges.map((e) => e.node.hash)).toEqual([...logged].reverse());
    expect(new Set(current.edges.map((e) => e.cursor)).size).toBe(TOTAL);
    expect(current.totalCount).toBe(TOTAL);
    expect(current.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false, startCursor: first.pageInfo.startCursor });
    current.edges.forEach((edge) => expectVerified(edge.node, logged.indexOf(edge.node.hash ?? "")));
    expect(current.edges.map((e) => e.node.message)).toEqual(logged.map((_, i) => `apollo event ${i}`).reverse());

    // The cache holds the same merged connection for the search arguments (first/after are not key args).
    const cached = client.readQuery({ query: SearchEventsDocument, variables: { query: 'actor:apollo', first: 10 } });
    expect(edgeCount(cached?.search)).toBe(TOTAL);
  } finally {
    watcher.stop();
    client.stop();
  }
});

test('results pages of a search result set merge the same way', async () => {
  const client = makeClient();
  const search = await client.query({ query: SearchEventsDocument, variables: { query: 'actor:apollo', first: 1, order: 'ASC' } });
  const resultId = connection(search.data?.search).resultId;
  const query = client.watchQuery({ query: ResultsPageDocument, variables: { resultId, first: 7 } });
  const watcher = watch(query);
  try {
    let current = connection((await watcher.until()).results);
    const sizes = [current.edges.length];
    while (current.pageInfo.hasNextPage) {
      const before = current.edges.length;
      const more = await query.fetchMore({ variables: { after: current.pageInfo.endCursor } });
      sizes.push(connection(more.data?.results).edges.length);
      current = connection((await watcher.until((d) => edgeCount(d.results) > before)).results);
    }
    expect(sizes).toEqual([7, 7, 7, 4]);
    expect(current.edges.map((e) => e.node.hash)).toEqual(logged);
    current.edges.forEach((edge, i) => expectVerified(edge.node, i));
  } finally {
    watcher.stop();
    client.stop();
  }
});

test('an error page: plain relayStylePagination replaces the loaded pages with it, the union-aware policy keeps them', async () => {
  const variables = { query: 'actor:apollo', first: 10 };

  // Plain relayStylePagination on the union field: the error's __typename overwrites the connection.
  const plain = makeClient({ Query: { fields: { search: relayStylePagination(SEARCH_KEY_ARGS) } } });
  const plainQuery = plain.watchQuery({ query: SearchEventsDocument, variables });
  const plainWatcher = watch(plainQuery);
  try {
    await plainWatcher.until((d) => edgeCount(d.search) === 10);
    const bad = await plainQuery.fetchMore({ variables: { after: 'not-a-cursor' } });
    expect(bad.data?.search).toMatchObject({ __typename: 'InvalidCursorError' });
    const after = plain.readQuery({ query: SearchEventsDocument, variables });
    expect(after?.search?.__typename).toBe('InvalidCursorError');
  } finally {
    plainWatcher.stop();
    plain.stop();
  }

  // examples/apollo-cache.ts: the error is fetchMore's answer; the pages stay and paging goes on.
  const client = makeClient();
  const query = client.watchQuery({ query: SearchEventsDocument, variables });
  const watcher = watch(query);
  try {
    const first = connection((await watcher.until((d) => edgeCount(d.search) === 10)).search);
    const bad = await query.fetchMore({ variables: { after: 'not-a-cursor' } });
    expect(bad.data?.search).toMatchObject({ __typename: 'InvalidCursorError', message: expect.any(String) });
    expect(edgeCount(client.readQuery({ query: SearchEventsDocument, variables })?.search)).toBe(10);
    await query.fetchMore({ variables: { after: first.pageInfo.endCursor } });
    const merged = connection((await watcher.until((d) => edgeCount(d.search) === 20)).search);
    expect(merged.edges.map((e) => e.node.hash)).toEqual([...logged].reverse().slice(0, 20));
  } finally {
    watcher.stop();
    client.stop();
  }
});

test('a first page that is an error is read back as the error (fragment matching on the Error interface)', async () => {
  const client = makeClient();
  try {
    const { data } = await client.query({ query: SearchEventsDocument, variables: { query: 'actor:apollo', first: 5000 } });
    expect(data?.search).toEqual({ __typename: 'InputError', message: 'first must be between 0 and 1000' });
  } finally {
    client.stop();
  }
});

test('root: the latest published root and an older one, with the gateway’s consistency check', async () => {
  const client = makeClient();
  try {
    const latest = (await client.query({ query: RootDocument, variables: {} })).data?.root;
    expect(latest).toMatchObject({ __typename: 'PublishedRoot', size: PUBLISHED, consistency: 'PASS', consistencyFailure: null });
    const older = (await client.query({ query: RootDocument, variables: { treeSize: 10 } })).data?.root;
    expect(older).toMatchObject({ __typename: 'PublishedRoot', size: 10, consistency: 'PASS' });
    const missing = (await client.query({ query: RootDocument, variables: { treeSize: TOTAL } })).data?.root;
    // A size past the latest published one is refused upstream (AboveMaximum on /tree_size).
    expect(missing).toEqual({ __typename: 'UpstreamValidationError', message: `tree_size ${TOTAL} is larger than the latest published size ${PUBLISHED}` });
  } finally {
    client.stop();
  }
});
