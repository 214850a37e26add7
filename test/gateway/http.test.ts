// The gateway at the HTTP level, on its real listener: body limit (413), GraphiQL without CDNs,
// /health and /ready, no batching, no mutations over GET, an unreachable upstream as a typed
// error, masking of unexpected errors, and the printed schema on disk.
import { getMaxListeners } from 'node:events';
import { jest } from '@jest/globals';
import { readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditClient } from '../../src/audit-client/index.js';
import { CursorCodec } from '../../src/graphql/cursor.js';
import { printedSchema } from '../../src/graphql/schema.js';
import { createUpstreamState } from '../../src/graphql/upstream-state.js';
import { LOCAL_CALLER } from '../../src/auth/caller.js';
import { JobHandles } from '../../src/auth/job-handles.js';
import { createGateway } from '../../src/gateway/server.js';
import { startLocalAudit } from '../../src/local-audit/index.js';
import { refusedPort, startTestGateway, tempDir, type Json, type TestGateway } from '../support/gateway.js';

const MAX_BODY = 4096;

describe('HTTP: embedded upstream', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ maxBodyBytes: MAX_BODY });
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('/health is 200; /ready is 200 with the embedded service (even before anything is published)', async () => {
    const health = await fetch(`${gw.origin}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    // Until the embedded service's start-up integrity check has ended, the gateway says why it is
    // not ready yet; then it is ready, with nothing published.
    let ready = await fetch(`${gw.origin}/ready`);
    for (let i = 0; i < 200 && ready.status !== 200; i++) {
      expect(((await ready.json()) as { detail: string }).detail).toMatch(/^local audit service not ready: /);
      await new Promise((r) => setTimeout(r, 50));
      ready = await fetch(`${gw.origin}/ready`);
    }
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
    gw.publish();
    await gw.runOk(`mutation { log(event: {message: "ready"}) { __typename } }`);
    gw.publish();
    const again = await fetch(`${gw.origin}/ready`);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'ready', detail: 'audit service reachable' });
  });

  test('a body over maxBodyBytes is a 413, declared or streamed; a body just under it is served', async () => {
    const padded = (n: number): string => JSON.stringify({ query: `{ __typename } #${'x'.repeat(n)}` });
    const base = padded(0).length;

    const big = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: padded(MAX_BODY) });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ errors: [{ message: `request body is larger than ${MAX_BODY} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });

    // Chunked, with no content-length: the limit is enforced while reading.
    const chunk = new TextEncoder().encode('x'.repeat(1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 8) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const streamed = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);

    const fits = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: padded(MAX_BODY - base) });
    expect(fits.status).toBe(200);
    expect(await fits.json()).toEqual({ data: { __typename: 'Query' } });
  });

  test('a caller that leaves in the middle of its body is dropped; the next requests are served', async () => {
    const errorSpy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const url = new URL(gw.url);
    for (let i = 0; i < 3; i++) {
      const sent = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': '200' } });
      const gone = new Promise<void>((resolve) => sent.on('close', () => resolve()));
      sent.on('error', () => undefined);
      sent.write('{"query": "{ __typ');
      await new Promise((resolve) => setTimeout(resolve, 20));
      sent.destroy();
      await gone;
    }
    expect(await gw.runOk('{ __typename }')).toEqual({ __typename: 'Query' });
    // A caller gone is not an unexpected error.
    expect(errorSpy).not.toHaveBeenCalled();
    errorSpy.mockRestore();
  });

  test('GET /graphql for a browser serves GraphiQL from local assets (no CDN)', async () => {
    const res = await fetch(gw.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toMatch(/graphiql/i);
    expect(html).toContain('Audit Gateway');
    // Every script and stylesheet is inline or same-origin.
    const refs = [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)].map((m) => m[1]!);
    for (const ref of refs) expect(ref).not.toMatch(/^(https?:)?\/\//i);
    expect(html).not.toMatch(/unpkg\.com|jsdelivr|cdnjs|esm\.sh|cdn\./i);
  });

  test('batching is off: an array body is refused', async () => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const body = (await res.json()) as Json;
    expect(body.data).toBeUndefined();
    expect(body.errors[0].message).toMatch(/\S/);
  });

  test('no field takes a file: a multipart body is refused with 415, not parsed', async () => {
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: '{ __typename }' }));
    form.append('map', '{}');
    const res = await fetch(gw.url, { method: 'POST', headers: { 'x-graphql-yoga-csrf': '1' }, body: form });
    expect(res.status).toBe(415);
    // The same operation as JSON runs.
    const json = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(((await json.json()) as Json).data).toEqual({ __typename: 'Query' });
  });

  test('queries work over GET with the CSRF header; a simple cross-site GET and mutations over GET are refused', async () => {
    const simple = await fetch(`${gw.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept: 'application/json' } });
    expect(simple.status).toBe(403);
    const csrf = { accept: 'application/json', 'x-graphql-yoga-csrf': '1' };
    const get = await fetch(`${gw.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: csrf });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { __typename: 'Query' } });
    const before = gw.local!.log.size;
    const mutation = encodeURIComponent('mutation { log(event: {message: "via GET"}) { __typename } }');
    const res = await fetch(`${gw.url}?query=${mutation}`, { headers: csrf });
    expect(res.status).toBe(405);
    expect(gw.local!.log.size).toBe(before);
  });

  test('GraphQL errors (syntax, unknown field) are 400 with a message, not masked', async () => {
    const syntax = await gw.graphql('{ search(');
    expect(syntax.status).toBe(400);
    expect(syntax.body.errors[0].message).toMatch(/Syntax Error/);
    const unknown = await gw.graphql('{ nope }');
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].message).toMatch(/nope/);
  });

  test('malformed JSON is a 400 that says so: a POST body, and GET variables', async () => {
    const post = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{"query": "{ __typename }", ' });
    expect(post.status).toBe(400);
    expect(((await post.json()) as Json).errors[0].message).toBe('POST body sent invalid JSON.');
    const csrf = { accept: 'application/json', 'x-graphql-yoga-csrf': '1' };
    const get = await fetch(`${gw.url}?query=${encodeURIComponent('query Q($n: Int) { __typename }')}&variables=${encodeURIComponent('{"n": ')}`, { headers: csrf });
    expect(get.status).toBe(400);
    expect(((await get.json()) as Json).errors[0].message).toMatch(/^request parameters are not valid JSON: /);
  });
});

describe('HTTP: remote upstream that refuses connections', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    const port = await refusedPort();
    gw = await startTestGateway({ remoteBaseUrl: `http://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('/ready is 503 and /health stays 200', async () => {
    const ready = await fetch(`${gw.origin}/ready`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as Json;
    expect(body.status).toBe('not ready');
    expect(body.detail).toMatch(/not reachable/);
    expect((await fetch(`${gw.origin}/health`)).status).toBe(200);
  });

  test('every upstream-calling field answers UpstreamUnavailableError', async () => {
    const fields = `__typename ... on UpstreamUnavailableError { message transient requestId }`;
    const cases: Array<[string, Record<string, unknown>?]> = [
      [`mutation { log(event: {message: "x"}, options: {verbose: true}) { ${fields} } }`],
      [`mutation { logBulk(events: [{message: "x"}]) { ${fields} } }`],
      [`mutation { logEvent(event: {message: "x"}) { ${fields} } }`],
      [`query { search(query: "", first: 5) { ${fields} } }`],
      [`query { results(resultId: "pas_x", first: 5) { ${fields} } }`],
      [`query { root { ${fields} } }`],
      [`query { pollResult(requestId: "${new JobHandles(Buffer.from('test', 'utf8')).seal({ upstreamId: 'prq_x', kind: 'logBulkAsync', callerId: 'local', tenantId: undefined })}") { ${fields} } }`],
      [`mutation { downloadResults(resultId: "pas_x") { ${fields} } }`],
    ];
    for (const [query, variables] of cases) {
      const err = await gw.runError(query, variables, 'UpstreamUnavailableError');
      expect(err.message).toMatch(/could not be reached/);
      expect(err.transient).toBe(true);
      expect(err.requestId).toBeNull();
    }
  });

  test('input the gateway refuses itself is still an InputError (checked before calling upstream)', async () => {
    const err = await gw.runError(`query { search(query: "", first: 5000) { __typename ... on InputError { argument } } }`, undefined, 'InputError');
    expect(err.argument).toBe('first');
  });
});

