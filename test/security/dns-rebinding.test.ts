// DNS rebinding against real gateways on 127.0.0.1. Without caller authentication every request
// runs as the all-scopes local caller, so a page whose own name (rebind.evil.example) was made to
// resolve to 127.0.0.1 must not be served: its requests and WebSocket upgrades still carry that
// name in Host. Loopback names, PUBLIC_URL's host and ALLOWED_HOSTS are served; /health and
// /ready answer any name. With callers authenticating, Host is not checked (a browser sends no
// Authorization header of its own accord), but a WebSocket's browser Origin must still be one the
// gateway accepts, not merely the Host's.
import { rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { AuditClient } from '../../src/audit-client/index.js';
import { allowedHosts, ConfigError, loadConfig } from '../../src/config.js';
import { CursorCodec } from '../../src/graphql/cursor.js';
import { createUpstreamState } from '../../src/graphql/upstream-state.js';
import { createGateway } from '../../src/gateway/server.js';
import { startLocalAudit } from '../../src/local-audit/index.js';
import { startTestGateway, tempDir, type Json, type TestGateway } from '../support/gateway.js';
import { startSecureGateway, type SecureGateway } from './support.js';

const REBOUND = 'rebind.evil.example:4000';
const LOG = `mutation { log(event: {message: "rebinding", actor: "page"}) { __typename ... on LogResult { hash } ... on Error { message } } }`;

interface Answer {
  status: number;
  type: string | undefined;
  text: string;
}

/** One request to the listener at `url`, addressed (Host) to `host`. */
function send(url: string, host: string, options: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: options.method ?? 'GET',
        path: options.path ?? target.pathname,
        agent: false,
        headers: { host, ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}), ...options.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** POSTs a JSON GraphQL request as a rebound page would (same origin as far as the browser knows). */
function postGraphQL(url: string, host: string, query: string, headers: Record<string, string> = {}): Promise<Answer> {
  return send(url, host, { method: 'POST', headers: { 'content-type': 'application/json', origin: `http://${host}`, ...headers }, body: JSON.stringify({ query }) });
}

/** A graphql-ws upgrade addressed to `host`: 'open', or the status it was refused with. */
function upgrade(url: string, host: string, options: { origin?: string; headers?: Record<string, string> } = {}): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: { host, ...options.headers }, ...(options.origin ? { origin: options.origin } : {}) });
    ws.once('open', () => {
      ws.close();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', () => undefined);
  });
}

const json = (answer: Answer): Json => JSON.parse(answer.text);

