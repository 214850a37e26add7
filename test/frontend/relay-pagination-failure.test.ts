// Relay paging Query.auditEvents when a further page fails, with the real relay-runtime and the
// artifacts relay-compiler makes of examples/relay (plus a backward-paging fragment written here).
// Relay's ConnectionHandler writes a null connection over every page it holds, so a failed page
// answered as `auditEvents: null` would empty a list the user has open. The gateway answers it as
// an empty page that keeps Relay where it was, with the error on the cursor Relay pages on: the
// pages stay, and the error still reaches the app (its network layer, or loadNext's onComplete when
// the network layer throws on errors). The result set expires as it does for a list left open too
// long: its expiry is moved into the past in the service's own SQLite file, so no test waits on a
// clock.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  __internal,
  createOperationDescriptor,
  Environment,
  getSelector,
  Network,
  RecordSource,
  Store,
  type ConcreteRequest,
  type GraphQLResponse,
  type ReaderFragment,
  type SingularReaderSelector,
  type Variables,
} from 'relay-runtime';
import { expireResultSets } from '../support/audit-db.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const run = promisify(execFile);
const example = fileURLToPath(new URL('../../examples/relay/', import.meta.url));
const compiler = fileURLToPath(new URL('../../node_modules/.bin/relay-compiler', import.meta.url));

/** A list paged backward (`last`/`before`), Relay's loadPrevious: compiled beside the example. */
const BACKWARD_LIST = `declare function graphql(strings: TemplateStringsArray): unknown;
export const auditEventTailFragment = graphql\`
  fragment AuditEventTail_query on Query
  @refetchable(queryName: "AuditEventTailPaginationQuery")
  @argumentDefinitions(query: { type: "String!" }, count: { type: "Int", defaultValue: 10 }, cursor: { type: "String" }) {
    auditEvents(query: $query, last: $count, before: $cursor) @connection(key: "AuditEventTail_auditEvents") {
      totalCount
      edges { node { id message } }
    }
  }
\`;
export const auditEventTailQuery = graphql\`
  query AuditEventTailQuery($query: String!) {
    ...AuditEventTail_query @arguments(query: $query)
  }
\`;
`;

const TOTAL = 45;
const QUERY = 'actor:relay-pages';

/** A GraphQL error as the gateway sends it (relay-runtime's PayloadError types less of it). */
interface WireError {
  message: string;
  path?: Array<string | number>;
  extensions?: { code?: string };
}

interface Connection {
  totalCount: number;
  edges: Array<{ node: { id: string; message?: string } }>;
  pageInfo: { endCursor?: string | null; hasNextPage?: boolean; startCursor?: string | null; hasPreviousPage?: boolean };
}

interface ListArtifacts {
  query: ConcreteRequest;
  pagination: ConcreteRequest;
  fragment: ReaderFragment;
}

let work: string;
let forward: ListArtifacts;
let backward: ListArtifacts;
let gw: TestGateway;

async function artifact<T>(name: string): Promise<T> {
  return ((await import(join(work, 'src', '__generated__', `${name}.graphql.ts`))) as { default: T }).default;
}

async function listArtifacts(query: string, pagination: string, fragment: string): Promise<ListArtifacts> {
  return { query: await artifact(query), pagination: await artifact(pagination), fragment: await artifact(fragment) };
}


/**
 * A Relay environment on the gateway. `passErrors`: the network layer hands Relay every response
 * as it came (what field-error handling needs); otherwise it throws on `errors`, as the network
 * layer in Relay's docs does. Either way it records the errors it saw.
 */
