// Requests that carry an Upgrade header, against the gateway process as `npm start` runs it. An
// upgrade the gateway refuses (another path, a foreign browser origin) or answers as plain HTTP,
// whose client resets the connection at once, does not take the process down; a request offering another protocol
// (`Upgrade: h2c`, as curl --http2 sends) is answered as the plain HTTP request it also is; a
// WebSocket upgrade still opens whatever the case of its Upgrade header.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewayChild, type GatewayChild } from '../support/gateway-child.js';

let dir: string;
let gateway: GatewayChild;
let host: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'upgrade-requests-'));
  gateway = await startGatewayChild({ DATA_DIR: join(dir, 'data'), INTEGRITY_KEY_FILE: join(dir, 'integrity-key') });
  host = new URL(gateway.url).host;
}, 90_000);
afterAll(async () => {
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const port = (): number => Number(new URL(gateway.url).port);

const WEBSOCKET_HEADERS = 'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n';

/** Sends `head` on a fresh connection and resets it (RST) as soon as it is written. */
function sendAndReset(head: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port(), '127.0.0.1', () => socket.write(head, () => resolve(void socket.resetAndDestroy())));
    socket.on('error', () => resolve());
  });
}

/** Sends `head` on a fresh connection; the first line the gateway answers (its status line). */
function statusLineFor(head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port(), '127.0.0.1', () => socket.write(head));
    let got = '';
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('latin1');
      if (got.includes('\r\n')) {
        socket.destroy();
        resolve(got.slice(0, got.indexOf('\r\n')));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed without an answer: ${JSON.stringify(got)}`)));
  });
}

/** An HTTP/1.1 request offering h2c, the way curl --http2 offers it; status, headers and body. */
function withH2cOffer(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: port(), method, path, agent: false, headers: { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAAQCAAAAAAIAAAAA', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('upgrades whose clients reset the connection at once leave the gateway running', async () => {
  const answered = [
    `GET /not-graphql HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n${WEBSOCKET_HEADERS}\r\n`,
    `GET /graphql HTTP/1.1\r\nHost: ${host}\r\nOrigin: https://evil.example\r\nUpgrade: websocket\r\n${WEBSOCKET_HEADERS}\r\n`,
    `GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`,
  ];
  // Each is answered as it should be when the client waits for the answer.
  expect(await statusLineFor(answered[0]!)).toBe('HTTP/1.1 404 Not Found');
  expect(await statusLineFor(answered[1]!)).toBe('HTTP/1.1 403 Forbidden');
  expect(await statusLineFor(answered[2]!)).toBe('HTTP/1.1 200 OK');
  // Writing the answer to a reset connection fails (ECONNRESET, EPIPE); only some resets land
  // before it is written, so each is tried many times.
  for (let i = 0; i < 40; i++) {
    for (const head of answered) await sendAndReset(head);
  }
  await new Promise((r) => setTimeout(r, 200));
  expect([gateway.child.exitCode, gateway.output()]).toEqual([null, expect.not.stringContaining('ECONNRESET')]);
  expect((await gateway.call('{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
}, 60_000);

test('a request offering h2c is served as plain HTTP; with a body it is refused (501), not served without it', async () => {
  const health = await withH2cOffer('GET', '/health');
  expect(health).toEqual({ status: 200, connection: 'close', body: JSON.stringify({ status: 'ok' }) });

  const query = await withH2cOffer('GET', `/graphql?query=${encodeURIComponent('{ __typename }')}`, { accept: 'application/json', 'x-graphql-yoga-csrf': '1' });
  expect([query.status, JSON.parse(query.body)]).toEqual([200, { data: { __typename: 'Query' } }]);

  const post = await withH2cOffer('POST', '/graphql', { 'content-type': 'application/json' }, JSON.stringify({ query: '{ __typename }' }));
  expect([post.status, post.connection, post.body]).toEqual([501, 'close', expect.stringContaining('without the Upgrade header')]);

  // The connection-level answers above did not disturb anything else.
  expect((await gateway.call('{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
}, 30_000);

test('a WebSocket upgrade opens whatever the case of its Upgrade header', async () => {
  expect(await statusLineFor(`GET /graphql HTTP/1.1\r\nHost: ${host}\r\nUpgrade: WebSocket\r\n${WEBSOCKET_HEADERS}\r\n`)).toBe('HTTP/1.1 101 Switching Protocols');
  expect(await statusLineFor(`GET /graphql HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n${WEBSOCKET_HEADERS}\r\n`)).toBe('HTTP/1.1 101 Switching Protocols');
});