describe('gateway built by hand (createGateway) over a real local service', () => {
  const dataDir = tempDir();
  let local: Awaited<ReturnType<typeof startLocalAudit>>;
  let client: AuditClient;
  beforeAll(async () => {
    local = await startLocalAudit({ dataDir, port: 0, publishIntervalMs: 0, token: 'test-token', onError: () => {} });
    client = new AuditClient({ baseUrl: local.url, token: local.token });
  });
  afterAll(async () => {
    await client?.close();
    await local?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function serve(options: Partial<Parameters<typeof createGateway>[0]>): Promise<{ url: string; close(): Promise<void> }> {
    const { server } = createGateway({ client, upstream: createUpstreamState({ client, oneEventPerLeaf: true, trustOnFirstUse: true }), cursors: new CursorCodec(Buffer.from('test')), ...options });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/graphql`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  const post = (url: string, query: string): Promise<Response> =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });

  test('unexpected errors are masked as "Unexpected error." for the client and logged in full', async () => {
    // The caller-authentication hook is where auth will plug in; a failing auth backend is an
    // unexpected error.
    const logged: unknown[] = [];
    const gw = await serve({
      authenticate: () => {
        throw new Error('auth backend down: connection to 10.0.0.5 refused (secret=hunter2)');
      },
      logError: (err) => logged.push(err),
    });
    try {
      const res = await post(gw.url, '{ root { __typename } }');
      const text = await res.text();
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('10.0.0.5');
      const body = JSON.parse(text) as Json;
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0].message).toBe('Unexpected error.');
      expect(body.data ?? null).toBeNull();
      expect(res.status).toBe(500);
      // The operator's log gets the original error.
      expect(logged).toEqual([expect.objectContaining({ message: expect.stringContaining('secret=hunter2') })]);
    } finally {
      await gw.close();
    }
  });

  test('the request signal admits one abort listener per concurrent upstream call (no MaxListenersExceededWarning)', async () => {
    // A page of N published events fetches up to 2N published roots concurrently, each call
    // listening on the request's signal; Node warns past 10 listeners unless the limit is raised.
    const signals: AbortSignal[] = [];
    const gw = await serve({
      authenticate: (request) => {
        signals.push(request.signal);
        return LOCAL_CALLER;
      },
    });
    try {
      expect((await post(gw.url, '{ __typename }')).status).toBe(200);
      expect(signals).toHaveLength(1);
      expect(getMaxListeners(signals[0]!)).toBeGreaterThanOrEqual(2 * 1000);
    } finally {
      await gw.close();
    }
  });
});

describe('schema drift', () => {
  test('schema/schema.graphql is the printed schema (run `npm run schema:print` after changing types)', () => {
    const onDisk = readFileSync(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
    expect(printedSchema()).toBe(onDisk);
  });
});
