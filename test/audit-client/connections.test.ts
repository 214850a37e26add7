// Connection handling: keep-alive reuse per origin, an injected undici dispatcher, TLS failures,
// and no listeners left behind on a long-lived caller signal.
import { getEventListeners, setMaxListeners } from 'node:events';
import { Agent, type Dispatcher } from 'undici';
import { AuditClient, TlsError } from '../../src/audit-client/index.js';
import { envelope, expectNoToken, rejection, sendJson, startHttp, TOKEN, type TestServer } from './support/servers.js';

const ROOT = { data: { tree_name: 't', size: 1, root_hash: 'ab', published_at: 'p', url: 'u' } };

let server: TestServer;
beforeEach(async () => {
  server = await startHttp((_req, res) => sendJson(res, 200, envelope('Success', 'ok', ROOT)));
});
afterEach(async () => {
  await server.close();
});

test('calls reuse keep-alive connections', async () => {
  const client = new AuditClient({ baseUrl: server.url, token: TOKEN });
  try {
    for (let i = 0; i < 20; i++) await client.root();
    // undici releases a connection a tick after its body ends, so a call made at once after the
    // previous one may open a second; after that the two are reused.
    expect(server.connections).toBeLessThanOrEqual(2);
    // A burst opens what it needs; the pool then serves later calls without opening more.
    await Promise.all(Array.from({ length: 10 }, () => client.root()));
    const afterBurst = server.connections;
    for (let i = 0; i < 10; i++) await client.root();
    await Promise.all(Array.from({ length: 5 }, () => client.root()));
    expect(server.connections).toBe(afterBurst);
    expect(server.requests).toHaveLength(45);
  } finally {
    await client.close();
  }
});

test('an injected dispatcher carries every request and is not closed by the client', async () => {
  const seen: string[] = [];
  const agent = new Agent();
  const recording = agent.compose((dispatch: Dispatcher['dispatch']) => (options, handler) => {
    seen.push(`${options.method} ${options.path}`);
    return dispatch(options, handler);
  });
  const client = new AuditClient({ baseUrl: server.url, token: TOKEN, dispatcher: recording });
  await client.root();
  await client.pollResult('prq_x');
  await client.close();
  expect(seen).toEqual(['POST /v1/root', 'GET /request/prq_x']);
  // Still usable by its owner after the client closed.
  const again = new AuditClient({ baseUrl: server.url, token: TOKEN, dispatcher: recording });
  await again.root();
  expect(seen).toHaveLength(3);
  await again.close();
  await agent.close();
});

test('https to a plain-HTTP port is TlsError, before any request was sent', async () => {
  const client = new AuditClient({ baseUrl: server.url.replace('http:', 'https:'), token: TOKEN, retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } });
  try {
    const err = await rejection(client.log({ event: { message: 'm' } }));
    expect(err).toBeInstanceOf(TlsError);
    expect((err as TlsError).neverReachedServer).toBe(true);
    expect((err as TlsError).transient).toBe(false);
    expect(server.requests).toHaveLength(0);
    expectNoToken(err);
  } finally {
    await client.close();
  }
});

test('a long-lived caller signal is left without listeners after many calls', async () => {
  const client = new AuditClient({ baseUrl: server.url, token: TOKEN });
  const controller = new AbortController();
  // 25 calls in flight at once each follow the signal (as a gateway request's page of roots does).
  setMaxListeners(50, controller.signal);
  try {
    await Promise.all(Array.from({ length: 25 }, () => client.root({}, { signal: controller.signal })));
    for (let i = 0; i < 25; i++) await client.search({ query: '' }, { signal: controller.signal }).catch(() => undefined);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  } finally {
    await client.close();
  }
});
