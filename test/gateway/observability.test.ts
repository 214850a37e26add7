// /metrics and the access log against the real gateway over HTTP: operation histogram, upstream
// calls, integrity state and verification counts; the metrics token in keys mode; one JSON access
// line per request naming the caller and never its key.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { ConfigError, loadConfig, type GatewayConfig } from '../../src/config.js';
import { GatewayMetrics } from '../../src/gateway/metrics.js';
import { startGateway, type RunningGateway } from '../../src/gateway/start.js';
import { tempDir, type Json } from '../support/gateway.js';
import { countedSince, verificationChecks } from '../support/verification-metrics.js';

const API_KEY = 'observability-test-key-0123456789';
const METRICS_TOKEN = 'observability-metrics-token';

interface Metric {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; count?: string; buckets?: Record<string, string> }[];
}

interface Started {
  running: RunningGateway;
  lines: string[];
  close(): Promise<void>;
}

async function start(extra: Partial<GatewayConfig>): Promise<Started> {
  const dir = tempDir('gateway-observability-');
  const lines: string[] = [];
  const running = await startGateway(
    {
      host: '127.0.0.1',
      port: 0,
      upstream: { kind: 'embedded', dataDir: join(dir, 'data'), token: undefined, localPort: 0, publishIntervalMs: 0, schemaFile: undefined, separateProcess: false },
      signingKeyFile: undefined,
      cursorSecret: 'observability-test',
      maxBodyBytes: 1024 * 1024,
      graphiql: true,
      integrityTrustOnFirstUse: true,
      ...extra,
    },
    (line) => lines.push(line),
  );
  return {
    running,
    lines,
    close: async () => {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function post(url: string, query: string, credential?: string): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
  if (credential) headers.authorization = `Bearer ${credential}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query }) });
  return { status: res.status, body: (await res.json()) as Json };
}

async function scrape(origin: string, token?: string): Promise<{ status: number; metrics: Map<string, Metric> }> {
  const res = await fetch(`${origin}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, metrics: new Map() };
  const parsed = parsePrometheusTextFormat(text) as Metric[];
  return { status: res.status, metrics: new Map(parsed.map((m) => [m.name, m])) };
}

function series(metrics: Map<string, Metric>, name: string): Metric['metrics'] {
  const metric = metrics.get(name);
  if (!metric) throw new Error(`no metric ${name}; have ${[...metrics.keys()].join(', ')}`);
  return metric.metrics;
}

const LOG = `mutation LogOne { log(event: {message: "observed"}, options: {verify: true}) { __typename ... on LogResult { hash verification { hash membership consistency signature verdict } } } }`;
const SEARCH = `query FindObserved { search(query: "message:observed", first: 5) { __typename ... on AuditEventConnection { edges { node { verification { hash membership verdict } } } } } }`;
const INVALID = `query Broken { noSuchField }`;

describe('metrics and access log, no caller authentication', () => {
  let gw: Started;
  let origin: string;
  beforeAll(async () => {
    gw = await start({ accessLog: 'json', integrityCheckIntervalMs: 60_000 });
    origin = new URL(gw.running.url).origin;
  });
  afterAll(async () => {
    await gw.close();
  });

  test('after a log, a search and an invalid query, /metrics shows them, the upstream calls and the integrity state', async () => {
    expect((await post(gw.running.url, LOG)).body.data.log.__typename).toBe('LogResult');
    expect((await post(gw.running.url, LOG)).body.data.log.__typename).toBe('LogResult');
    expect((await post(gw.running.url, SEARCH)).body.data.search.__typename).toBe('AuditEventConnection');
    expect((await post(gw.running.url, INVALID)).body.errors).toHaveLength(1);
    expect((await post(gw.running.url, `{ __typename }`)).status).toBe(200);

    const { status, metrics } = await scrape(origin);
    expect(status).toBe(200);

    // The parser keeps no labels of a labelled histogram: the counts are read from the request counter.
    expect(metrics.get('audit_gateway_graphql_request_duration_seconds')?.type).toBe('HISTOGRAM');
    const operations = series(metrics, 'audit_gateway_graphql_requests_total');
    const countOf = (name: string) =>
      operations.filter((s) => s.labels?.operation_name === name).map((s) => ({ type: s.labels?.operation_type, outcome: s.labels?.outcome, count: Number(s.value) }));
    expect(countOf('LogOne')).toEqual([{ type: 'mutation', outcome: 'ok', count: 2 }]);
    expect(countOf('FindObserved')).toEqual([{ type: 'query', outcome: 'ok', count: 1 }]);
    expect(countOf('Broken')).toEqual([{ type: 'query', outcome: 'graphql_error', count: 1 }]);
    expect(countOf('anonymous')).toEqual([{ type: 'query', outcome: 'ok', count: 1 }]);

    const upstream = series(metrics, 'audit_gateway_upstream_requests_total');
    const calls = (endpoint: string) => upstream.filter((s) => s.labels?.endpoint === endpoint && s.labels.outcome === 'ok').reduce((sum, s) => sum + Number(s.value), 0);
    expect(calls('v1/log')).toBe(2);
    // The integrity monitor searches too (it counts the log's events).
    expect(calls('v1/search')).toBeGreaterThanOrEqual(1);

    const integrity = series(metrics, 'audit_gateway_integrity_state');
    expect(integrity.map((s) => s.labels?.state).sort()).toEqual(['FAILED', 'OK', 'UNANCHORED', 'UNKNOWN']);
    const current = integrity.filter((s) => s.value === '1').map((s) => s.labels?.state);
    expect(current).toEqual([gw.running.integrity!.status().state]);

    const checks = series(metrics, 'audit_gateway_verification_checks_total');
    const checked = (check: string) => checks.filter((s) => s.labels?.check === check).reduce((sum, s) => sum + Number(s.value), 0);
    // Two logs with their own verification, and the two events the search found.
    expect(checked('hash')).toBe(4);
    expect(checked('verdict')).toBe(4);
    expect(checked('signature')).toBe(2);
    expect(checks.find((s) => s.labels?.check === 'hash' && s.labels.status === 'PASS')?.value).toBe('4');

    expect(metrics.has('process_cpu_user_seconds_total')).toBe(true);
  });

  test('the access log has one JSON line per request: operation, status, caller, outcome; never the query text', async () => {
    const before = gw.lines.length;
    await post(gw.running.url, LOG);
    await post(gw.running.url, INVALID);
    await fetch(`${origin}/health`);
    const entries = gw.lines.slice(before).filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Json);
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatchObject({ method: 'POST', path: '/graphql', status: 200, operationName: 'LogOne', operationType: 'mutation', caller: 'local', outcome: 'ok' });
    expect(entries[1]).toMatchObject({ path: '/graphql', operationName: 'Broken', outcome: 'graphql_error' });
    expect(entries[2]).toMatchObject({ method: 'GET', path: '/health', status: 200, outcome: 'ok' });
    for (const entry of entries) {
      expect(typeof entry.durationMs).toBe('number');
      expect(Number.isNaN(Date.parse(entry.time))).toBe(false);
    }
    expect(gw.lines.slice(before).join('\n')).not.toContain('observed');
  });

  test('verification counts are the checks the gateway resolved: each selection counts, under any alias or fragment', async () => {
    const before = await verificationChecks(origin);
    const found = await post(
      gw.running.url,
      `query { search(query: "message:observed", first: 5) { __typename ... on AuditEventConnection { edges { node { checked: verification { h: hash v: verdict } again: verification { membership ...Verdict } } } } } }
       fragment Verdict on EventVerification { verdict }`,
    );
    const nodes = found.body.data.search.edges.map((e: Json) => e.node);
    expect(nodes.length).toBeGreaterThan(0);
    const delta = countedSince(before, await verificationChecks(origin));
    const verdicts: string[] = [...new Set<string>(nodes.map((n: Json) => n.checked.v))];
    expect(verdicts).toHaveLength(1);
    expect(delta('hash', nodes[0].checked.h)).toBe(nodes.length);
    expect(delta('membership', nodes[0].again.membership)).toBe(nodes.length);
    expect(delta('verdict', verdicts[0]!)).toBe(2 * nodes.length);
    // Not selected: not counted.
    expect(['PASS', 'FAIL', 'NONE'].map((status) => delta('consistency', status) + delta('signature', status))).toEqual([0, 0, 0]);
  });
});