function relayClient(passErrors: boolean) {
  const errors: WireError[][] = [];
  const network = Network.create(async (params, variables) => {
    const response = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: params.text, variables }),
    });
    const json = (await response.json()) as { data?: Json; errors?: WireError[] };
    if (json.errors) {
      errors.push(json.errors);
      if (!passErrors) throw new Error(`${params.name}: ${json.errors.map((e) => `${String(e.extensions?.code)} ${e.message}`).join('; ')}`);
    }
    return json as GraphQLResponse;
  });
  const environment = new Environment({ network, store: new Store(new RecordSource()) });

  /** The list query, fetched and retained as a mounted component's useLazyLoadQuery would. */
  async function load(list: ListArtifacts): Promise<void> {
    const operation = createOperationDescriptor(list.query, { query: QUERY }, { force: true });
    environment.retain(operation);
    await settle(operation.request.node, operation.request.variables);
  }

  /** What the fragment reads: Relay's connection of every page loaded (usePaginationFragment's data). */
  function read(list: ListArtifacts): Connection | null {
    const operation = createOperationDescriptor(list.query, { query: QUERY });
    const root = environment.lookup(operation.fragment).data;
    const snapshot = environment.lookup(getSelector(list.fragment, root) as SingularReaderSelector);
    return (snapshot.data as { auditEvents: Connection | null }).auditEvents;
  }

  /**
   * What usePaginationFragment's loadNext (loadPrevious with `backward`) does: the pagination
   * query from the cursor at the connection's end, through __internal.fetchQuery. Resolves with
   * the error its onComplete would get (null when none).
   */
  function loadMore(list: ListArtifacts, count: number, direction: 'forward' | 'backward'): Promise<Error | null> {
    const pageInfo = read(list)?.pageInfo;
    const cursor = direction === 'forward' ? pageInfo?.endCursor : pageInfo?.startCursor;
    return settle(list.pagination, { query: QUERY, count, cursor: cursor ?? null });
  }

  function settle(request: ConcreteRequest, variables: Variables): Promise<Error | null> {
    const operation = createOperationDescriptor(request, variables, { force: true });
    return new Promise((done) => {
      __internal.fetchQuery(environment, operation).subscribe({ complete: () => done(null), error: (err: Error) => done(err) });
    });
  }

  return { environment, errors, load, read, loadMore };
}

const ids = (connection: Connection | null): string[] => (connection?.edges ?? []).map((edge) => edge.node.id);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'relay-paging-'));
  cpSync(join(example, 'src'), join(work, 'src'), { recursive: true, filter: (path) => !path.includes('__generated__') });
  writeFileSync(join(work, 'src', 'AuditEventTail.ts'), BACKWARD_LIST);
  const config = JSON.parse(readFileSync(join(example, 'relay.config.json'), 'utf8')) as { schema: string };
  writeFileSync(join(work, 'relay.config.json'), JSON.stringify({ ...config, schema: resolve(example, config.schema) }));
  await run(compiler, [], { cwd: work });
  forward = await listArtifacts('AuditEventListQuery', 'AuditEventListPaginationQuery', 'AuditEventList_query');
  backward = await listArtifacts('AuditEventTailQuery', 'AuditEventTailPaginationQuery', 'AuditEventTail_query');

  gw = await startTestGateway();
  const events = Array.from({ length: TOTAL }, (_, i) => ({ message: `relay page event ${i}`, actor: 'relay-pages' }));
  const logged = (await gw.runOk('mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename ... on LogBulkResult { count } } }', { e: events })).logBulk;
  expect(logged.count).toBe(TOTAL);
  gw.publish();
});

