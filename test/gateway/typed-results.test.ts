// PollResult.outcome (the finished request typed by its kind), results(offset:) and the
// fpeContext of each edge, end to end through POST /graphql over a real local audit service.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { hashEnvelope } from '../../src/merkle/index.js';
import { startTestService, type TestService } from '../support/local-audit.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const LOG_BULK = `
  mutation LogBulk($events: [AuditEventInput!]!) {
    logBulk(events: $events) { __typename ... on LogBulkResult { count } ... on Error { message } }
  }`;

const LOG_BULK_ASYNC = `
  mutation LogBulkAsync($events: [AuditEventInput!]!, $options: LogOptions) {
    logBulkAsync(events: $events, options: $options) { __typename ... on AcceptedRequest { requestId } ... on Error { message } }
  }`;

const EXPORT = `
  mutation Export($format: DownloadFormat) {
    export(format: $format) { __typename ... on AcceptedRequest { requestId } ... on Error { message } }
  }`;

const POLL = `
  query Poll($id: ID!, $format: DownloadFormat) {
    pollResult(requestId: $id) {
      __typename
      ... on PollResult {
        done
        result
        outcome {
          __typename
          ... on LogBulkPollResult { requestId logBulk { count results { hash envelope hashVerification signatureVerification } } }
          ... on ExportPollResult { requestId status count download(format: $format) { url expiresAt } }
          ... on OtherPollResult { requestId result }
        }
      }
      ... on Error { message }
    }
  }`;

const SEARCH = `
  query Search($query: String!, $first: Int, $returnContext: Boolean, $after: String) {
    search(query: $query, first: $first, order: ASC, returnContext: $returnContext, after: $after) {
      __typename
      ... on AuditEventConnection { resultId totalCount edges { cursor fpeContext node { message hash } } pageInfo { endCursor hasNextPage } }
      ... on Error { message }
    }
  }`;

const RESULTS = `
  query Results($resultId: ID!, $first: Int, $last: Int, $after: String, $offset: Int, $returnContext: Boolean) {
    results(resultId: $resultId, first: $first, last: $last, after: $after, offset: $offset, returnContext: $returnContext) {
      __typename
      ... on AuditEventConnection {
        totalCount
        edges { cursor fpeContext node { message } }
        pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
      }
      ... on InputError { argument message }
      ... on Error { message }
    }
  }`;

async function pollUntilDone(gw: TestGateway, requestId: string, variables: Record<string, unknown> = {}): Promise<Json> {
  for (let polls = 0; ; polls++) {
    const { pollResult } = await gw.runOk(POLL, { id: requestId, ...variables });
    expect(pollResult.__typename).toBe('PollResult');
    if (pollResult.done) return pollResult;
    expect(pollResult.outcome).toBeNull();
    if (polls > 400) throw new Error(`request ${requestId} did not finish`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const messages = (connection: Json): string[] => connection.edges.map((e: Json) => e.node.message);

describe('typed poll outcomes and results(offset:) (embedded service)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ signingKey: true });
    const events = Array.from({ length: 10 }, (_, i) => ({ message: `paged ${i}`, actor: 'offsetter' }));
    expect((await gw.runOk(LOG_BULK, { events })).logBulk.count).toBe(10);
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('a finished logBulkAsync is a LogBulkPollResult with the checks logBulk makes; the deprecated result still answers', async () => {
    const accepted = (await gw.runOk(LOG_BULK_ASYNC, { events: [{ message: 'typed 1' }, { message: 'typed 2' }], options: { verbose: true, signLocal: true } })).logBulkAsync;
    const done = await pollUntilDone(gw, accepted.requestId);
    expect(done.outcome.__typename).toBe('LogBulkPollResult');
    expect(done.outcome.requestId).toBe(accepted.requestId);
    const results = done.outcome.logBulk.results as Json[];
    expect(done.outcome.logBulk.count).toBe(2);
    expect(results.map((x) => x.envelope.event.message)).toEqual(['typed 1', 'typed 2']);
    for (const x of results) {
      expect(hashEnvelope(x.envelope)).toBe(x.hash);
      expect(x.hashVerification).toBe('PASS');
      expect(x.signatureVerification).toBe('PASS');
    }
    expect(done.result.results.map((x: Json) => x.hash)).toEqual(results.map((x) => x.hash));
  });

  test('a finished export is an ExportPollResult whose download link serves the file', async () => {
    const accepted = (await gw.runOk(EXPORT, { format: 'JSON' })).export;
    const done = await pollUntilDone(gw, accepted.requestId, { format: 'JSON' });
    const outcome = done.outcome;
    expect(outcome.__typename).toBe('ExportPollResult');
    expect(outcome.requestId).toBe(accepted.requestId);
    expect(outcome.status).toBe('done');
    expect(outcome.count).toBe(gw.local!.log.size);
    expect(Date.parse(outcome.download.expiresAt)).toBeGreaterThan(Date.now());
    const res = await fetch(outcome.download.url);
    expect(res.status).toBe(200);
    const file = JSON.parse(gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8'));
    expect(file.events).toHaveLength(outcome.count);
  });

  test('the schema marks the untyped fields deprecated', async () => {
    const { __type } = await gw.runOk(`{ __type(name: "PollResult") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }`);
    const byName = Object.fromEntries(__type.fields.map((f: Json) => [f.name, f]));
    expect(byName.result).toMatchObject({ isDeprecated: true, deprecationReason: 'Untyped: use outcome.' });
    expect(byName.logBulk.isDeprecated).toBe(true);
    expect(byName.outcome.isDeprecated).toBe(false);
  });

  test('results(offset:) starts the page there, and its endCursor continues from it', async () => {
    const search = (await gw.runOk(SEARCH, { query: 'actor:offsetter', first: 1 })).search;
    expect(search.totalCount).toBe(10);
    const from3 = (await gw.runOk(RESULTS, { resultId: search.resultId, offset: 3, first: 2 })).results;
    expect(messages(from3)).toEqual(['paged 3', 'paged 4']);
    expect(from3.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    const next = (await gw.runOk(RESULTS, { resultId: search.resultId, after: from3.pageInfo.endCursor, first: 3 })).results;
    expect(messages(next)).toEqual(['paged 5', 'paged 6', 'paged 7']);
    // last counts back from the end of what lies at and after the offset.
    const tail = (await gw.runOk(RESULTS, { resultId: search.resultId, offset: 6, last: 2 })).results;
    expect(messages(tail)).toEqual(['paged 8', 'paged 9']);
    const atEnd = (await gw.runOk(RESULTS, { resultId: search.resultId, offset: 10, first: 5 })).results;
    expect(atEnd.edges).toEqual([]);
    expect(atEnd.pageInfo.hasNextPage).toBe(false);
  });

  test('results(offset:) outside 0..totalCount, or with a cursor, is an InputError on offset', async () => {
    const search = (await gw.runOk(SEARCH, { query: 'actor:offsetter', first: 2 })).search;
    const past = await gw.runError(RESULTS, { resultId: search.resultId, offset: 11 }, 'InputError');
    expect(past.argument).toBe('offset');
    expect(past.message).toMatch(/\(10\)/);
    expect((await gw.runError(RESULTS, { resultId: search.resultId, offset: -1 }, 'InputError')).argument).toBe('offset');
    const both = await gw.runError(RESULTS, { resultId: search.resultId, offset: 1, after: search.pageInfo.endCursor }, 'InputError');
    expect(both.argument).toBe('offset');
  });

  test('fpeContext is null when the service gives none', async () => {
    const search = (await gw.runOk(SEARCH, { query: 'actor:offsetter', first: 2, returnContext: true })).search;
    expect(search.edges.map((e: Json) => e.fpeContext)).toEqual([null, null]);
  });
});

/**
 * A real HTTP upstream in front of the local service that adds an fpe_context to every event of
 * a search or results answer asked with return_context, as a service with FPE fields would.
 */
async function startFpeProxy(service: TestService): Promise<{ url: string; returnContexts: unknown[]; close(): Promise<void> }> {
  const returnContexts: unknown[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const headers: Record<string, string> = {};
        for (const name of ['authorization', 'content-type']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
        const upstream = await fetch(`${service.url}${req.url}`, { method: req.method, headers, ...(body.length > 0 ? { body } : {}) });
        let answer = Buffer.from(await upstream.arrayBuffer());
        const path = req.url?.split('?')[0];
        if (upstream.status === 200 && (path === '/v1/search' || path === '/v1/results')) {
          const asked = JSON.parse(body.toString('utf8')) as { return_context?: unknown };
          returnContexts.push(asked.return_context);
          const json = JSON.parse(answer.toString('utf8')) as { result: { events: Array<{ hash: string; fpe_context?: string }> } };
          if (asked.return_context === true) for (const event of json.result.events) event.fpe_context = `fpe-${event.hash.slice(0, 12)}`;
          answer = Buffer.from(JSON.stringify(json));
        }
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json', 'content-length': answer.length });
        res.end(answer);
      })().catch(() => {
        res.writeHead(502);
        res.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    returnContexts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('fpeContext passes the upstream fpe_context through (search and results)', () => {
  let service: TestService;
  let proxy: Awaited<ReturnType<typeof startFpeProxy>>;
  let gw: TestGateway;

  beforeAll(async () => {
    service = await startTestService({ token: 'x' });
    proxy = await startFpeProxy(service);
    gw = await startTestGateway({ remoteBaseUrl: proxy.url });
    const events = Array.from({ length: 4 }, (_, i) => ({ message: `fpe ${i}`, actor: 'fpe' }));
    expect((await gw.runOk(LOG_BULK, { events })).logBulk.count).toBe(4);
  });
  afterAll(async () => {
    await gw?.close();
    await proxy?.close();
    await service?.destroy();
  });

  test('each edge carries its event’s fpe_context, on the first page, on the next and through results', async () => {
    const first = (await gw.runOk(SEARCH, { query: 'actor:fpe', first: 2, returnContext: true })).search;
    expect(first.edges.map((e: Json) => e.fpeContext)).toEqual(first.edges.map((e: Json) => `fpe-${e.node.hash.slice(0, 12)}`));
    // The continuation of the search reads v1/results, and asks for the context again.
    const second = (await gw.runOk(SEARCH, { query: 'actor:fpe', first: 2, returnContext: true, after: first.pageInfo.endCursor })).search;
    expect(second.edges.map((e: Json) => e.node.message)).toEqual(['fpe 2', 'fpe 3']);
    expect(second.edges.map((e: Json) => e.fpeContext)).toEqual(second.edges.map((e: Json) => `fpe-${e.node.hash.slice(0, 12)}`));
    const viaResults = (await gw.runOk(RESULTS, { resultId: first.resultId, offset: 1, first: 1, returnContext: true })).results;
    expect(viaResults.edges[0].fpeContext).toMatch(/^fpe-[0-9a-f]{12}$/);
    expect(proxy.returnContexts.slice(-3)).toEqual([true, true, true]);
  });

  test('without returnContext nothing is asked for and fpeContext is null', async () => {
    const search = (await gw.runOk(SEARCH, { query: 'actor:fpe', first: 2 })).search;
    expect(search.edges.map((e: Json) => e.fpeContext)).toEqual([null, null]);
    expect(proxy.returnContexts.at(-1)).toBeUndefined();
  });
});