describe('metrics and access log with API keys', () => {
  const keys = JSON.stringify({ apiKeys: [{ id: 'ops', key: API_KEY, scopes: ['audit:log', 'audit:search', 'audit:root'] }] });

  test('/metrics asks for METRICS_TOKEN; the access log names the key by id, never by its value', async () => {
    const gw = await start({ auth: { kind: 'keys', file: undefined, inline: keys }, metricsToken: METRICS_TOKEN, accessLog: 'json' });
    try {
      const origin = new URL(gw.running.url).origin;
      expect((await post(gw.running.url, LOG, API_KEY)).body.data.log.__typename).toBe('LogResult');
      expect((await post(gw.running.url, LOG, 'not-a-valid-key-at-all')).status).toBe(401);
      // A GET is authenticated in yoga's request parsing, not before: its caller is logged all the same.
      const get = await fetch(`${gw.running.url}?query=${encodeURIComponent('query ViaGet { root { __typename } }')}`, {
        headers: { authorization: `Bearer ${API_KEY}`, 'x-graphql-yoga-csrf': '1', accept: 'application/graphql-response+json' },
      });
      expect(get.status).toBe(200);
      expect(((await get.json()) as Json).errors).toBeUndefined();

      expect((await scrape(origin)).status).toBe(401);
      expect((await scrape(origin, API_KEY)).status).toBe(401);
      const { status, metrics } = await scrape(origin, METRICS_TOKEN);
      expect(status).toBe(200);
      const outcomes = series(metrics, 'audit_gateway_graphql_requests_total').map((s) => [s.labels?.operation_name, s.labels?.outcome, s.value]);
      expect(outcomes).toEqual(
        expect.arrayContaining([
          ['LogOne', 'ok', '1'],
          // Refused on its headers: its body, and so its operation, was never read.
          ['anonymous', 'http_error', '1'],
        ]),
      );

      const entries = gw.lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Json);
      expect(entries.map((e) => [e.path, e.status, e.caller])).toEqual([
        ['/graphql', 200, 'key:ops'],
        ['/graphql', 401, null],
        ['/graphql', 200, 'key:ops'],
        ['/metrics', 401, null],
        ['/metrics', 401, null],
        ['/metrics', 200, null],
      ]);
      const all = gw.lines.join('\n');
      expect(all).not.toContain(API_KEY);
      expect(all).not.toContain(METRICS_TOKEN);
    } finally {
      await gw.close();
    }
  });

  test('without METRICS_TOKEN, /metrics is off when callers authenticate', async () => {
    const gw = await start({ auth: { kind: 'keys', file: undefined, inline: keys } });
    try {
      const res = await fetch(`${new URL(gw.running.url).origin}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } });
      expect(res.status).toBe(404);
      expect(gw.lines.some((line) => line.includes('METRICS_TOKEN'))).toBe(true);
    } finally {
      await gw.close();
    }
  });
});

describe('bounds and configuration', () => {
  test('operation names are bounded: none is anonymous, long or past the 200th distinct name is other', async () => {
    const metrics = new GatewayMetrics();
    metrics.observeOperation(undefined, 'query', 'ok', 0.01);
    metrics.observeOperation('x'.repeat(65), 'query', 'ok', 0.01);
    for (let i = 0; i < 205; i++) metrics.observeOperation(`Op${i}`, 'query', 'ok', 0.01);
    metrics.observeOperation('Op0', 'query', 'ok', 0.01);
    // The parser drops a last sample line that no newline ends.
    const text = `${await metrics.registry.getSingleMetricAsString('audit_gateway_graphql_requests_total')}\n`;
    const [family] = parsePrometheusTextFormat(text) as Metric[];
    const counts = new Map(family!.metrics.map((s) => [s.labels!.operation_name!, Number(s.value)]));
    expect(counts.size).toBe(202);
    expect(counts.get('anonymous')).toBe(1);
    expect(counts.get('other')).toBe(1 + 5);
    expect(counts.get('Op0')).toBe(2);
    expect(counts.get('Op199')).toBe(1);
    expect(counts.has('Op200')).toBe(false);
  });

  test('METRICS, METRICS_TOKEN and ACCESS_LOG from the environment', () => {
    expect(loadConfig({})).toMatchObject({ metrics: true, metricsToken: undefined, accessLog: 'off' });
    expect(loadConfig({ METRICS: 'off', METRICS_TOKEN: 't', ACCESS_LOG: 'JSON' })).toMatchObject({ metrics: false, metricsToken: 't', accessLog: 'json' });
    expect(() => loadConfig({ ACCESS_LOG: 'text' })).toThrow(ConfigError);
  });
});