describe('GATEWAY_AUTH=none', () => {
  let gw: TestGateway;
  let port: string;
  beforeAll(async () => {
    gw = await startTestGateway();
    port = new URL(gw.url).port;
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('a JSON POST addressed to a rebound name is refused (421) and runs nothing', async () => {
    const before = gw.local!.log.size;
    const refused = await postGraphQL(gw.url, REBOUND, LOG);
    expect(refused.status).toBe(421);
    expect(refused.type).toMatch(/^text\/plain/);
    expect(refused.text).toMatch(/ALLOWED_HOSTS/);
    expect(gw.local!.log.size).toBe(before);
    // A read too: nothing of the log is answered.
    expect((await postGraphQL(gw.url, REBOUND, '{ __typename }')).status).toBe(421);
  });

  test('GraphiQL, GET /graphql, downloads and metrics addressed to a rebound name are refused too', async () => {
    expect((await send(gw.url, REBOUND, { headers: { accept: 'text/html' } })).status).toBe(421);
    expect((await send(gw.url, REBOUND, { path: '/graphql?query=%7B__typename%7D', headers: { 'x-graphql-yoga-csrf': '1' } })).status).toBe(421);
    expect((await send(gw.url, REBOUND, { path: '/downloads/anything' })).status).toBe(421);
    expect((await send(gw.url, REBOUND, { path: '/metrics' })).status).toBe(421);
    // The same requests addressed to the loopback address are served.
    expect((await send(gw.url, `127.0.0.1:${port}`, { path: '/graphql?query=%7B__typename%7D', headers: { 'x-graphql-yoga-csrf': '1' } })).status).toBe(200);
    expect((await send(gw.url, `127.0.0.1:${port}`, { path: '/metrics' })).status).toBe(200);
  });

  test('/health and /ready answer whatever name they are addressed to (probes of an address)', async () => {
    expect(json(await send(gw.url, REBOUND, { path: '/health' }))).toEqual({ status: 'ok' });
    const ready = await send(gw.url, '10.1.2.3:4000', { path: '/ready' });
    expect([200, 503]).toContain(ready.status);
    expect(json(ready).status).toMatch(/ready/);
  });

  test('a WebSocket upgrade addressed to a rebound name, from that same origin, is refused', async () => {
    expect(await upgrade(gw.url, REBOUND, { origin: `http://${REBOUND}` })).toBe(421);
    // Not a browser (no Origin): still refused, Host decides.
    expect(await upgrade(gw.url, REBOUND)).toBe(421);
  });

  test('loopback names are served: localhost, 127.0.0.1, *.localhost and [::1], with any port', async () => {
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `LocalHost:${port}`, `app.localhost:${port}`, `[::1]:${port}`, '127.0.0.2:80', 'localhost']) {
      const answer = await postGraphQL(gw.url, host, LOG);
      expect({ host, status: answer.status }).toEqual({ host, status: 200 });
      expect(json(answer).data.log).toEqual({ __typename: 'LogResult', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    }
    expect(await upgrade(gw.url, `localhost:${port}`, { origin: `http://localhost:${port}` })).toBe('open');
    expect(await upgrade(gw.url, `127.0.0.1:${port}`, { origin: `http://127.0.0.1:${port}` })).toBe('open');
  });

  test('a name that only looks like loopback is refused', async () => {
    for (const host of ['localhost.evil.example:4000', '127.0.0.1.evil.example', 'evil.example@localhost', 'localhost:4000@evil.example']) {
      expect({ host, status: (await postGraphQL(gw.url, host, '{ __typename }')).status }).toEqual({ host, status: 421 });
    }
  });

  test('a browser Origin on the loopback Host must itself be accepted: a foreign page is refused (403)', async () => {
    expect(await upgrade(gw.url, `127.0.0.1:${port}`, { origin: `http://${REBOUND}` })).toBe(403);
  });
});

describe('PUBLIC_URL', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { publicUrl: 'https://audit.example.com/base' } });
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('its host is served, any port; its origin may open a WebSocket; another name is refused', async () => {
    expect((await postGraphQL(gw.url, 'audit.example.com', '{ __typename }')).status).toBe(200);
    expect((await postGraphQL(gw.url, 'AUDIT.example.com:8443', '{ __typename }')).status).toBe(200);
    expect((await postGraphQL(gw.url, 'other.example.com', '{ __typename }')).status).toBe(421);
    expect(await upgrade(gw.url, 'audit.example.com', { origin: 'https://audit.example.com' })).toBe('open');
    expect(await upgrade(gw.url, 'other.example.com', { origin: 'https://other.example.com' })).toBe(421);
  });
});