afterAll(async () => {
  await gw?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('loadNext on an expired result set keeps every page loaded; the network layer gets RESULT_SET_EXPIRED', async () => {
  const relay = relayClient(true);
  await relay.load(forward);
  expect(relay.read(forward)?.edges).toHaveLength(20);
  expect(await relay.loadMore(forward, 10, 'forward')).toBeNull();
  const loaded = relay.read(forward)!;
  expect(loaded.edges).toHaveLength(30);
  expect(loaded.totalCount).toBe(TOTAL);
  expect(relay.errors).toEqual([]);

  expireResultSets(gw.dataDir);
  // Passed through, the errors reach the network layer only: loadNext's onComplete gets none.
  expect(await relay.loadMore(forward, 10, 'forward')).toBeNull();
  const after = relay.read(forward);
  expect(after).not.toBeNull();
  expect(ids(after)).toEqual(ids(loaded));
  expect(after?.pageInfo).toEqual({ endCursor: loaded.pageInfo.endCursor, hasNextPage: true });
  expect(relay.errors).toHaveLength(1);
  expect(relay.errors[0]).toEqual([
    expect.objectContaining({ path: ['auditEvents', 'pageInfo', 'endCursor'], extensions: { code: 'RESULT_SET_EXPIRED' }, message: expect.stringMatching(/search again/) }),
  ]);
  // What the failed page could not know: the connection's own fields are the failed page's.
  expect(after?.totalCount).toBe(0);

  // The app searches again (RESULT_SET_EXPIRED says to): a new set from its first page, and paging goes on.
  await relay.load(forward);
  expect(relay.read(forward)?.edges).toHaveLength(20);
  expect(relay.read(forward)?.totalCount).toBe(TOTAL);
  expect(await relay.loadMore(forward, 10, 'forward')).toBeNull();
  expect(ids(relay.read(forward))).toEqual(ids(loaded));
  expect(relay.errors).toHaveLength(1);
});

test('a network layer that throws on errors (as in Relay\'s docs): loadNext fails with the code, the pages stay', async () => {
  const relay = relayClient(false);
  await relay.load(forward);
  expect(await relay.loadMore(forward, 10, 'forward')).toBeNull();
  const loaded = relay.read(forward)!;
  expect(loaded.edges).toHaveLength(30);

  expireResultSets(gw.dataDir);
  const failed = await relay.loadMore(forward, 10, 'forward');
  expect(failed?.message).toMatch(/^AuditEventListPaginationQuery: RESULT_SET_EXPIRED /);
  expect(ids(relay.read(forward))).toEqual(ids(loaded));
  expect(relay.read(forward)?.totalCount).toBe(TOTAL);
});

test('loadPrevious (last/before) on an expired result set keeps the pages too; the error is on startCursor', async () => {
  const relay = relayClient(true);
  await relay.load(backward);
  expect(await relay.loadMore(backward, 10, 'backward')).toBeNull();
  const loaded = relay.read(backward)!;
  expect(loaded.edges).toHaveLength(20);
  // Newest first: the last 20 of the set are the oldest 20 events, in result order.
  expect(loaded.edges.map((e) => e.node.message)).toEqual(Array.from({ length: 20 }, (_, i) => `relay page event ${19 - i}`));

  expireResultSets(gw.dataDir);
  expect(await relay.loadMore(backward, 10, 'backward')).toBeNull();
  const after = relay.read(backward);
  expect(after).not.toBeNull();
  expect(ids(after)).toEqual(ids(loaded));
  expect(after?.pageInfo).toEqual({ startCursor: loaded.pageInfo.startCursor, hasPreviousPage: true });
  expect(relay.errors).toEqual([[expect.objectContaining({ path: ['auditEvents', 'pageInfo', 'startCursor'], extensions: { code: 'RESULT_SET_EXPIRED' } })]]);
});

describe('the answer for a failed further page', () => {
  const PAGE = 'totalCount missingEvents foreignEvents resultId expiresAt root { size } unpublishedRoot { size } edges { cursor node { id } }';

  /** A first page of a live result set: its endCursor and resultId. */
  async function firstPage(): Promise<{ endCursor: string; resultId: string }> {
    const page = (await gw.runOk(`query F($q: String!) { auditEvents(query: $q, first: 5) { resultId pageInfo { endCursor } } }`, { q: QUERY })).auditEvents;
    return { endCursor: page.pageInfo.endCursor, resultId: page.resultId };
  }

  test('holds the client where it was, the error on endCursor; the same when run compiled', async () => {
    const { endCursor, resultId } = await firstPage();
    expireResultSets(gw.dataDir);
    const doc = `query Held($q: String!, $after: String) { auditEvents(query: $q, first: 5, after: $after) { ${PAGE} pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    const answers: Json[] = [];
    // graphql-jit compiles a document from its second run on: both executors answer the same.
    for (let i = 0; i < 3; i++) answers.push((await gw.graphql(doc, { q: QUERY, after: endCursor })).body);
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
    expect(answers[0].data).toEqual({
      auditEvents: {
        totalCount: 0,
        missingEvents: 0,
        foreignEvents: 0,
        resultId,
        expiresAt: null,
        root: null,
        unpublishedRoot: null,
        edges: [],
        pageInfo: { hasNextPage: true, hasPreviousPage: true, startCursor: null, endCursor: null },
      },
    });
    expect(answers[0].errors).toEqual([
      {
        message: `result set ${resultId} has expired or does not exist; run the search again`,
        locations: [{ line: 1, column: expect.any(Number) }],
        path: ['auditEvents', 'pageInfo', 'endCursor'],
        extensions: { code: 'RESULT_SET_EXPIRED' },
      },
    ]);
  });

  test('an unreadable cursor: INVALID_CURSOR on endCursor, and no result set', async () => {
    const answer = (await gw.graphql(`query Bad($q: String!) { auditEvents(query: $q, first: 5, after: "not-a-cursor") { resultId edges { cursor } pageInfo { endCursor hasNextPage } } }`, { q: QUERY })).body;
    expect(answer.data).toEqual({ auditEvents: { resultId: '', edges: [], pageInfo: { endCursor: null, hasNextPage: true } } });
    expect(answer.errors).toEqual([expect.objectContaining({ path: ['auditEvents', 'pageInfo', 'endCursor'], extensions: { code: 'INVALID_CURSOR' } })]);
  });

  test('endCursor asked for through fragments counts; not asked for (or skipped), the field is null with the error', async () => {
    const { endCursor } = await firstPage();
    expireResultSets(gw.dataDir);
    const throughFragments = (
      await gw.graphql(
        `query Frag($q: String!, $after: String) { ...List }
         fragment List on Query { auditEvents(query: $q, first: 5, after: $after) { ... on AuditEventConnection { pageInfo { ...Ends } } } }
         fragment Ends on PageInfo { hasNextPage endCursor }`,
        { q: QUERY, after: endCursor },
      )
    ).body;
    expect(throughFragments.data).toEqual({ auditEvents: { pageInfo: { hasNextPage: true, endCursor: null } } });
    expect(throughFragments.errors.map((e: Json) => [e.path, e.extensions.code])).toEqual([[['auditEvents', 'pageInfo', 'endCursor'], 'RESULT_SET_EXPIRED']]);

    for (const [doc, variables] of [
      [`query NoCursor($q: String!, $after: String) { auditEvents(query: $q, first: 5, after: $after) { totalCount edges { cursor } pageInfo { hasNextPage } } }`, {}],
      [`query Skipped($q: String!, $after: String, $no: Boolean!) { auditEvents(query: $q, first: 5, after: $after) { edges { cursor } pageInfo { endCursor @skip(if: $no) } } }`, { no: true }],
      // Paging forward, the error would sit on endCursor: startCursor alone does not carry it.
      [`query Other($q: String!, $after: String) { auditEvents(query: $q, first: 5, after: $after) { edges { cursor } pageInfo { startCursor } } }`, {}],
    ] as const) {
      const answer = (await gw.graphql(doc, { q: QUERY, after: endCursor, ...variables })).body;
      expect([doc, answer.data]).toEqual([doc, { auditEvents: null }]);
      expect(answer.errors.map((e: Json) => [e.path, e.extensions.code])).toEqual([[['auditEvents'], 'RESULT_SET_EXPIRED']]);
    }
  });

  test('a first page that fails is still null with the error', async () => {
    const answer = (await gw.graphql(`query Big($q: String!) { auditEvents(query: $q, first: 5000) { edges { cursor } pageInfo { endCursor hasNextPage } } }`, { q: QUERY })).body;
    expect(answer.data).toEqual({ auditEvents: null });
    expect(answer.errors).toEqual([expect.objectContaining({ path: ['auditEvents'], extensions: { code: 'INPUT' } })]);
  });
});
