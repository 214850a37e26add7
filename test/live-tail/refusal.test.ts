// A live tail the audit service refuses is ended with a typed error instead of polling forever: a
// bad query or restriction field at once (the code the auditEvents query gives for it), a token the
// service starts rejecting later (UNAUTHORIZED), while an upstream that is only down for a while is
// retried. A refusal ends every subscriber of the refused watcher and no other watcher. Real
// gateways, real local services, real graphql-sse and graphql-ws clients.
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { AuditClient, ValidationError, type AuditClientError } from '../../src/audit-client/index.js';
import { LiveTailHub, liveTailTotals, type TailItem } from '../../src/graphql/live-tail/hub.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';
import { untilOpenLiveTails } from '../support/live-tail.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';
import { until, pause } from '../support/wait.js';

interface Tail {
  data: Json[];
  errors: Json[];
  /** Resolves when the stream ends (completed or failed). */
  ended: Promise<void>;
  stop: () => void;
}

function sseTail(client: SseClient, query: string, variables: Record<string, unknown> = {}): Tail {
  const data: Json[] = [];
  const errors: Json[] = [];
  let stop = (): void => {};
  const ended = new Promise<void>((resolve) => {
    const unsubscribe = client.subscribe<Json>(
      { query, variables },
      {
        next: (r) => {
          if (r.errors) errors.push(...r.errors);
          if (r.data?.auditEvents) data.push(r.data.auditEvents);
        },
        error: (e) => (errors.push(e), resolve()),
        complete: resolve,
      },
    );
    stop = () => (unsubscribe(), resolve());
  });
  return { data, errors, ended, stop };
}

const TAIL = 'subscription ($q: String, $r: JSON) { auditEvents(query: $q, searchRestriction: $r) { cursor event { hash message } } }';

describe('embedded service', () => {
  let gateway: TestGateway;
  let sse: SseClient;
  let logger: AuditClient;
  beforeAll(async () => {
    gateway = await startTestGateway({ config: { liveTailIntervalMs: 50 } });
    sse = createSseClient({ url: gateway.url });
    logger = new AuditClient({ baseUrl: gateway.local!.url, token: gateway.local!.token });
  });
  afterAll(async () => {
    sse.dispose();
    await logger.close();
    await gateway.close();
  });

  test('a query the service cannot parse ends the tail with UPSTREAM_VALIDATION, as the auditEvents query gives', async () => {
    const query = await gateway.graphql('{ auditEvents(query: "((") { totalCount } }');
    expect(query.body.errors[0].extensions.code).toBe('UPSTREAM_VALIDATION');

    const tail = sseTail(sse, TAIL, { q: '((' });
    await tail.ended;
    expect(tail.data).toEqual([]);
    expect(tail.errors).toHaveLength(1);
    expect(tail.errors[0]).toMatchObject({
      message: query.body.errors[0].message,
      extensions: { code: 'UPSTREAM_VALIDATION', requestId: expect.any(String), fieldErrors: [{ code: 'BadFormat', source: '/query', path: 'query' }] },
    });
    await untilOpenLiveTails(0);
    expect(liveTailTotals().watchers).toBe(0);
  });

  test('a restriction on a field the service does not have ends the tail with UPSTREAM_VALIDATION naming the field', async () => {
    const tail = sseTail(sse, TAIL, { q: 'actor:refused', r: { no_such_field: ['x'] } });
    await tail.ended;
    expect(tail.data).toEqual([]);
    expect(tail.errors).toHaveLength(1);
    expect(tail.errors[0]).toMatchObject({
      message: expect.stringContaining('no_such_field'),
      extensions: { code: 'UPSTREAM_VALIDATION', fieldErrors: [{ source: '/search_restriction/no_such_field' }] },
    });
  });

  test('over graphql-ws too: the error, then the end of the stream', async () => {
    const ws = createWsClient({ url: gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const errors: Json[] = [];
      await new Promise<void>((resolve) =>
        ws.subscribe<Json>({ query: TAIL, variables: { q: '((' } }, { next: (r) => errors.push(...(r.errors ?? [])), error: (e) => (errors.push(e), resolve()), complete: resolve }),
      );
      // graphql-ws hands a stream's failure to `error` as the list of its GraphQL errors.
      expect(errors.flat()).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'UPSTREAM_VALIDATION' }) })]);
    } finally {
      await ws.dispose();
    }
  });

  test('a refused tail does not end another subscriber’s tail on another query', async () => {
    await untilOpenLiveTails(0);
    const good = sseTail(sse, TAIL, { q: 'actor:refusal-neighbour' });
    await untilOpenLiveTails(1);
    const bad = [sseTail(sse, TAIL, { q: '((' }), sseTail(sse, TAIL, { q: 'actor:refusal-neighbour', r: { no_such_field: ['x'] } })];
    await Promise.all(bad.map((t) => t.ended));
    for (const t of bad) expect(t.errors[0].extensions.code).toBe('UPSTREAM_VALIDATION');
    const logged = await logger.log({ event: { actor: 'refusal-neighbour', message: 'still here' } });
    await until(() => good.data.length >= 1);
    good.stop();
    expect(good.errors).toEqual([]);
    expect(good.data.map((d) => d.event.hash)).toEqual([logged.result.hash]);
  });
});

