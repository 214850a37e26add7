// Result-file downloads: streamed to a Writable or a path, no Authorization header (the URL may be
// another origin), optional gunzip, retries only where they cannot duplicate bytes.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { AuditClient, ConnectionResetError, DownloadError, NotFoundError } from '../../src/audit-client/index.js';
import { envelope, expectNoToken, rawHead, rejection, sendJson, startHttp, startRaw, TOKEN, type TestServer } from './support/servers.js';

const CSV = 'received_at,message\n2024-01-01T00:00:00.000000Z,hello\n'.repeat(2000);
const GZ = gzipSync(CSV);

class Collector extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.chunks.push(chunk);
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

let dir: string;
let server: TestServer;
let client: AuditClient;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'audit-client-dl-'));
});
afterEach(async () => {
  await client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('downloadResults then downloadFile: gunzipped into a Writable, without the token', async () => {
  server = await startHttp((req, res) => {
    if (req.url === '/v1/download_results') {
      return sendJson(res, 200, envelope('Success', 'ok', { dest_url: `${server.url}/files/abc.csv.gz`, expires_at: '2030-01-01T00:00:00Z' }));
    }
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': GZ.length });
    res.end(GZ);
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN });
  const link = await client.downloadResults({ result_id: 'pas_123', format: 'csv' });
  const sink = new Collector();
  const file = await client.downloadFile(link.result.dest_url, sink, { decompress: true });
  expect(sink.text()).toBe(CSV);
  expect(file).toEqual({ bytes: GZ.length, httpStatus: 200, contentType: 'application/gzip' });
  expect(JSON.parse(server.requests[0]!.body)).toEqual({ result_id: 'pas_123', format: 'csv' });
  const fileRequest = server.requests[1]!;
  expect(fileRequest.method).toBe('GET');
  expect(fileRequest.headers.authorization).toBeUndefined();
});

test('to a path: written whole, retried after a mid-body reset, no partial files left', async () => {
  server = await startRaw((socket, _text, index) => {
    if (index === 0) {
      socket.write(rawHead('200 OK', { 'content-type': 'application/gzip', 'content-length': GZ.length }));
      socket.write(GZ.subarray(0, 100));
      setTimeout(() => socket.resetAndDestroy(), 20);
      return;
    }
    socket.end(Buffer.concat([Buffer.from(rawHead('200 OK', { 'content-type': 'application/gzip', 'content-length': GZ.length, connection: 'close' })), GZ]));
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 10 } });
  const target = join(dir, 'out.csv.gz');
  const file = await client.downloadFile(`${server.url}/files/x`, target);
  expect(file.bytes).toBe(GZ.length);
  expect(readFileSync(target).equals(GZ)).toBe(true);
  expect(server.requests).toHaveLength(2);
  expect(readdirSync(dir)).toEqual(['out.csv.gz']);
});

test('to a Writable: a failure after bytes were delivered is not retried', async () => {
  server = await startRaw((socket) => {
    socket.write(rawHead('200 OK', { 'content-type': 'text/csv', 'content-length': 10_000 }));
    socket.write('partial,data\n');
    setTimeout(() => socket.resetAndDestroy(), 20);
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, retry: { retries: 3, baseDelayMs: 5, maxDelayMs: 10 } });
  const sink = new Collector();
  const err = await rejection(client.downloadFile(`${server.url}/files/x`, sink));
  expect(err).toBeInstanceOf(ConnectionResetError);
  expect(server.requests).toHaveLength(1);
  expect(sink.text()).toBe('partial,data\n');
  expectNoToken(err);
});

test('HTTP errors: an error envelope maps by status, anything else is DownloadError', async () => {
  server = await startHttp((req, res) => {
    if (req.url === '/files/expired') return sendJson(res, 404, envelope('NotFound', 'the download link has expired', null));
    res.writeHead(403, { 'content-type': 'application/xml' });
    res.end('<Error><Code>AccessDenied</Code></Error>');
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN });
  const target = join(dir, 'never.csv');
  const expired = await rejection(client.downloadFile(`${server.url}/files/expired`, target));
  expect(expired).toBeInstanceOf(NotFoundError);
  const denied = await rejection(client.downloadFile(`${server.url}/files/s3`, target));
  expect(denied).toBeInstanceOf(DownloadError);
  expect((denied as DownloadError).httpStatus).toBe(403);
  expect((denied as DownloadError).transient).toBe(false);
  expect(readdirSync(dir)).toEqual([]);
  expectNoToken(expired);
  expectNoToken(denied);
});

test('a body that is not gzip fails clearly when decompressing', async () => {
  server = await startHttp((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/gzip' });
    res.end('this is not gzip');
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN });
  const err = await rejection(client.downloadFile(`${server.url}/f`, join(dir, 'x'), { decompress: true }));
  expect(err).toBeInstanceOf(DownloadError);
  expect((err as DownloadError).code).toBe('BAD_GZIP');
  expect(readdirSync(dir)).toEqual([]);
});

test("a file that arrives slowly is not cut by the API calls' total deadline, only by silence", async () => {
  // 20 slices 50 ms apart: about a second in all, while an API call on these timeouts would be
  // given up after 600 ms (headersMs + 2 × bodyMs). Each gap is well inside bodyMs.
  const slices = 20;
  const size = Math.ceil(GZ.length / slices);
  server = await startHttp((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': GZ.length });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(GZ.subarray(sent, sent + size));
      sent += size;
      if (sent >= GZ.length) {
        clearInterval(timer);
        res.end();
      }
    }, 50);
    res.on('close', () => clearInterval(timer));
  });
  client = new AuditClient({ baseUrl: server.url, token: TOKEN, timeouts: { headersMs: 200, bodyMs: 200 } });
  const started = performance.now();
  const sink = new Collector();
  const file = await client.downloadFile(`${server.url}/files/slow`, sink, { decompress: true });
  expect(performance.now() - started).toBeGreaterThan(600);
  expect(file.bytes).toBe(GZ.length);
  expect(sink.text()).toBe(CSV);
});
