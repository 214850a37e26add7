// Every URL the gateway hands out is under PUBLIC_URL and works from a client that can reach only
// the gateway: download links are served by the gateway itself (GET /downloads/<token>), the
// AcceptedRequest location polls through the gateway, and no answer or error names the embedded
// service's internal address.
import { gunzipSync } from 'node:zlib';
import { DownloadLinks } from '../../src/auth/download-links.js';
import { JobHandles } from '../../src/auth/job-handles.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { refusedPort, startTestGateway, type Json, type TestGateway } from '../support/gateway.js';

/** The address a remote client knows the gateway by; nothing listens there in the test. */
const PUBLIC = 'http://audit-gateway.example.test:8080';

const EXPORT = `mutation { export(format: JSON, order: ASC) { __typename ... on AcceptedRequest { requestId location } ... on Error { message } } }`;
const POLL = `query P($id: ID!) { pollResult(requestId: $id) { __typename ... on PollResult { done accepted { location } } ... on InputError { argument message } ... on Error { message } } }`;
const DOWNLOAD = `mutation D($resultId: ID, $requestId: ID, $format: DownloadFormat) {
  downloadResults(resultId: $resultId, requestId: $requestId, format: $format) {
    __typename ... on DownloadLink { url expiresAt } ... on InputError { argument message } ... on Error { message }
  }
}`;

