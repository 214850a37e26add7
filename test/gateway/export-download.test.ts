// A finished export's download link on its poll: when the audit service refuses or fails the
// download, ExportPollResult.downloadLink is the typed error and the outcome (status, count) stays;
// the deprecated `download` is null then, without taking the outcome with it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestService, type TestService } from '../support/local-audit.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

const EXPORT = `mutation { export(format: JSON) { __typename ... on AcceptedRequest { requestId } ... on Error { message } } }`;

const POLL = `
  query Poll($id: ID!) {
    pollResult(requestId: $id) {
      __typename
      ... on PollResult {
        done
        outcome {
          __typename
          ... on ExportPollResult {
            status
            count
            downloadLink(format: CSV) {
              __typename
              ... on DownloadLink { url expiresAt }
              ... on RateLimitedError { retryAfterMs }
              ... on Error { message }
            }
          }
        }
      }
      ... on Error { message }
    }
  }`;

/** The deprecated selection, as clients written before downloadLink have it. */
const POLL_DEPRECATED = `
  query PollDeprecated($id: ID!) {
    pollResult(requestId: $id) { __typename ... on PollResult { done outcome { __typename ... on ExportPollResult { status count download { url } } } } }
  }`;

/** An answer the upstream gives v1/download_results instead of its own, while set. */
interface Refusal {
  http: number;
  status: string;
  summary: string;
  headers?: Record<string, string>;
}

/** A real HTTP upstream in front of the local service that can refuse v1/download_results, as a busy or forgetful service would. */
async function startRefusingProxy(service: TestService): Promise<{ url: string; refuse(refusal: Refusal | null): void; downloads: number; close(): Promise<void> }> {
  let refusal: Refusal | null = null;
  const state = { downloads: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const path = req.url?.split('?')[0];
        if (path === '/v1/download_results') state.downloads++;
        if (path === '/v1/download_results' && refusal) {
          const now = new Date().toISOString();
          const body = Buffer.from(JSON.stringify({ request_id: 'prq_' + 'r'.repeat(32), request_time: now, response_time: now, status: refusal.status, summary: refusal.summary, result: null }));
          res.writeHead(refusal.http, { 'content-type': 'application/json', 'content-length': body.length, ...refusal.headers });
          res.end(body);
          return;
        }
        const body = Buffer.concat(chunks);
        const headers: Record<string, string> = {};
        for (const name of ['authorization', 'content-type']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
        const upstream = await fetch(`${service.url}${req.url}`, { method: req.method, headers, ...(body.length > 0 ? { body } : {}) });
        const answer = Buffer.from(await upstream.arrayBuffer());
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
    refuse: (r) => {
      refusal = r;
    },
    get downloads() {
      return state.downloads;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let service: TestService;
let proxy: Awaited<ReturnType<typeof startRefusingProxy>>;
let gw: TestGateway;
let exportId: string;
let events: number;

beforeAll(async () => {
  // The gateway's remote upstream token is 'x' (see startTestGateway); answers are redacted of it, so no summary here holds an x.
  service = await startTestService({ token: 'x' });
  proxy = await startRefusingProxy(service);
  gw = await startTestGateway({ remoteBaseUrl: proxy.url });
  const logged = await gw.runOk(`mutation { logBulk(events: [{message: "e1"}, {message: "e2"}, {message: "e3"}]) { __typename ... on LogBulkResult { count } } }`);
  events = logged.logBulk.count;
  expect(events).toBe(3);
  exportId = (await gw.runOk(EXPORT)).export.requestId;
  for (let i = 0; ; i++) {
    const { pollResult } = await gw.runOk(POLL_DEPRECATED, { id: exportId });
    if (pollResult.done) break;
    if (i > 400) throw new Error('the export did not finish');
    await new Promise((r) => setTimeout(r, 25));
  }
});
afterEach(() => proxy.refuse(null));
afterAll(async () => {
  await gw?.close();
  await proxy?.close();
  await service?.destroy();
});

test('downloadLink is a DownloadLink when the service gives the file, and the file downloads', async () => {
  const { outcome } = (await gw.runOk(POLL, { id: exportId })).pollResult;
  expect(outcome).toMatchObject({ __typename: 'ExportPollResult', status: 'done', count: events });
  expect(outcome.downloadLink.__typename).toBe('DownloadLink');
  expect(Date.parse(outcome.downloadLink.expiresAt)).toBeGreaterThan(Date.now());
  expect((await fetch(outcome.downloadLink.url)).status).toBe(200);
  // The deprecated field still answers as before.
  expect((await gw.runOk(POLL_DEPRECATED, { id: exportId })).pollResult.outcome.download.url).toMatch(/\/downloads\//);
});

const RATE_LIMITED: Refusal = { http: 429, status: 'TooManyRequests', summary: 'slow down', headers: { 'retry-after': '3600' } };

const REFUSALS: Array<[string, Refusal, string, (link: Json) => void]> = [
  ['rate limited', RATE_LIMITED, 'RateLimitedError', (link) => expect(link.retryAfterMs).toBe(3_600_000)],
  ['not found', { http: 404, status: 'NotFound', summary: 'that file is gone' }, 'NotFoundError', (link) => expect(link.message).toBe('that file is gone')],
  ['unavailable', { http: 503, status: 'ServiceNotAvailable', summary: 'down for maintenance' }, 'UpstreamUnavailableError', (link) => expect(link.message).toMatch(/down for maintenance/)],
];

test.each(REFUSALS)('%s: downloadLink is the typed error, status and count stay', async (_name, refusal, typename, check) => {
  proxy.refuse(refusal);
  const before = proxy.downloads;
  const answer = await gw.graphql(POLL, { id: exportId });
  expect(proxy.downloads).toBeGreaterThan(before);
  expect(answer.body.errors).toBeUndefined();
  const { outcome } = answer.body.data.pollResult;
  expect(outcome).toMatchObject({ __typename: 'ExportPollResult', status: 'done', count: events });
  expect(outcome.downloadLink.__typename).toBe(typename);
  check(outcome.downloadLink);
});

test('the deprecated download is null on failure, its error untyped, and the outcome stays', async () => {
  proxy.refuse(RATE_LIMITED);
  const answer = await gw.graphql(POLL_DEPRECATED, { id: exportId });
  expect(answer.body.data.pollResult.outcome).toEqual({ __typename: 'ExportPollResult', status: 'done', count: events, download: null });
  expect(answer.body.errors).toHaveLength(1);
  expect(answer.body.errors[0].path).toEqual(['pollResult', 'outcome', 'download']);
});

test('the schema marks download deprecated in favour of downloadLink', async () => {
  const { __type } = await gw.runOk(`{ __type(name: "ExportPollResult") { fields(includeDeprecated: true) { name isDeprecated deprecationReason type { kind name } } } }`);
  const byName = Object.fromEntries(__type.fields.map((f: Json) => [f.name, f]));
  expect(byName.download).toMatchObject({ isDeprecated: true, deprecationReason: 'Failures are untyped: use downloadLink.', type: { kind: 'OBJECT', name: 'DownloadLink' } });
  expect(byName.downloadLink).toMatchObject({ isDeprecated: false, type: { kind: 'UNION', name: 'ExportPollResultDownloadLinkResult' } });
});
