// Subscription.auditEvents over GraphQL over WebSocket (graphql-ws) with real clients: the
// graphql-ws client and Apollo Client's GraphQLWsLink, against real gateways with their embedded
// local service. Events logged by another client arrive once each, in order; callers authenticate
// from the upgrade's Authorization header or from connectionParams; scopes hold; a foreign
// browser origin cannot open the socket. Mutations run over the socket too, under the same scopes.
import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { AuditClient } from '../../src/audit-client/index.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';
import { startSecureGateway, type SecureGateway } from '../security/support.js';
import { untilOpenLiveTails } from '../support/live-tail.js';
import { until } from '../support/wait.js';

const TAIL = `subscription ($q: String) { auditEvents(query: $q) { cursor verdictUpdate event { hash actor verification { verdict } } } }`;

const wsUrl = (httpUrl: string): string => httpUrl.replace(/^http/, 'ws');

const LOG = `mutation Log($event: AuditEventInput!) { log(event: $event) { __typename ... on LogResult { hash } ... on Error { message } } }`;

/** Runs one operation over a graphql-ws client: its single result. */
function once(client: Client, query: string, variables?: Record<string, unknown>): Promise<Json> {
  return new Promise((resolve, reject) => {
    let result: Json;
    client.subscribe<Json>({ query, ...(variables ? { variables } : {}) }, { next: (r) => (result = r), error: reject, complete: () => resolve(result) });
  });
}

/** Subscribes with a graphql-ws client; pushes and errors collected. */
function tail(client: Client, q: string): { hashes: string[]; errors: unknown[]; stop: () => void } {
  const hashes: string[] = [];
  const errors: unknown[] = [];
  const stop = client.subscribe<Json>(
    { query: TAIL, variables: { q } },
    {
      next: (r) => {
        if (r.errors) errors.push(...r.errors);
        const push = r.data?.auditEvents;
        if (push && !push.verdictUpdate) hashes.push(push.event.hash);
      },
      error: (e) => errors.push(e),
      complete: () => {},
    },
  );
  return { hashes, errors, stop };
}

