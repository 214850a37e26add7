// A subscription does not outlive the JWT that opened it. A WebSocket authenticated with a token is
// closed (4403, graphql-ws's Forbidden) when the token's `exp` passes, its live tails with it; a
// live tail over SSE ends with an UNAUTHENTICATED error. An API key does not expire: a socket
// opened with one goes on. Real gateway, embedded local service, real graphql-ws and graphql-sse
// clients.
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { AuditClient } from '../../src/audit-client/index.js';
import type { Json } from '../support/gateway.js';
import { untilOpenLiveTails } from '../support/live-tail.js';
import { startSecureGateway, type SecureGateway } from './support.js';
import { until, pause } from '../support/wait.js';

const HS_SECRET = 'an-hs256-secret-for-expiry-tests-0123456';
const KEY = 'expiry-reader-key-0123456789';
const TAIL = 'subscription ($q: String) { auditEvents(query: $q) { cursor event { hash } } }';

/** A token for the tail that expires `seconds` from now (JWT expiry is in whole seconds). */
async function tokenFor(seconds: number): Promise<{ token: string; expiresAtMs: number }> {
  const exp = Math.floor(Date.now() / 1000) + seconds;
  const token = await new SignJWT({ scope: 'audit:search' }).setProtectedHeader({ alg: 'HS256' }).setSubject('tail-svc').setExpirationTime(exp).sign(new TextEncoder().encode(HS_SECRET));
  return { token, expiresAtMs: exp * 1000 };
}

interface Tail {
  hashes: string[];
  errors: Json[];
  /** When the stream ended (completed or failed), once it has. */
  endedAt: number | undefined;
  stop: () => void;
}

/** Collects a subscription's pushes from either client (both take { query, variables } and a sink). */
function tail(client: Pick<WsClient, 'subscribe'>, q: string): Tail {
  const t: Tail = { hashes: [], errors: [], endedAt: undefined, stop: () => {} };
  t.stop = client.subscribe<Json>(
    { query: TAIL, variables: { q } },
    {
      next: (r) => {
        if (r.errors) t.errors.push(...r.errors);
        if (r.data?.auditEvents) t.hashes.push(r.data.auditEvents.event.hash);
      },
      error: (e) => {
        t.errors.push(e as Json);
        t.endedAt ??= Date.now();
      },
      complete: () => (t.endedAt ??= Date.now()),
    },
  );
  return t;
}

let gw: SecureGateway;
let logger: AuditClient;
beforeAll(async () => {
  gw = await startSecureGateway(
    { kind: 'keys', file: undefined, inline: JSON.stringify({ apiKeys: [{ id: 'reader', key: KEY, scopes: ['audit:search'] }], jwt: { hs256Secret: HS_SECRET } }) },
    { liveTailIntervalMs: 50 },
  );
  logger = new AuditClient({ baseUrl: gw.running.local!.url, token: gw.running.local!.token });
});
afterAll(async () => {
  await logger.close();
  await gw.close();
});

const log = async (actor: string, message: string): Promise<string> => (await logger.log({ event: { actor, message } })).result.hash;

test('WebSocket: the socket of an expired token is closed with 4403 and its tail stops; a key’s socket goes on', async () => {
  const { token, expiresAtMs } = await tokenFor(3);
  const closes: { code: number; at: number }[] = [];
  const url = gw.url.replace(/^http/, 'ws');
  const withToken = createWsClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: { closed: (event) => closes.push({ code: (event as { code: number }).code, at: Date.now() }) },
  });
  const withKey = createWsClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${KEY}` }, retryAttempts: 0 });
  try {
    await untilOpenLiveTails(0);
    const byToken = tail(withToken, 'actor:ws-expiry');
    const byKey = tail(withKey, 'actor:ws-expiry');
    await untilOpenLiveTails(2);
    const before = await log('ws-expiry', 'before expiry');
    await until(() => byToken.hashes.length === 1 && byKey.hashes.length === 1, 10_000);
    expect(byToken.hashes).toEqual([before]);

    await until(() => closes.length > 0, expiresAtMs - Date.now() + 5_000);
    expect(closes[0]!.code).toBe(4403);
    expect(closes[0]!.at).toBeGreaterThanOrEqual(expiresAtMs);
    await untilOpenLiveTails(1);

    const after = await log('ws-expiry', 'after expiry');
    await until(() => byKey.hashes.length === 2, 10_000);
    await pause(200);
    expect(byToken.hashes).toEqual([before]);
    expect(byKey.hashes).toEqual([before, after]);
    expect(byKey.errors).toEqual([]);
    byKey.stop();
  } finally {
    await withToken.dispose();
    await withKey.dispose();
  }
}, 30_000);

test('SSE: the tail of an expired token ends with UNAUTHENTICATED', async () => {
  const { token, expiresAtMs } = await tokenFor(3);
  const sse = createSseClient({ url: gw.url, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  try {
    await untilOpenLiveTails(0);
    const t = tail(sse, 'actor:sse-expiry');
    await untilOpenLiveTails(1);
    const before = await log('sse-expiry', 'before expiry');
    await until(() => t.hashes.length === 1, 10_000);

    await until(() => t.endedAt !== undefined, expiresAtMs - Date.now() + 5_000);
    expect(t.endedAt!).toBeGreaterThanOrEqual(expiresAtMs);
    expect(t.errors).toEqual([expect.objectContaining({ message: expect.stringContaining('expired'), extensions: { code: 'UNAUTHENTICATED' } })]);
    await untilOpenLiveTails(0);

    await log('sse-expiry', 'after expiry');
    await pause(200);
    expect(t.hashes).toEqual([before]);
    // The token is refused from then on, as over any request.
    const again = await gw.call('{ __typename }', token);
    expect(again.status).toBe(401);
  } finally {
    sse.dispose();
  }
}, 30_000);

test('a token valid for longer than a timer can wait (about 24.8 days) is not taken as expired', async () => {
  const { token } = await tokenFor(40 * 24 * 3600);
  const closes: number[] = [];
  const client = createWsClient({
    url: gw.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: { closed: (event) => closes.push((event as { code: number }).code) },
  });
  try {
    await untilOpenLiveTails(0);
    const byToken = tail(client, 'actor:long-token');
    const sse = createSseClient({ url: gw.url, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    const bySse = tail(sse, 'actor:long-token');
    await untilOpenLiveTails(2);
    await pause(300);
    const logged = await log('long-token', 'still valid');
    await until(() => byToken.hashes.length === 1 && bySse.hashes.length === 1, 10_000);
    expect([byToken.hashes, bySse.hashes]).toEqual([[logged], [logged]]);
    expect([closes, byToken.errors, bySse.errors, byToken.endedAt, bySse.endedAt]).toEqual([[], [], [], undefined, undefined]);
    byToken.stop();
    bySse.stop();
    sse.dispose();
  } finally {
    await client.dispose();
  }
});
