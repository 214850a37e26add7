// OpenTelemetry traces against a real OTLP/HTTP receiver started here: the gateway runs as its own
// process (the tracer provider is a process-wide global) with OTEL_EXPORTER_OTLP_ENDPOINT pointing
// at the receiver, which keeps every export request it gets, exactly as sent.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, type Json } from '../support/gateway.js';
import { startGatewayChild, type GatewayChild } from '../support/gateway-child.js';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status?: { code?: number };
  service: unknown;
}

/** The OTLP/HTTP receiver: POST /v1/traces bodies (JSON), kept raw and as spans. */
class Receiver {
  readonly bodies: string[] = [];
  readonly spans: ExportedSpan[] = [];
  readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/v1/traces' && req.method === 'POST') {
        this.bodies.push(text);
        this.collect(JSON.parse(text) as Json);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });

  private collect(body: Json): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = attributesOf(rs.resource?.attributes)['service.name'];
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) this.spans.push({ ...s, attributes: attributesOf(s.attributes), service });
      }
    }
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The spans once one named `name` has arrived (the batch processor exports every 100 ms here). */
  async waitFor(name: string, ms = 15_000): Promise<ExportedSpan> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.spans.find((s) => s.name === name);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no span ${name} within ${ms} ms; got ${this.spans.map((s) => s.name).join(', ')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function attributesOf(list: Json[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) out[key] = value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue ?? value.arrayValue;
  return out;
}

const LOG = `mutation LogIt($e: AuditEventInput!) { log(event: $e, options: { verify: true }) { __typename ... on LogResult { hash verification { verdict } } } }`;
const PAGE = `query Page { search(query: "actor:otel", first: 10) { __typename ... on AuditEventConnection { edges { node { hash verification { verdict } } } } } }`;
// OTLP's SpanKind and status codes.
const SERVER = 2;
const CLIENT = 3;
const STATUS_ERROR = 2;

const receiver = new Receiver();
let gateway: GatewayChild;
let dataDir: string;

beforeAll(async () => {
  const endpoint = await receiver.listen();
  dataDir = tempDir('otel-');
  gateway = await startGatewayChild({
    DATA_DIR: join(dataDir, 'data'),
    INTEGRITY_KEY_FILE: join(dataDir, 'integrity-key'),
    LOCAL_AUDIT_PUBLISH_INTERVAL_MS: '200',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_SERVICE_NAME: 'audit-gateway-under-test',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
}, 90_000);

afterAll(async () => {
  await gateway?.stop();
  receiver.server.closeAllConnections();
  receiver.server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a span per operation, a child span per upstream call and one for the verification, all in the request trace', async () => {
  for (let i = 0; i < 3; i++) {
    const logged = await gateway.call(LOG, { e: { message: `traced ${i}`, actor: 'otel' } });
    expect(logged.body.data.log.__typename).toBe('LogResult');
  }
  const page = await gateway.call(PAGE);
  expect(page.body.data.search.edges).toHaveLength(3);

  const operation = await receiver.waitFor('query Page');
  const verify = await receiver.waitFor('audit.verify_page');
  const search = await receiver.waitFor('audit v1/search');
  expect(operation).toMatchObject({ kind: SERVER, service: 'audit-gateway-under-test', attributes: { 'graphql.operation.type': 'query', 'graphql.operation.name': 'Page' } });
  expect(operation.parentSpanId ?? '').toBe('');
  for (const child of [verify, search]) {
    expect(child.traceId).toBe(operation.traceId);
    expect(child.parentSpanId).toBe(operation.spanId);
  }
  expect(search).toMatchObject({ kind: CLIENT, attributes: { 'audit.endpoint': 'v1/search', 'audit.outcome': 'ok' } });
  expect(Number(verify.attributes['audit.events'])).toBe(3);

  const log = await receiver.waitFor('mutation LogIt');
  const logCalls = receiver.spans.filter((s) => s.name === 'audit v1/log' && s.traceId === log.traceId);
  expect(logCalls).toHaveLength(1);
  expect(logCalls[0]!.parentSpanId).toBe(log.spanId);
  const logVerify = receiver.spans.find((s) => s.name === 'audit.verify_log' && s.traceId === log.traceId);
  expect(logVerify?.parentSpanId).toBe(log.spanId);
  // Three logs, three traces: no request's spans end up in another's.
  expect(new Set(receiver.spans.filter((s) => s.name === 'mutation LogIt').map((s) => s.traceId)).size).toBe(3);
});

test('plain logs sent upstream together: the group’s one exchange is a span under one of their requests', async () => {
  const PLAIN = `mutation Plain($e: AuditEventInput!) { log(event: $e) { __typename ... on LogResult { hash } } }`;
  // Requests that reach the gateway in one event-loop turn are grouped; bursts until one was.
  let grouped: ExportedSpan | undefined;
  for (let burst = 0; burst < 10 && !grouped; burst++) {
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => gateway.call(PLAIN, { e: { message: `plain ${burst}-${i}`, actor: 'otel-plain' } })));
    expect(answers.every((a) => a.body.data.log.__typename === 'LogResult')).toBe(true);
    await receiver.waitFor('mutation Plain');
    await new Promise((r) => setTimeout(r, 300));
    grouped = receiver.spans.find((s) => s.name === 'audit v2/log');
  }
  expect(grouped).toMatchObject({ kind: CLIENT, attributes: { 'audit.endpoint': 'v2/log', 'audit.outcome': 'ok' } });
  const isOpener = (s: ExportedSpan) => s.name === 'mutation Plain' && s.spanId === grouped!.parentSpanId;
  for (const deadline = Date.now() + 5000; !receiver.spans.some(isOpener) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  expect(receiver.spans.find(isOpener)?.traceId).toBe(grouped!.traceId);
});

test("a caller's traceparent is continued: the operation span is its child, in its trace", async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parent = '00f067aa0ba902b7';
  const r = await gateway.call(`query Continued { root { __typename } }`, {}, { traceparent: `00-${traceId}-${parent}-01` });
  expect(r.status).toBe(200);
  const span = await receiver.waitFor('query Continued');
  expect(span.traceId).toBe(traceId);
  expect(span.parentSpanId).toBe(parent);
});

test('an operation that ends in GraphQL errors is marked failed with their codes', async () => {
  const r = await gateway.call(`query Broken { auditEvents(query: "", first: -5) { totalCount } }`);
  expect(r.body.errors[0].extensions.code).toBe('INPUT');
  const span = await receiver.waitFor('query Broken');
  expect(span.status?.code).toBe(STATUS_ERROR);
  expect(span.attributes['graphql.error.codes']).toEqual({ values: [{ stringValue: 'INPUT' }] });
});

test('nothing exported holds the upstream token or an authorization header', async () => {
  await receiver.waitFor('query Page');
  const token = readFileSync(join(dataDir, 'data', 'token'), 'utf8').trim();
  const exported = receiver.bodies.join('\n');
  expect(token.length).toBeGreaterThan(10);
  expect(exported).not.toContain(token);
  expect(exported.toLowerCase()).not.toContain('bearer');
  expect(exported.toLowerCase()).not.toContain('authorization');
});

test('OTEL_SDK_DISABLED=true turns tracing off even with an endpoint set: nothing reaches the receiver', async () => {
  const off = new Receiver();
  const endpoint = await off.listen();
  const dir = tempDir('otel-off-');
  const quiet = await startGatewayChild({ DATA_DIR: join(dir, 'data'), INTEGRITY_KEY_FILE: join(dir, 'integrity-key'), OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true', OTEL_BSP_SCHEDULE_DELAY: '100' });
  try {
    const r = await quiet.call(LOG, { e: { message: 'untraced', actor: 'otel' } });
    expect(r.body.data.log.__typename).toBe('LogResult');
    await new Promise((resolve) => setTimeout(resolve, 600));
  } finally {
    expect(await quiet.stop()).toBe(0);
    off.server.closeAllConnections();
    off.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(off.bodies).toHaveLength(0);
}, 90_000);
