// Persisted operations with real clients: Apollo Client's PersistedQueryLink against the default
// gateway (Automatic Persisted Queries), and a gateway started with codegen's
// persisted-documents.json, which runs those operations and nothing else.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { print } from 'graphql';
import { RootDocument, SearchEventsDocument } from '../../examples/generated/graphql.js';
import { LIMITS } from '../../src/gateway/protections.js';
import { startGateway, type RunningGateway } from '../../src/gateway/start.js';
import { startTestGateway, type TestGateway } from './support.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

interface Sent {
  method: string;
  /** The document text the request carried, in its body or URL; undefined when it sent a hash alone. */
  query: string | undefined;
  hash: string | undefined;
  status: number;
}

/** fetch that records what each request carried and how it was answered. */
function countingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? 'GET';
    const params = method === 'GET' ? { query: url.searchParams.get('query') ?? undefined, extensions: JSON.parse(url.searchParams.get('extensions') ?? '{}') as unknown } : (JSON.parse(String(init?.body)) as { query?: string; extensions?: unknown });
    const response = await fetch(input, init);
    const extensions = params.extensions as { persistedQuery?: { sha256Hash?: string } } | undefined;
    sent.push({ method, query: params.query, hash: extensions?.persistedQuery?.sha256Hash, status: response.status });
    return response;
  };
}

function apollo(uri: string, sent: Sent[], useGETForHashedQueries = false): ApolloClient {
  const link = createPersistedQueryLink({ sha256: (text: string) => sha256(text), useGETForHashedQueries }).concat(new HttpLink({ uri, fetch: countingFetch(sent) }));
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

async function post(url: string, body: unknown, apiKey?: string): Promise<{ status: number; body: { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] } }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as never };
}

