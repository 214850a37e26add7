// GraphiQL's page on the gateway's listener: compressed per Accept-Encoding (brotli, gzip or none),
// with a strong ETag per encoding that a browser revalidates with If-None-Match (a 304 without a
// body), `Cache-Control: no-cache` and `Vary: accept-encoding`.
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { chooseEncoding } from '../../src/gateway/graphiql.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET whose body comes back as sent (fetch would decompress it). */
function rawGet(url: string, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

let gw: TestGateway;
let raw: RawAnswer;

beforeAll(async () => {
  gw = await startTestGateway();
  raw = await rawGet(gw.url, { accept: 'text/html' });
});
afterAll(async () => {
  await gw?.close();
});

test('without Accept-Encoding the page is sent as it is, with an ETag and no-cache', () => {
  expect(raw.status).toBe(200);
  expect(raw.headers['content-encoding']).toBeUndefined();
  expect(raw.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(raw.headers['cache-control']).toBe('no-cache');
  expect(raw.headers.vary).toBe('accept-encoding');
  expect(raw.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
  expect(Number(raw.headers['content-length'])).toBe(raw.body.length);
  const html = raw.body.toString('utf8');
  expect(html).toContain('<title>Audit Gateway</title>');
  expect(html).toContain('RecentEvents');
});

test('gzip: the body decompresses to the page; If-None-Match with its ETag is a 304 without a body', async () => {
  const zipped = await rawGet(gw.url, { accept: 'text/html', 'accept-encoding': 'gzip' });
  expect(zipped.status).toBe(200);
  expect(zipped.headers['content-encoding']).toBe('gzip');
  expect(zipped.headers.vary).toBe('accept-encoding');
  expect(Number(zipped.headers['content-length'])).toBe(zipped.body.length);
  expect(gunzipSync(zipped.body).equals(raw.body)).toBe(true);
  // gzip at level 6 leaves the page at about 27% of its size (brotli, below, under a quarter).
  expect(zipped.body.length).toBeLessThan(raw.body.length * 0.3);

  const etag = zipped.headers.etag as string;
  expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
  expect(etag).not.toBe(raw.headers.etag);

  const again = await rawGet(gw.url, { accept: 'text/html', 'accept-encoding': 'gzip', 'if-none-match': etag });
  expect(again.status).toBe(304);
  expect(again.body.length).toBe(0);
  expect(again.headers.etag).toBe(etag);
  expect(again.headers['cache-control']).toBe('no-cache');

  // A validator of another page (or another encoding) gets the whole page.
  const stale = await rawGet(gw.url, { accept: 'text/html', 'accept-encoding': 'gzip', 'if-none-match': '"not-this-page"' });
  expect(stale.status).toBe(200);
  expect(stale.body.equals(zipped.body)).toBe(true);
  const otherEncoding = await rawGet(gw.url, { accept: 'text/html', 'if-none-match': etag });
  expect(otherEncoding.status).toBe(200);
  expect(otherEncoding.body.length).toBe(raw.body.length);
});

test('brotli when the browser accepts it: under a quarter of the raw page, and revalidated like gzip', async () => {
  const br = await rawGet(gw.url, { accept: 'text/html,application/xhtml+xml', 'accept-encoding': 'gzip, deflate, br, zstd' });
  expect(br.status).toBe(200);
  expect(br.headers['content-encoding']).toBe('br');
  expect(brotliDecompressSync(br.body).equals(raw.body)).toBe(true);
  expect(br.body.length).toBeLessThan(raw.body.length / 4);
  const again = await rawGet(gw.url, { accept: 'text/html', 'accept-encoding': 'br', 'if-none-match': `W/${br.headers.etag as string}` });
  expect(again.status).toBe(304);
  expect(again.body.length).toBe(0);
});

test('a GraphQL GET (no text/html) still reaches yoga', async () => {
  const res = await rawGet(`${gw.url}?query=${encodeURIComponent('{ __typename }')}`, { accept: 'application/json', 'accept-encoding': 'gzip', 'x-graphql-yoga-csrf': '1' });
  expect(res.status).toBe(200);
  expect(JSON.parse(res.body.toString('utf8'))).toEqual({ data: { __typename: 'Query' } });
});

test('Accept-Encoding negotiation: q=0 refuses, * accepts, brotli preferred at equal weight', () => {
  expect(chooseEncoding(undefined)).toBe('identity');
  expect(chooseEncoding('gzip')).toBe('gzip');
  expect(chooseEncoding('gzip, br')).toBe('br');
  expect(chooseEncoding('br;q=0, gzip')).toBe('gzip');
  expect(chooseEncoding('br;q=0.5, gzip;q=0.8')).toBe('gzip');
  expect(chooseEncoding('*')).toBe('br');
  expect(chooseEncoding('*;q=0')).toBe('identity');
  expect(chooseEncoding('identity, deflate')).toBe('identity');
});

test("GraphiQL's renderer module (the whole page as source) is loaded by the first page rendered, not with the gateway", () => {
  // A fresh process: this one has rendered the page above.
  const script = `
    import { createRequire } from 'node:module';
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('render-graphiql'));
    await import('./src/gateway/server.ts');
    const { renderGraphiQL } = await import('./src/gateway/graphiql.ts');
    const before = loaded();
    const html = renderGraphiQL({ title: 'check' });
    console.log(JSON.stringify({ before, after: loaded(), page: html.includes('<title>check</title>') }));
  `;
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(run.stderr).toBe('');
  expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toEqual({ before: false, after: true, page: true });
});
