// Subscription.auditEvents over GraphQL over WebSocket (graphql-ws) with real clients: the
// graphql-ws client and Apollo Client's GraphQLWsLink, against real gateways with their embedded
// local service. Events logged by another client arrive once each, in order; callers authenticate
// from the upgrade's Authorization header or from connectionParams; scopes hold; a foreign
// browser origin cannot open the socket. Mutations run over the socket too, under the same scopes.
// An operation refused before it runs (a limit, a context that cannot be built, an executor that
// throws) gets its own error and the socket's other operations go on; at a credential's expiry
// every open operation is told. The context, executor and expiry cases run over a stub envelop.
import { createServer, type Server } from 'node:http';
import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient, type Client } from 'graphql-ws';
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, execute, parse, subscribe, validate, type ExecutionArgs } from 'graphql';
import WebSocket from 'ws';
import { AuditClient } from '../../src/audit-client/index.js';
import type { Caller } from '../../src/auth/caller.js';
import { attachGraphQLWebSocket, type GraphQLWebSocket } from '../../src/gateway/websocket.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';
import { startSecureGateway, type SecureGateway } from '../security/support.js';
import { untilOpenLiveTails } from '../support/live-tail.js';
import { until, pause } from '../support/wait.js';

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

/** How one operation over a graphql-ws client ended: its results, and its error or completion. */
function outcome(client: Client, query: string): Promise<{ results: Json[]; error: Json; completed: boolean }> {
  return new Promise((resolve) => {
    const results: Json[] = [];
    client.subscribe<Json>({ query }, { next: (r) => results.push(r), error: (error) => resolve({ results, error, completed: false }), complete: () => resolve({ results, error: undefined, completed: true }) });
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

  test('an operation over the alias, directive or depth limit gets its own error, as over HTTP; the live tail on the socket goes on', async () => {
    const closes: number[] = [];
    const client = createClient({ url: wsUrl(gateway.url), webSocketImpl: WebSocket, retryAttempts: 0, on: { closed: (event) => closes.push((event as { code: number }).code) } });
    const overLimits: [string, string][] = [
      [`{ ${Array.from({ length: 16 }, (_, i) => `a${i}: __type(name: "Query") { name }`).join(' ')} }`, 'Syntax Error: Aliases limit of 15 exceeded, found 16.'],
      ['{ __typename @a @b @c @d @e @f @g @h @i @j @k }', 'Syntax Error: Directives limit of 10 exceeded, found 11.'],
      [`{ __schema { types { ${'fields { type { '.repeat(11)}name${' } }'.repeat(11)} } } }`, 'Syntax Error: Query depth limit of 20 exceeded, found 25.'],
    ];
    try {
      await untilOpenLiveTails(0);
      const sub = tail(client, 'actor:ws-limits');
      await untilOpenLiveTails(1);
      const first = (await logger.log({ event: { message: 'before the refusals', actor: 'ws-limits' } })).result.hash;
      await until(() => sub.hashes.length === 1);
      for (const [query, message] of overLimits) {
        const answer = await outcome(client, query);
        expect(answer).toEqual({ results: [], error: [{ message }], completed: false });
        // The errors HTTP answers the same document with.
        expect((await gateway.graphql(query)).body).toEqual({ errors: answer.error });
      }
      const next = (await logger.log({ event: { message: 'after the refusals', actor: 'ws-limits' } })).result.hash;
      await until(() => sub.hashes.length === 2);
      expect(sub.hashes).toEqual([first, next]);
      expect(sub.errors).toEqual([]);
      expect(closes).toEqual([]);
      sub.stop();
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

describe('the WebSocket server alone, over a stub envelop', () => {
  // What the real gateway's plugins do not bring about on demand (a context that cannot be built,
  // an executor that throws, operations that run until stopped and have no expiry of their own),
  // a stub envelop does, by operation name. The request signal of each operation is kept.
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: { hello: { type: GraphQLString, resolve: () => 'hi' }, slow: { type: GraphQLString, resolve: (_root, _args, ctx: StubContext) => untilAborted(ctx.signal) } },
    }),
    mutation: new GraphQLObjectType({ name: 'Mutation', fields: { slowWrite: { type: GraphQLString, resolve: (_root, _args, ctx: StubContext) => untilAborted(ctx.signal) } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        ticks: {
          type: GraphQLInt,
          subscribe: async function* () {
            for (let i = 0; ; i++) {
              await pause(20);
              yield i;
            }
          },
          resolve: (n: number) => n,
        },
      },
    }),
  });
  interface StubContext {
    signal: AbortSignal;
  }
  const untilAborted = (signal: AbortSignal): Promise<string> => new Promise((resolve) => signal.addEventListener('abort', () => resolve('aborted'), { once: true }));

  interface Stub {
    url: string;
    /** Each operation's request signal, by operation name. */
    signals: Map<string, AbortSignal>;
    logged: unknown[];
    close(): Promise<void>;
  }
  async function startStub(authenticate?: () => Caller): Promise<Stub> {
    const signals = new Map<string, AbortSignal>();
    const logged: unknown[] = [];
    const server: Server = createServer((_req, res) => res.end());
    const ws: GraphQLWebSocket = attachGraphQLWebSocket(server, {
      path: '/graphql',
      acceptsOrigin: () => true,
      authenticate,
      logError: (err) => logged.push(err),
      toRequest: (u, headers, signal) => new Request(u, { method: 'POST', headers, signal }),
      getEnveloped: (initial) => {
        const name = (initial.params as { operationName?: string }).operationName ?? '';
        const signal = (initial.request as Request).signal;
        signals.set(name, signal);
        return {
          schema,
          parse: (source) => parse(source),
          validate: (s, document) => validate(s, document),
          contextFactory: (): StubContext => {
            if (name === 'NoContext') throw new Error('the context builder failed: internal detail');
            return { signal };
          },
          execute: (args: ExecutionArgs) => {
            if (name === 'ExecutorThrows') throw new Error('the executor failed: internal detail');
            if (name === 'ExecutorRejects') return Promise.reject(new Error('the executor rejected: internal detail'));
            return execute(args);
          },
          subscribe: (args: ExecutionArgs) => subscribe(args),
        };
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/graphql`,
      signals,
      logged,
      close: async () => {
        await ws.close();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  }

  let stub: Stub;
  beforeAll(async () => {
    stub = await startStub();
  });
  afterAll(async () => {
    await stub.close();
  });

  const run = (client: Client, query: string, operationName: string): ReturnType<typeof outcome> =>
    new Promise((resolve) => {
      const results: Json[] = [];
      client.subscribe<Json>({ query, operationName }, { next: (r) => results.push(r), error: (error) => resolve({ results, error, completed: false }), complete: () => resolve({ results, error: undefined, completed: true }) });
    });

  test('a context that cannot be built, an executor that throws or a refused document fail alone, masked; each refused operation is let go', async () => {
    const closes: number[] = [];
    const client = createClient({ url: stub.url, webSocketImpl: WebSocket, retryAttempts: 0, on: { closed: (event) => closes.push((event as { code: number }).code) } });
    const ticks: number[] = [];
    const tickErrors: unknown[] = [];
    try {
      const stop = client.subscribe<Json>({ query: 'subscription Ticks { ticks }', operationName: 'Ticks' }, { next: (r) => ticks.push(r.data.ticks), error: (e) => tickErrors.push(e), complete: () => {} });
      await until(() => ticks.length >= 2);

      // A refused document: its request is aborted, nothing of it kept, while the socket stays open.
      expect(await run(client, 'query Invalid { nope }', 'Invalid')).toMatchObject({ results: [], error: [{ message: expect.stringContaining('Cannot query field "nope"') }] });
      expect(await run(client, 'query Fine { hello }', 'Fine')).toEqual({ results: [{ data: { hello: 'hi' } }], error: undefined, completed: true });
      await until(() => ['Invalid', 'Fine'].every((name) => stub.signals.get(name)?.aborted), 2_000);

      const unexpected = [{ message: 'Unexpected error.', extensions: expect.objectContaining({ code: 'INTERNAL_SERVER_ERROR' }) }];
      expect(await run(client, 'query NoContext { hello }', 'NoContext')).toEqual({ results: [], error: unexpected, completed: false });
      expect(await run(client, 'query ExecutorThrows { hello }', 'ExecutorThrows')).toEqual({ results: [{ errors: unexpected }], error: undefined, completed: true });
      expect(await run(client, 'query ExecutorRejects { hello }', 'ExecutorRejects')).toEqual({ results: [{ errors: unexpected }], error: undefined, completed: true });
      // The details reach the log, not the client.
      expect(stub.logged.map((err) => (err as Error).message)).toEqual([
        'the context builder failed: internal detail',
        'the executor failed: internal detail',
        'the executor rejected: internal detail',
      ]);
      await until(() => ['NoContext', 'ExecutorThrows', 'ExecutorRejects'].every((name) => stub.signals.get(name)?.aborted), 2_000);
      expect(stub.signals.get('Ticks')!.aborted).toBe(false);

      // The subscription went on throughout.
      const seen = ticks.length;
      await until(() => ticks.length >= seen + 2);
      expect(ticks).toEqual(ticks.map((_, i) => i));
      expect(tickErrors).toEqual([]);
      expect(closes).toEqual([]);
      stop();
      await until(() => stub.signals.get('Ticks')!.aborted);
    } finally {
      await client.dispose();
    }
  });

  test('at expiry every open operation is told, each for what it is, once and last; then 4403', async () => {
    const expiresAt = Date.now() + 1_500;
    const expiring = await startStub(() => ({ id: 'stub-jwt', scopes: new Set(), expiresAt }));
    const ws = new WebSocket(expiring.url, 'graphql-transport-ws');
    const messages: Json[] = [];
    try {
      const closed = new Promise<{ code: number; at: number }>((resolve) => ws.once('close', (code) => resolve({ code, at: Date.now() })));
      ws.on('message', (data) => messages.push(JSON.parse(String(data))));
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send(JSON.stringify({ type: 'connection_init' }));
      await until(() => messages.some((m) => m.type === 'connection_ack'));
      // None of them has an expiry of its own, nor ends before it is stopped.
      const operations: [string, string][] = [
        ['Ticks', 'subscription Ticks { ticks }'],
        ['Slow', 'query Slow { slow }'],
        ['SlowWrite', 'mutation SlowWrite { slowWrite }'],
      ];
      for (const [name, query] of operations) ws.send(JSON.stringify({ id: name, type: 'subscribe', payload: { query, operationName: name } }));
      await until(() => messages.some((m) => m.id === 'Ticks' && m.type === 'next'));

      const { code, at } = await closed;
      expect(code).toBe(4403);
      expect(at).toBeGreaterThanOrEqual(expiresAt);
      const errorOf = (id: string): Json => {
        const own = messages.filter((m) => m.id === id);
        // Its error is its last message, and its only one.
        expect(own.filter((m) => m.type !== 'next')).toEqual([own[own.length - 1]]);
        expect(own[own.length - 1].type).toBe('error');
        return own[own.length - 1].payload;
      };
      const unauthenticated = (message: string): Json => [{ message: expect.stringContaining(message), extensions: { code: 'UNAUTHENTICATED' } }];
      expect(errorOf('Ticks')).toEqual(unauthenticated('subscribe again with a new one and after: set to the last cursor received'));
      expect(errorOf('Slow')).toEqual(unauthenticated('send it again with a new one'));
      expect(errorOf('SlowWrite')).toEqual(unauthenticated('whether it took effect is unknown'));
      expect(messages.filter((m) => m.id === 'Slow' || m.id === 'SlowWrite').map((m) => m.type)).toEqual(['error', 'error']);
      expect(messages[messages.length - 1].type).toBe('error');
      // Their work was stopped.
      expect(operations.map(([name]) => expiring.signals.get(name)!.aborted)).toEqual([true, true, true]);
    } finally {
      ws.close();
      await expiring.close();
    }
  });
});