describe('Automatic Persisted Queries (Apollo PersistedQueryLink)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway('frontend-apq-');
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('the first request is PersistedQueryNotFound and the link retries with the query; then the hash alone runs it', async () => {
    const sent: Sent[] = [];
    const first = apollo(gw.url, sent);
    try {
      const { data } = await first.query({ query: RootDocument, variables: {} });
      expect(data?.root?.__typename).toBeDefined();
    } finally {
      first.stop();
    }
    expect(sent).toEqual([
      { method: 'POST', query: undefined, hash: expect.stringMatching(/^[0-9a-f]{64}$/), status: 404 },
      { method: 'POST', query: expect.stringContaining('query Root'), hash: sent[0]!.hash, status: 200 },
    ]);
    expect(sent[0]!.hash).toBe(sha256(sent[1]!.query!));

    // Another client (its own empty cache): one request, the hash alone.
    const again: Sent[] = [];
    const second = apollo(gw.url, again);
    try {
      const { data } = await second.query({ query: RootDocument, variables: {} });
      expect(data?.root?.__typename).toBeDefined();
    } finally {
      second.stop();
    }
    expect(again).toEqual([{ method: 'POST', query: undefined, hash: sent[0]!.hash, status: 200 }]);
  });

  test('hashed queries sent as GET (useGETForHashedQueries) pass CSRF prevention: Apollo sends content-type application/json', async () => {
    const sent: Sent[] = [];
    const variables = { query: 'actor:nobody', first: 1 };
    for (let i = 0; i < 2; i++) {
      const client = apollo(gw.url, sent, true);
      try {
        const { data } = await client.query({ query: SearchEventsDocument, variables });
        expect(data?.search?.__typename).toBe('AuditEventConnection');
      } finally {
        client.stop();
      }
    }
    // GET with the hash, not found; the document by POST; then GET with the hash alone.
    expect(sent.map(({ method, query, status }) => ({ method, query: query !== undefined, status }))).toEqual([
      { method: 'GET', query: false, status: 404 },
      { method: 'POST', query: true, status: 200 },
      { method: 'GET', query: false, status: 200 },
    ]);
  });

  test('a document over the token limit is refused by the limit and not stored', async () => {
    const query = `{ ${Array.from({ length: LIMITS.tokens }, () => '__typename').join(' ')} }`;
    const hash = sha256(query);
    const registered = await post(gw.url, { query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(registered.body.errors?.[0]?.message).toMatch(/token limit/i);
    const byHash = await post(gw.url, { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(byHash).toEqual({ status: 404, body: { errors: [expect.objectContaining({ message: 'PersistedQueryNotFound', extensions: expect.objectContaining({ code: 'PERSISTED_QUERY_NOT_FOUND' }) })] } });
  });

  test('a query whose hash does not match is refused and not stored', async () => {
    const hash = sha256('{ __typename }');
    const mismatched = await post(gw.url, { query: '{ root { __typename } }', extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(mismatched.status).toBe(400);
    expect(mismatched.body.errors?.[0]?.message).toBe('PersistedQueryMismatch');
    expect((await post(gw.url, { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } })).status).toBe(404);
  });
});

describe('trusted documents: the poll link a job hands out runs', () => {
  const KEY = 'trusted-poll-key-0123456789abcdef';
  const LOG_ASYNC = 'mutation Queue($e: [AuditEventInput!]!) { logBulkAsync(events: $e) { __typename ... on AcceptedRequest { requestId location } ... on Error { message } } }';
  let dir: string;
  let running: RunningGateway;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'frontend-trusted-poll-'));
    // The app's own documents only: nothing in the file polls.
    const file = join(dir, 'persisted-documents.json');
    writeFileSync(file, JSON.stringify({ [`sha256:${sha256(LOG_ASYNC)}`]: LOG_ASYNC }));
    running = await startGateway(
      {
        host: '127.0.0.1',
        port: 0,
        upstream: { kind: 'embedded', dataDir: join(dir, 'data'), token: undefined, localPort: 0, publishIntervalMs: 0, schemaFile: undefined },
        signingKeyFile: undefined,
        cursorSecret: undefined,
        maxBodyBytes: 1024 * 1024,
        graphiql: false,
        auth: { kind: 'keys', file: undefined, inline: JSON.stringify({ apiKeys: [{ id: 'app', key: KEY, scopes: ['audit:log'] }] }) },
        persistedOperationsFile: file,
      },
      () => {},
    );
  });
  afterAll(async () => {
    await running?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('AcceptedRequest.location names the poll document by its id, and a GET of it answers', async () => {
    const queued = await post(running.url, { documentId: `sha256:${sha256(LOG_ASYNC)}`, variables: { e: [{ message: 'queued through a trusted document' }] } }, KEY);
    expect(queued.body.errors).toBeUndefined();
    const { location, requestId } = queued.body.data!.logBulkAsync as { location: string; requestId: string };
    expect(location).toMatch(/\/graphql\?documentId=sha256%3A[0-9a-f]{64}&variables=/);
    expect(location).not.toContain('query=');
    let answer: { status: number; body: Record<string, any> } | undefined;
    for (let i = 0; i < 100; i++) {
      const res = await fetch(location, { headers: { authorization: `Bearer ${KEY}`, 'x-graphql-yoga-csrf': '1' } });
      answer = { status: res.status, body: (await res.json()) as Record<string, any> };
      if (answer.status !== 200 || answer.body.data?.pollResult?.done) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(answer!.status).toBe(200);
    expect(answer!.body.errors).toBeUndefined();
    expect(answer!.body.data.pollResult).toMatchObject({ __typename: 'PollResult', done: true });
    expect(requestId).toEqual(expect.any(String));
    // Any other query text is still refused.
    const other = await fetch(`${new URL(running.url).origin}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { authorization: `Bearer ${KEY}`, 'x-graphql-yoga-csrf': '1' } });
    expect(other.status).toBe(400);
  });
});

describe('trusted documents (PERSISTED_OPERATIONS_FILE from codegen), callers with API keys', () => {
  const KEY = 'trusted-docs-key-0123456789abcdef';
  let dataDir: string;
  let running: RunningGateway;
  const rootId = (RootDocument as unknown as { __meta__: { hash: string } }).__meta__.hash;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'frontend-trusted-'));
    running = await startGateway(
      {
        host: '127.0.0.1',
        port: 0,
        upstream: { kind: 'embedded', dataDir, token: undefined, localPort: 0, publishIntervalMs: 0, schemaFile: undefined },
        signingKeyFile: undefined,
        cursorSecret: undefined,
        maxBodyBytes: 1024 * 1024,
        graphiql: true,
        auth: { kind: 'keys', file: undefined, inline: JSON.stringify({ apiKeys: [{ id: 'app', key: KEY, scopes: ['audit:root'] }] }) },
        persistedOperationsFile: new URL('../../examples/generated/persisted-documents.json', import.meta.url).pathname,
      },
      () => {},
    );
  });
  afterAll(async () => {
    await running?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('an operation of the file runs by its documentId, and by Apollo’s extension with the bare hash', async () => {
    expect(rootId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const byId = await post(running.url, { documentId: rootId, variables: {} }, KEY);
    expect(byId.status).toBe(200);
    expect(byId.body.errors).toBeUndefined();
    expect(byId.body.data?.root).toMatchObject({ __typename: expect.any(String) });
    const byExtension = await post(running.url, { extensions: { persistedQuery: { version: 1, sha256Hash: rootId.slice('sha256:'.length) } } }, KEY);
    expect(byExtension.body).toEqual(byId.body);
  });

  test('the same operation sent as query text is refused', async () => {
    const refused = await post(running.url, { query: print(RootDocument) }, KEY);
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]).toMatchObject({ message: expect.stringContaining('only persisted operations are accepted'), extensions: { code: 'PERSISTED_QUERY_ONLY' } });
    expect(refused.body.data).toBeUndefined();
  });

  test('an arbitrary query, even introspection, is refused', async () => {
    const refused = await post(running.url, { query: '{ __schema { types { name } } }' }, KEY);
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.message).toContain('only persisted operations are accepted');
  });

  test('an unknown id is refused', async () => {
    const unknown = await post(running.url, { documentId: `sha256:${sha256('{ __typename }')}` }, KEY);
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors?.[0]).toMatchObject({ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } });
  });

  test('authentication comes first: without a key, a known id and an unknown one are both 401', async () => {
    for (const documentId of [rootId, `sha256:${sha256('{ __typename }')}`]) {
      const refused = await post(running.url, { documentId });
      expect(refused.status).toBe(401);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  test('GraphiQL is not served in this mode', async () => {
    const page = await fetch(running.url, { headers: { accept: 'text/html' } });
    await page.body?.cancel();
    expect(page.headers.get('content-type') ?? '').not.toContain('text/html');
  });
});