describe('ALLOWED_HOSTS', () => {
  const dataDir = tempDir();
  let local: Awaited<ReturnType<typeof startLocalAudit>>;
  let client: AuditClient;
  let url: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    local = await startLocalAudit({ dataDir, port: 0, publishIntervalMs: 0, token: 'test-token', onError: () => {} });
    client = new AuditClient({ baseUrl: local.url, token: local.token });
    const { server, webSocket } = createGateway({
      client,
      upstream: createUpstreamState({ client, oneEventPerLeaf: true, trustOnFirstUse: true }),
      cursors: new CursorCodec(Buffer.from('test')),
      allowedHosts: loadConfig({ ALLOWED_HOSTS: 'Audit.Internal, 10.0.0.5' }).allowedHosts!,
      corsOrigins: ['http://audit.internal:8080'],
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    close = async () => {
      await webSocket?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
  });
  afterAll(async () => {
    await close?.();
    await client?.close();
    await local?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('listed names are served with any port, as the local caller; others are refused', async () => {
    for (const host of ['audit.internal:8080', 'audit.internal', 'AUDIT.INTERNAL.', '10.0.0.5:4000']) {
      const answer = await postGraphQL(url, host, LOG);
      expect({ host, status: answer.status }).toEqual({ host, status: 200 });
      expect(json(answer).data.log.__typename).toBe('LogResult');
    }
    for (const host of ['other.internal:8080', 'x.audit.internal', '10.0.0.6']) {
      expect({ host, status: (await postGraphQL(url, host, '{ __typename }')).status }).toEqual({ host, status: 421 });
    }
  });

  test('a WebSocket upgrade to a listed name is served; a browser page there needs its origin listed (CORS_ORIGINS)', async () => {
    expect(await upgrade(url, 'audit.internal:8080')).toBe('open');
    expect(await upgrade(url, 'audit.internal:8080', { origin: 'http://audit.internal:8080' })).toBe('open');
    expect(await upgrade(url, 'audit.internal:9090', { origin: 'http://audit.internal:9090' })).toBe(403);
    expect(await upgrade(url, 'other.internal:8080', { origin: 'http://audit.internal:8080' })).toBe(421);
  });
});

test('ALLOWED_HOSTS reaches the gateway npm start runs (startGateway)', async () => {
  const gw = await startTestGateway({ config: { allowedHosts: loadConfig({ ALLOWED_HOSTS: 'audit.internal' }).allowedHosts } });
  try {
    expect((await postGraphQL(gw.url, 'audit.internal:4000', '{ __typename }')).status).toBe(200);
    expect((await postGraphQL(gw.url, 'other.internal:4000', '{ __typename }')).status).toBe(421);
  } finally {
    await gw.close();
  }
});

test('ALLOWED_HOSTS is read as host names: lower case, no port, scheme or wildcard', () => {
  expect(loadConfig({}).allowedHosts).toEqual([]);
  expect(allowedHosts(' Audit.Internal ,10.0.0.5,[fd00::1], gateway. ')).toEqual(['audit.internal', '10.0.0.5', '[fd00::1]', 'gateway']);
  for (const bad of ['http://audit.internal', 'audit.internal:8080', '*.internal', 'audit.internal/graphql', 'fd00::1']) {
    expect(() => allowedHosts(bad)).toThrow(ConfigError);
  }
});

describe('callers authenticate (GATEWAY_AUTH=keys)', () => {
  const LOGGER = 'rebinding-logger-key-0123456789';
  let gw: SecureGateway;
  beforeAll(async () => {
    gw = await startSecureGateway({ kind: 'keys', file: undefined, inline: JSON.stringify({ apiKeys: [{ id: 'logger', key: LOGGER, scopes: ['audit:log'] }] }) });
  });
  afterAll(async () => {
    await gw?.close();
  });

  test('any Host is served: the credentials decide (a rebound page has none)', async () => {
    const before = gw.running.local!.log.size;
    const anonymous = await postGraphQL(gw.url, REBOUND, LOG);
    expect(anonymous.status).toBe(401);
    expect(gw.running.local!.log.size).toBe(before);
    const logged = await postGraphQL(gw.url, REBOUND, LOG, { authorization: `Bearer ${LOGGER}` });
    expect(logged.status).toBe(200);
    expect(json(logged).data.log.__typename).toBe('LogResult');
    expect(await upgrade(gw.url, REBOUND, { headers: { authorization: `Bearer ${LOGGER}` } })).toBe('open');
  });

  test('a WebSocket from a browser page is accepted for its origin, not for matching the Host it names', async () => {
    expect(await upgrade(gw.url, REBOUND, { origin: `http://${REBOUND}` })).toBe(403);
    const port = new URL(gw.url).port;
    expect(await upgrade(gw.url, `localhost:${port}`, { origin: `http://localhost:${port}` })).toBe('open');
  });
});
