// A finished export's download link on its poll: when the audit service refuses or fails the
// download, ExportPollResult.downloadLink is the typed error and the outcome (status, count) stays;
// the deprecated `download` is null then, without taking the outcome with it.
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';
import { startLyingUpstream, type LyingUpstream, type Refusal } from '../support/lying-upstream.js';

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

let up: LyingUpstream;
let gw: TestGateway;
let exportId: string;
let events: number;

beforeAll(async () => {
  // The gateway's remote upstream token is 'x' (see startTestGateway); answers are redacted of it, so no summary here holds an x.
  up = await startLyingUpstream({ token: 'x' });
  gw = await startTestGateway({ remoteBaseUrl: up.url });
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
afterEach(() => up.refuse('v1/download_results', null));
const downloadCalls = (): number => up.calls.filter((c) => c.path === '/v1/download_results').length;
afterAll(async () => {
  await gw?.close();
  await up?.close();
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
  up.refuse('v1/download_results', refusal);
  const before = downloadCalls();
  const answer = await gw.graphql(POLL, { id: exportId });
  expect(downloadCalls()).toBeGreaterThan(before);
  expect(answer.body.errors).toBeUndefined();
  const { outcome } = answer.body.data.pollResult;
  expect(outcome).toMatchObject({ __typename: 'ExportPollResult', status: 'done', count: events });
  expect(outcome.downloadLink.__typename).toBe(typename);
  check(outcome.downloadLink);
});

test('the deprecated download is null on failure, its error untyped, and the outcome stays', async () => {
  up.refuse('v1/download_results', RATE_LIMITED);
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