describe('a gateway with PUBLIC_URL set, called from a remote client', () => {
  let gw: TestGateway;
  /** Every answer body the tests saw, to check none names the upstream. */
  const seen: string[] = [];
  const run = async (query: string, variables?: Record<string, unknown>): Promise<Json> => {
    const { body } = await gw.graphql(query, variables);
    seen.push(JSON.stringify(body));
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return Object.values(body.data as Record<string, Json>)[0];
  };
  /** The public URL as the test can reach it: the same path on the real listener. */
  const viaListener = (url: string): string => {
    expect(url.startsWith(`${PUBLIC}/`)).toBe(true);
    return gw.origin + url.slice(PUBLIC.length);
  };
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const res = await fetch(viaListener(url), { headers });
    const body = Buffer.from(await res.arrayBuffer());
    seen.push(body.toString('latin1'));
    return { res, body };
  };

  beforeAll(async () => {
    gw = await startTestGateway({ config: { publicUrl: PUBLIC } });
    await gw.runOk(`mutation { logBulk(events: [{message: "one", actor: "remote"}, {message: "two", actor: "remote"}]) { __typename } }`);
    gw.publish();
  });
  afterAll(async () => {
    await gw.close();
  });

  async function finishedExport(): Promise<string> {
    const accepted = await run(EXPORT);
    expect(accepted.__typename).toBe('AcceptedRequest');
    for (;;) {
      const poll = await run(POLL, { id: accepted.requestId });
      expect(poll.__typename).toBe('PollResult');
      if (poll.done) return accepted.requestId as string;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test('an export link is a gateway URL that serves the exact bytes of the upstream file', async () => {
    const requestId = await finishedExport();
    const link = await run(DOWNLOAD, { requestId, format: 'JSON' });
    expect(link.__typename).toBe('DownloadLink');
    expect(link.url).toMatch(new RegExp(`^${PUBLIC.replace(/\./g, '\\.')}/downloads/[A-Za-z0-9_-]+$`));
    expect(Date.parse(link.expiresAt)).toBeGreaterThan(Date.now());

    const { res, body } = await get(link.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="audit_events.json.gz"');
    expect(res.headers.get('content-length')).toBe(String(body.length));
    // The same file straight from the upstream (the gzip of one snapshot is the same bytes).
    // The upstream's id is inside the handle (the test gateway's cursor secret is 'test').
    const upstreamId = new JobHandles(Buffer.from('test', 'utf8')).open(requestId)!.upstreamId;
    const direct = await gw.running.client.downloadResults({ request_id: upstreamId, format: 'json' });
    const upstreamBytes = Buffer.from(await (await fetch(direct.result.dest_url)).arrayBuffer());
    expect(body.equals(upstreamBytes)).toBe(true);
    const file = JSON.parse(gunzipSync(body).toString('utf8'));
    expect(file.events.map((e: Json) => e.envelope.event.message)).toEqual(['one', 'two']);
  });

  test('a search result set link works the same way', async () => {
    const search = await run(`{ search(query: "actor:remote", first: 1) { __typename ... on AuditEventConnection { resultId } } }`);
    const link = await run(DOWNLOAD, { resultId: search.resultId });
    const { res, body } = await get(link.url);
    expect(res.status).toBe(200);
    const csv = gunzipSync(body).toString('utf8').split('\r\n').filter((l) => l !== '');
    expect(csv).toHaveLength(3);
  });

  test('the AcceptedRequest location polls the request through the gateway', async () => {
    const accepted = await run(EXPORT);
    expect(accepted.location.startsWith(`${PUBLIC}/graphql?`)).toBe(true);
    const { res, body } = await get(accepted.location, { 'x-graphql-yoga-csrf': '1', accept: 'application/json' });
    expect(res.status).toBe(200);
    const answer = JSON.parse(body.toString('utf8'));
    expect(answer.data.pollResult.__typename).toBe('PollResult');
    expect(typeof answer.data.pollResult.done).toBe('boolean');
  });

  test('an altered or foreign token is 403, an expired one 410, a file the upstream dropped 410; none names the upstream', async () => {
    const link = await run(DOWNLOAD, { requestId: await finishedExport() });
    const token = link.url.slice(`${PUBLIC}/downloads/`.length);
    const flipped = token.slice(0, 20) + (token[20] === 'A' ? 'B' : 'A') + token.slice(21);
    for (const bad of [flipped, token.slice(0, -4), 'x'.repeat(9000), 'not-a-token']) {
      const { res, body } = await get(`${PUBLIC}/downloads/${bad}`);
      expect(res.status).toBe(403);
      expect(body.toString('utf8')).toMatch(/not valid/);
    }
    // Sealed with the gateway's key (cursorSecret "test" in the test gateway) but expired.
    const links = new DownloadLinks(Buffer.from('test', 'utf8'));
    const claims = { upstreamUrl: `${gw.local!.url}/downloads/${'A'.repeat(43)}`, callerId: 'local', tenantId: undefined, format: 'csv' };
    const expired = await get(`${PUBLIC}/downloads/${links.seal({ ...claims, expiresAtMs: Date.now() - 1000 })}`);
    expect(expired.res.status).toBe(410);
    expect(expired.body.toString('utf8')).toMatch(/expired/);
    // Another gateway's key: refused like an altered token.
    const foreign = new DownloadLinks(Buffer.from('another gateway', 'utf8')).seal({ ...claims, expiresAtMs: Date.now() + 60_000 });
    expect((await get(`${PUBLIC}/downloads/${foreign}`)).res.status).toBe(403);
    // Valid, but the upstream no longer has the file.
    const gone = await get(`${PUBLIC}/downloads/${links.seal({ ...claims, expiresAtMs: Date.now() + 60_000 })}`);
    expect(gone.res.status).toBe(410);
    expect(gone.body.toString('utf8')).toMatch(/no longer kept/);
    expect((await fetch(viaListener(link.url), { method: 'POST' })).status).toBe(405);
  });

  test('an over-long or ill-formed request id is an InputError that does not echo it', async () => {
    const huge = 'prq_' + 'a'.repeat(900 * 1024);
    for (const id of [huge, 'x'.repeat(1025), 'prq_with space', 'prq_\u00e9t\u00e9', '']) {
      const poll = await run(POLL, { id });
      expect(poll.__typename).toBe('InputError');
      expect(poll.argument).toBe('requestId');
      expect(poll.message).not.toContain(id.length > 0 ? id.slice(0, 40) : 'http');
      const download = await run(DOWNLOAD, { requestId: id });
      expect(download.__typename).toBe('InputError');
      expect(download.argument).toBe('requestId');
    }
    expect((await run(DOWNLOAD, { resultId: 'pas_' + 'b'.repeat(200) })).argument).toBe('resultId');
    // 1024 printable characters may be a handle: it does not open, so it is an unknown request.
    expect((await run(POLL, { id: 'z'.repeat(1024) })).__typename).toBe('NotFoundError');
  });

  afterAll(() => {
    const internal = new URL(gw.local!.url);
    for (const text of seen) {
      expect(text).not.toContain(internal.host);
      expect(text).not.toContain('/request/');
    }
  });
});

test('an unreachable upstream is reported without its address or the URL asked for', async () => {
  const port = await refusedPort();
  const gw = await startTestGateway({ remoteBaseUrl: `http://127.0.0.1:${port}` });
  try {
    const poll = await gw.runError(POLL, { id: new JobHandles(Buffer.from('test', 'utf8')).seal({ upstreamId: 'prq_' + 'q'.repeat(32), kind: 'export', callerId: 'local', tenantId: undefined }) }, 'UpstreamUnavailableError');
    expect(poll.message).toMatch(/could not be reached/);
    expect(poll.message).not.toContain(String(port));
    expect(poll.message).not.toContain('127.0.0.1');
    expect(poll.message).not.toContain('prq_');
  } finally {
    await gw.close();
  }
});

test('PUBLIC_URL: an http(s) URL, kept without its trailing slash; anything else stops the gateway naming it', () => {
  expect(loadConfig({ PUBLIC_URL: 'https://audit.example.com/gateway/' }).publicUrl).toBe('https://audit.example.com/gateway');
  expect(loadConfig({}).publicUrl).toBeUndefined();
  for (const bad of ['audit.example.com', 'ftp://audit.example.com', 'https://audit.example.com/?a=1', 'https://user:pw@audit.example.com']) {
    expect(() => loadConfig({ PUBLIC_URL: bad })).toThrow(ConfigError);
    expect(() => loadConfig({ PUBLIC_URL: bad })).toThrow(/PUBLIC_URL/);
  }
});