describe('open gateway', () => {
  let gateway: TestGateway;
  let logger: AuditClient;
  beforeAll(async () => {
    gateway = await startTestGateway({ config: { liveTailIntervalMs: 50 } });
    logger = new AuditClient({ baseUrl: gateway.local!.url, token: gateway.local!.token });
  });
  afterAll(async () => {
    await logger.close();
    await gateway.close();
  });

  test('graphql-ws client: 300 events logged by another client arrive once each, in order', async () => {
    const client = createClient({ url: wsUrl(gateway.url), webSocketImpl: WebSocket, lazy: false });
    try {
      await untilOpenLiveTails(0);
      const sub = tail(client, 'actor:ws-tail');
      await untilOpenLiveTails(1);
      const logged: string[] = [];
      for (let i = 0; i < 300; i += 50) {
        const { result } = await logger.logBulk({ events: Array.from({ length: 50 }, (_, j) => ({ event: { message: `ws ${i + j}`, actor: 'ws-tail' } })) });
        logged.push(...result.results.map((r) => r.hash));
      }
      await logger.log({ event: { message: 'not for this query', actor: 'someone-else' } });
      await until(() => sub.hashes.length >= logged.length);
      await new Promise((r) => setTimeout(r, 200));
      expect(sub.errors).toEqual([]);
      expect(sub.hashes).toEqual(logged);
      sub.stop();
    } finally {
      await client.dispose();
    }
  });

  test('Apollo Client over GraphQLWsLink receives the pushed events with their verification', async () => {
    const wsClient = createClient({ url: wsUrl(gateway.url), webSocketImpl: WebSocket });
    const apollo = new ApolloClient({ link: new GraphQLWsLink(wsClient), cache: new InMemoryCache() });
    const got: Json[] = [];
    await untilOpenLiveTails(0);
    const subscription = apollo.subscribe({ query: gql(TAIL), variables: { q: 'actor:apollo-ws' } }).subscribe({ next: (r) => got.push(r.data) });
    try {
      await untilOpenLiveTails(1);
      const { result } = await logger.log({ event: { message: 'to apollo', actor: 'apollo-ws' } });
      await until(() => got.length >= 1);
      expect(got[0].auditEvents.event).toMatchObject({ hash: result.hash, actor: 'apollo-ws', verification: { verdict: 'PENDING' } });
    } finally {
      subscription.unsubscribe();
      await wsClient.dispose();
    }
  });

  test('a mutation over graphql-ws runs: the event is stored and the answer typed', async () => {
    const client = createClient({ url: wsUrl(gateway.url), webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const before = gateway.local!.log.size;
      const message = `over-websocket-${Date.now()}`;
      const result = await once(client, LOG, { event: { message, actor: 'ws-client' } });
      expect(result.errors).toBeUndefined();
      expect(result.data.log).toEqual({ __typename: 'LogResult', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(gateway.local!.log.size).toBe(before + 1);
      const found = await gateway.runOk(`query ($q: String!) { search(query: $q, first: 5) { ... on AuditEventConnection { edges { node { hash actor } } } } }`, { q: `message:${message}` });
      expect(found.search.edges).toEqual([{ node: { hash: result.data.log.hash, actor: 'ws-client' } }]);
    } finally {
      await client.dispose();
    }
  });

  test('a browser upgrade from a foreign origin is refused; the same origin is not', async () => {
    const opened = (origin: string): Promise<number | 'open'> =>
      new Promise((resolve) => {
        const ws = new WebSocket(wsUrl(gateway.url), 'graphql-transport-ws', { origin });
        ws.once('open', () => {
          ws.close();
          resolve('open');
        });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', () => undefined);
      });
    expect(await opened('https://evil.example')).toBe(403);
    expect(await opened(new URL(gateway.url).origin)).toBe('open');
  });
});

describe('gateway with API keys', () => {
  const READER = 'ws-reader-key-0123456789';
  const LOGGER = 'ws-logger-key-0123456789';
  let gw: SecureGateway;
  beforeAll(async () => {
    gw = await startSecureGateway(
      {
        kind: 'keys',
        file: undefined,
        inline: JSON.stringify({
          apiKeys: [
            { id: 'reader', key: READER, scopes: ['audit:search'] },
            { id: 'logger', key: LOGGER, scopes: ['audit:log'] },
          ],
        }),
      },
      { liveTailIntervalMs: 50 },
    );
  });
  afterAll(async () => {
    await gw.close();
  });

  /** How a connection ends: the close code, or 'open' when it was acknowledged. */
  const connect = (options: { headers?: Record<string, string>; connectionParams?: Record<string, unknown> }): Promise<number | 'acked'> =>
    new Promise((resolve) => {
      const client = createClient({
        url: wsUrl(gw.url),
        webSocketImpl: class extends WebSocket {
          constructor(url: string, protocols: string | string[]) {
            super(url, protocols, { headers: options.headers ?? {} });
          }
        },
        connectionParams: options.connectionParams ?? {},
        lazy: false,
        retryAttempts: 0,
        // The refused connections are expected: not worth a console.error each.
        onNonLazyError: () => undefined,
        on: {
          connected: () => {
            resolve('acked');
            void client.dispose();
          },
          closed: (event) => resolve((event as { code: number }).code),
        },
      });
    });

  test('no credentials or a wrong key: the connection is closed (4403) before any operation', async () => {
    expect(await connect({})).toBe(4403);
    expect(await connect({ connectionParams: { authorization: 'Bearer not-a-key' } })).toBe(4403);
  });

  test('the key from the upgrade header or from connectionParams opens the connection', async () => {
    expect(await connect({ headers: { authorization: `Bearer ${READER}` } })).toBe('acked');
    expect(await connect({ connectionParams: { authorization: `Bearer ${READER}` } })).toBe('acked');
  });

  test('a mutation over graphql-ws needs audit:log: a reader is refused with FORBIDDEN, a logger logs', async () => {
    const asReader = createClient({ url: wsUrl(gw.url), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${READER}` }, retryAttempts: 0 });
    const asLogger = createClient({ url: wsUrl(gw.url), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${LOGGER}` }, retryAttempts: 0 });
    try {
      const before = gw.running.local!.log.size;
      const denied = await once(asReader, LOG, { event: { message: 'refused over websocket' } });
      expect(denied.data).toEqual({ log: null });
      expect(denied.errors[0]).toMatchObject({ path: ['log'], extensions: { code: 'FORBIDDEN' } });
      expect(gw.running.local!.log.size).toBe(before);
      const logged = await once(asLogger, LOG, { event: { message: 'logged over websocket' } });
      expect(logged.errors).toBeUndefined();
      expect(logged.data.log.__typename).toBe('LogResult');
      expect(gw.running.local!.log.size).toBe(before + 1);
    } finally {
      await asReader.dispose();
      await asLogger.dispose();
    }
  });

  test('the subscription needs audit:search: a logger is refused with FORBIDDEN', async () => {
    const client = createClient({ url: wsUrl(gw.url), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${LOGGER}` }, retryAttempts: 0 });
    try {
      const sub = tail(client, '');
      await until(() => sub.errors.length > 0);
      expect(JSON.stringify(sub.errors)).toContain('FORBIDDEN');
      expect(sub.hashes).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});