describe('the hub', () => {
  let service: TestService;
  let client: AuditClient;
  beforeAll(async () => {
    service = await startTestService();
    client = new AuditClient({ baseUrl: service.url, token: service.token });
  });
  afterAll(async () => {
    await client.close();
    await service.destroy();
  });

  test('a refused watcher ends every subscriber sharing it; a watcher of another query goes on', async () => {
    const hub = new LiveTailHub(client);
    const abort = new AbortController();
    const bad = { key: 'refused', query: '((', intervalMs: 50 };
    const first = hub.subscribe(bad, abort.signal);
    const second = hub.subscribe(bad, abort.signal);
    const good = hub.subscribe({ key: 'fine', query: 'actor:hub-refusal', intervalMs: 50 }, abort.signal);
    // Each joins on its first pull, before the shared watcher's first poll.
    const pulls = [first.next(), second.next()];
    const goodNext = good.next();
    expect(hub.watchers).toBe(2);
    expect(hub.subscribers).toBe(3);

    const outcomes = await Promise.allSettled(pulls);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as AuditClientError;
      expect(reason).toBeInstanceOf(ValidationError);
      expect((reason as ValidationError).errors[0]!.source).toBe('/query');
    }
    expect(hub.watchers).toBe(1);
    expect(hub.subscribers).toBe(1);

    const logged = await client.log({ event: { actor: 'hub-refusal', message: 'after the refusal' } });
    const item = (await goodNext).value as TailItem;
    expect(item.event.hash).toBe(logged.result.hash);
    await good.return(undefined);
    expect(hub.watchers).toBe(0);
    abort.abort();
  });
});

describe('a remote service that goes down, then comes back with another token', () => {
  let dataDir: string;
  let service: TestService;
  let gateway: TestGateway;
  let sse: SseClient;
  let logger: AuditClient;
  beforeAll(async () => {
    dataDir = tempDir();
    service = await startTestService({ dataDir, token: 'first-token' });
    gateway = await startTestGateway({
      config: { liveTailIntervalMs: 50, upstream: { kind: 'remote', baseUrl: service.url, token: 'first-token', configId: undefined, tenantId: undefined } },
    });
    sse = createSseClient({ url: gateway.url });
  });
  afterAll(async () => {
    sse.dispose();
    await logger?.close();
    await gateway.close();
    await service.destroy();
  });

  test('downtime is retried without a word; a token the service then rejects ends the tail with UNAUTHORIZED', async () => {
    const port = Number(new URL(service.url).port);
    await untilOpenLiveTails(0);
    const tail = sseTail(sse, TAIL, { q: 'actor:remote-tail' });
    await untilOpenLiveTails(1);
    logger = new AuditClient({ baseUrl: service.url, token: 'first-token' });
    const before = await logger.log({ event: { actor: 'remote-tail', message: 'before' } });
    await until(() => tail.data.length >= 1);

    // Down for a while (connections refused), then back with the same token: the tail goes on.
    await logger.close();
    await service.close();
    await pause(500);
    service = await startTestService({ dataDir, port, token: 'first-token' });
    logger = new AuditClient({ baseUrl: service.url, token: 'first-token' });
    const after = await logger.log({ event: { actor: 'remote-tail', message: 'after the downtime' } });
    await until(() => tail.data.length >= 2);
    expect(tail.errors).toEqual([]);
    expect(liveTailTotals()).toEqual({ subscribers: 1, watchers: 1 });

    // Back with another token: the gateway's is refused, and the tail ends with it.
    await service.close();
    service = await startTestService({ dataDir, port, token: 'second-token' });
    await tail.ended;
    expect(tail.data.map((d) => d.event.hash)).toEqual([before.result.hash, after.result.hash]);
    expect(tail.errors).toHaveLength(1);
    expect(tail.errors[0]).toMatchObject({ extensions: { code: 'UNAUTHORIZED' } });
    await untilOpenLiveTails(0);
    expect(liveTailTotals().watchers).toBe(0);
  }, 60_000);
});
