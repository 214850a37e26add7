// Fuzzing the local audit service over real HTTP (startTestService: 127.0.0.1, port 0, a fresh
// SQLite directory). fast-check drives random methods, paths, headers, content types and bodies,
// mutated valid bodies for every endpoint (deleted and retyped keys, unknown and prototype-named
// keys, huge numbers as JSON text, duplicate keys, deep nesting, odd unicode), search query
// strings and polling ids. Every answer must be:
//   - the REST envelope (exactly request_id, request_time, response_time, status, summary,
//     result), with an x-request-id header equal to request_id, one of the service's statuses
//     and its HTTP code — never InternalError, and nothing reported to the service's onError;
//   - Unauthorized for a wrong or missing token (before any work), whatever else is wrong;
//   - for unknown keys on endpoints that reject them: never a success;
//   - for logs: every hash the service acknowledged is findable by search with the event as sent.
// Only the public GETs (published roots, downloads) answer outside the envelope, and never 5xx.
// The process must survive and close without a stalled connection.
//
// FUZZ_SEED (default below) fixes the runs and fast-check prints the seed and path of any
// counterexample; FUZZ_SCALE multiplies every numRuns (default 1).
import fc from 'fast-check';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { HTTP_CODES, type ServiceStatus } from '../../src/local-audit/http/envelope.js';
import { startTestService, type TestService } from '../support/local-audit.js';
import { oddJson, runs, sameJson, SCALE, SEED, unicodeString } from './support.js';

const MAX_BODY = 512 * 1024;


// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

let service: TestService;
const reported: unknown[] = [];
const agent = new Agent({ keepAlive: true, maxSockets: 4 });
/** Hashes the service acknowledged, with the event sent, for the final findability check. */
const acknowledged: Array<{ hash: string; event: Record<string, unknown>; context: string }> = [];
/** v2/log_async requests the service accepted, with their events, to poll at the end. */
const accepted: Array<{ requestId: string; events: Array<Record<string, unknown>>; context: string }> = [];

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Send the body in 64 KiB chunks with chunked transfer encoding (no content-length). */
  chunked?: boolean;
}

/** One HTTP exchange with node:http (any method, header and byte sequence). */
function exchange(call: Call): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const url = new URL(service.url);
    // A body always goes with its length: node:http sends DELETE/OPTIONS bodies unframed
    // otherwise, and the server would rightly read them as the start of the next request.
    const headers = call.body === undefined || call.chunked ? call.headers : { ...call.headers, 'content-length': String(Buffer.byteLength(call.body)) };
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: call.method, path: call.path, headers, agent, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (call.chunked && call.body !== undefined) {
      const bytes = Buffer.from(call.body);
      for (let at = 0; at < bytes.length; at += 65536) req.write(bytes.subarray(at, at + 65536));
      req.end();
    } else {
      req.end(call.body);
    }
  });
}

function describeCall(call: Call): string {
  const body = call.body === undefined ? '' : typeof call.body === 'string' ? call.body : `<${call.body.length} bytes>`;
  return `${call.method} ${call.path} ${JSON.stringify(call.headers)} ${body.length > 600 ? `${body.slice(0, 600)}… (${body.length} chars)` : body}`;
}

const STATUSES = Object.keys(HTTP_CODES) as ServiceStatus[];
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ENVELOPE_KEYS = ['request_id', 'request_time', 'response_time', 'result', 'status', 'summary'];

/**
 * Checks an envelope answer; returns the parsed envelope. A poll answers with the polled id as
 * its request_id: `pollId` is then accepted (required when `pollIdOnly`).
 */
function checkEnvelope(raw: Raw, call: Call, pollId?: string, pollIdOnly = false): Json {
  const where = `${describeCall(call)}\n-> HTTP ${raw.status} ${raw.text.slice(0, 600)}`;
  if (reported.length > 0) {
    const errs = reported.splice(0).map((e) => (e instanceof Error ? (e.stack ?? e.message) : String(e)));
    throw new Error(`the service reported an unexpected error: ${errs.join('\n').slice(0, 1500)}\n${where}`);
  }
  if (raw.status >= 500) throw new Error(`5xx: ${where}`);
  if (/\n\s+at .+:\d+:\d+/.test(raw.text) || raw.text.includes('node_modules')) throw new Error(`stack trace in the answer: ${where}`);
  if (raw.text.includes(service.token)) throw new Error(`token in the answer: ${where}`);
  if (call.method === 'HEAD') return undefined;
  let body: Json;
  try {
    body = JSON.parse(raw.text);
  } catch {
    throw new Error(`not JSON: ${where}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error(`envelope is not an object: ${where}`);
  const keys = Object.keys(body).sort();
  if (keys.join() !== ENVELOPE_KEYS.join()) throw new Error(`envelope keys ${keys.join()}: ${where}`);
  const ownId = /^prq_[a-z0-9]{32}$/.test(body.request_id) && !pollIdOnly;
  if (!ownId && body.request_id !== pollId) throw new Error(`bad request_id: ${where}`);
  if (raw.headers['x-request-id'] !== body.request_id) throw new Error(`x-request-id ${raw.headers['x-request-id']} differs: ${where}`);
  if (!TIME.test(body.request_time) || !TIME.test(body.response_time) || body.response_time < body.request_time) throw new Error(`bad times: ${where}`);
  if (!STATUSES.includes(body.status) || body.status === 'InternalError') throw new Error(`status ${body.status}: ${where}`);
  if (HTTP_CODES[body.status as ServiceStatus] !== raw.status) throw new Error(`HTTP ${raw.status} for ${body.status}: ${where}`);
  if (typeof body.summary !== 'string' || body.summary.length === 0) throw new Error(`empty summary: ${where}`);
  if (body.result === null || typeof body.result !== 'object' || Array.isArray(body.result)) throw new Error(`result is not an object: ${where}`);
  if (body.result.errors !== undefined) {
    const errors = body.result.errors;
    if (!Array.isArray(errors) || errors.length === 0) throw new Error(`result.errors is not a non-empty list: ${where}`);
    for (const e of errors) {
      if (typeof e?.code !== 'string' || typeof e.detail !== 'string' || typeof e.source !== 'string') throw new Error(`malformed field error: ${where}`);
      if (e.source !== '' && !e.source.startsWith('/')) throw new Error(`source is not a JSON pointer: ${where}`);
    }
  }
  if (body.status === 'ValidationError' && body.result.errors === undefined) throw new Error(`ValidationError without errors: ${where}`);
  return body;
}

const PUBLIC_GET = /^\/(roots|downloads)\//;
const POLL_PATH = /^\/request\/([A-Za-z0-9_-]{1,128})\/?$/;

function isEnvelopeText(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && 'request_id' in parsed;
  } catch {
    return false;
  }
}

/** Any answer: the envelope, except the public GETs (published roots, download files). */
async function send(call: Call): Promise<{ raw: Raw; envelope: Json }> {
  const raw = await exchange(call);
  const path = call.path.split('?')[0]!;
  if (call.method === 'GET' && PUBLIC_GET.test(path) && !isEnvelopeText(raw.text)) {
    if (raw.status >= 500) throw new Error(`5xx from a public GET: ${describeCall(call)} -> ${raw.status}`);
    if (reported.length > 0) throw new Error(`the service reported an unexpected error: ${String(reported.splice(0)[0])}`);
    return { raw, envelope: undefined };
  }
  return { raw, envelope: checkEnvelope(raw, call, POLL_PATH.exec(path)?.[1]) };
}

function jsonCall(path: string, body: string, token: string | undefined = service.token): Call {
  return {
    method: 'POST',
    path: `/${path}`,
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body,
  };
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Raw JSON texts JSON.stringify cannot produce: huge and odd numbers, deep nesting. */
const rawJsonText = fc.oneof(
  fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '1.0', '1e2', '-0', '0.1e-999', '"\\ud800"', '"\\u0000"', '[]', '{}'),
  fc.integer({ min: 1, max: 100_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 50_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
);

/** A string value standing for raw JSON text, spliced into the serialised body. */
const RAW_VALUE = '\u0000raw\u0000';
const RAW_SLOT = JSON.stringify(RAW_VALUE);

/** A mutation of a valid body (as an object), possibly leaving a placeholder for raw JSON text. */
type BodyMutation = { describe: string; apply: (body: Record<string, unknown>) => unknown };

/** Counterexamples print a mutation as its description, not as the function's source. */
function mutation(describe: string, apply: (body: Record<string, unknown>) => unknown): BodyMutation {
  return { describe, apply, [fc.toStringMethod]: () => describe } as BodyMutation;
}

const unknownKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'x', 'Query', 'limit '), unicodeString(6));

const bodyMutation: fc.Arbitrary<BodyMutation> = fc.oneof(
  fc.nat().map((i) => mutation(`delete key #${i}`, (b) => withoutKey(b, i))),
  fc.tuple(fc.nat(), oddJson).map(([i, v]) => mutation(`key #${i} = ${JSON.stringify(v)}`, (b) => withValue(b, i, v))),
  fc.nat().map((i) => mutation(`key #${i} = raw`, (b) => withValue(b, i, RAW_VALUE))),
  fc.tuple(unknownKey, oddJson).map(([k, v]) => mutation(`add ${JSON.stringify(k)}: ${JSON.stringify(v)}`, (b) => withOwn(b, k, v))),
  fc.tuple(fc.nat(), oddJson).map(([i, v]) => mutation(`nested key #${i} = ${JSON.stringify(v)}`, (b) => withNestedValue(b, i, v))),
  fc.nat().map((i) => mutation(`nested key #${i} = raw`, (b) => withNestedValue(b, i, RAW_VALUE))),
  fc.constantFrom(
    mutation('body as array', (b) => [b]),
    mutation('body null', () => null),
    mutation('body as a string', (b) => JSON.stringify(b)),
  ),
);

function withOwn(b: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const out = { ...b };
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

function withoutKey(b: Record<string, unknown>, i: number): Record<string, unknown> {
  const keys = Object.keys(b);
  if (keys.length === 0) return b;
  const out = { ...b };
  delete out[keys[i % keys.length]!];
  return out;
}

function withValue(b: Record<string, unknown>, i: number, value: unknown): Record<string, unknown> {
  const keys = Object.keys(b);
  return keys.length === 0 ? b : withOwn(b, keys[i % keys.length]!, value);
}

/** Replaces a value one level down (inside event, events[0].event, logs[0].data …). */
function withNestedValue(b: Record<string, unknown>, i: number, value: unknown): unknown {
  const keys = Object.keys(b);
  if (keys.length === 0) return b;
  const key = keys[i % keys.length]!;
  const inner = b[key];
  if (Array.isArray(inner) && inner.length > 0 && inner[0] !== null && typeof inner[0] === 'object') {
    const first = inner[0] as Record<string, unknown>;
    const innerKeys = Object.keys(first);
    const target = innerKeys[(i >> 3) % Math.max(1, innerKeys.length)];
    const nested = target && first[target] !== null && typeof first[target] === 'object' && !Array.isArray(first[target]) ? withValue(first[target] as Record<string, unknown>, i >> 6, value) : value;
    return withOwn(b, key, [target ? withOwn(first, target, nested) : value, ...inner.slice(1)]);
  }
  if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) return withOwn(b, key, withValue(inner as Record<string, unknown>, i >> 3, value));
  return withOwn(b, key, value);
}

/**
 * The top-level keys of the endpoints that reject unknown ones (the API contract: all but v1/results,
 * v2/log, v2/log_async and v1/log_stream); any body may carry config_id.
 */
const STRICT_KEYS: Record<string, readonly string[]> = {
  'v1/log': ['event', 'verbose', 'prev_root', 'signature', 'public_key'],
  'v1/search': ['query', 'start', 'end', 'limit', 'max_results', 'order', 'order_by', 'verbose', 'search_restriction', 'return_context'],
  'v1/root': ['tree_size'],
  'v1/download_results': ['result_id', 'request_id', 'format', 'return_context'],
  'v1/export': ['format', 'start', 'end', 'order', 'order_by', 'verbose'],
  'v1/schema': [],
};

function unknownKeys(endpoint: string, body: unknown): string[] {
  const allowed = STRICT_KEYS[endpoint];
  if (!allowed || body === null || typeof body !== 'object' || Array.isArray(body)) return [];
  return Object.keys(body).filter((k) => k !== 'config_id' && !allowed.includes(k));
}

function templates(ids: { resultId: string; exportId: string }): Record<string, Record<string, unknown>> {
  return {
    'v1/log': { event: { message: 'fz log', actor: 'fuzz', old: '{"a":1}', timestamp: '2024-07-25T00:51:46.340938Z' }, verbose: true },
    'v2/log': { events: [{ event: { message: 'fz bulk', target: 'doc' } }, { event: { message: 'fz bulk 2' } }], verbose: true },
    'v2/log_async': { events: [{ event: { message: 'fz async', status: 'ok' } }] },
    'v1/search': { query: 'actor:fuzz', limit: 5, max_results: 50, order: 'asc', order_by: 'received_at', start: '7d', verbose: true, search_restriction: { actor: ['fuzz'] } },
    'v1/results': { id: ids.resultId, limit: 3, offset: 1 },
    'v1/root': { tree_size: 2 },
    'v1/download_results': { result_id: ids.resultId, format: 'json' },
    'v1/export': { format: 'csv', start: '1d', order: 'asc', verbose: false },
    'v1/log_stream': {
      logs: [{ log_id: 'fz1', data: { date: '2024-07-25T00:51:46.340Z', type: 's', description: 'Success Login', client_id: 'cid', ip: '10.0.0.1', user_agent: 'fuzz', user_id: 'auth0|fz' } }],
    },
    'v1/schema': {},
  };
}

// ---------------------------------------------------------------------------------------------

let ids: { resultId: string; exportId: string };

beforeAll(async () => {
  service = await startTestService({ onError: (err) => reported.push(err), maxBodyBytes: MAX_BODY });
  for (let i = 0; i < 30; i++) {
    const r = await service.post('v1/log', { event: { message: `seed ${i} ünï 😀`, actor: 'fuzz', action: i % 2 ? 'read' : 'write', target: `doc-${i % 4}` } });
    expect(r.status).toBe('Success');
    if (i === 20) service.publishNow();
  }
  const found = await service.post<{ id: string }>('v1/search', { query: 'actor:fuzz', limit: 5 });
  const exported = await service.post('v1/export', { format: 'json' });
  ids = { resultId: found.result.id, exportId: exported.request_id };
  console.log(`local audit fuzz: seed ${SEED} (FUZZ_SEED to change), scale ${SCALE}`);
});

afterAll(async () => {
  agent.destroy();
  await service?.destroy();
});

describe(`local audit fuzz (seed ${SEED})`, () => {
  test('mutated valid bodies for every endpoint: the envelope, never InternalError; unknown keys never succeed; logs are recorded', async () => {
    const T = templates(ids);
    const caseArb = fc.tuple(
      fc.constantFrom(...Object.keys(T)),
      fc.array(bodyMutation, { minLength: 0, maxLength: 3 }),
      rawJsonText,
      fc.boolean(),
    );
    await fc.assert(
      fc.asyncProperty(caseArb, async ([endpoint, mutations, raw, duplicateKey]) => {
        let body: unknown = T[endpoint];
        for (const m of mutations) body = body !== null && typeof body === 'object' && !Array.isArray(body) ? m.apply(body as Record<string, unknown>) : body;
        let text = JSON.stringify(body) ?? 'null';
        if (text.includes(RAW_SLOT)) text = text.split(RAW_SLOT).join(raw);
        // A duplicate key: JSON.parse keeps the last one.
        if (duplicateKey && text.startsWith('{"')) text = `{"verbose":"dup",${text.slice(1)}`;
        const call = jsonCall(endpoint, text);
        const { envelope } = await send(call);
        const context = `${endpoint} after ${mutations.map((m) => m.describe).join('; ') || 'nothing'}: ${describeCall(call).slice(0, 700)}`;
        if (Buffer.byteLength(text) > MAX_BODY) {
          if (envelope.status !== 'PayloadTooLarge') throw new Error(`oversized body answered ${envelope.status}: ${context}`);
          return;
        }
        const unknown = unknownKeys(endpoint, JSON.parse(text));
        if (unknown.length > 0 && (envelope.status === 'Success' || envelope.status === 'Accepted')) {
          throw new Error(`unknown key(s) ${JSON.stringify(unknown)} accepted: ${context}`);
        }
        recordLogged(endpoint, text, envelope, context);
      }),
      runs(2500),
    );
  });

  test('random methods, paths, headers, content types and bodies: the envelope (or a public file), Unauthorized without the token', async () => {
    const pathArb = fc.oneof(
      fc.constantFrom('/v1/log', '/v2/log', '/v1/search', '/v1/results', '/v1/root', '/v1/export', '/v2/log_async', '/v1/log_stream', '/v1/download_results', '/v1/schema', '/v1/', '/v3/log', '/v1/log/', '/V1/log', '/v1/LOG', '/v1//log', '/v1/log?x=1', '/v1/__proto__', '/v1/constructor', '/v2/toString', '/request/', '/request/prq_x', '/request/__proto__', '/request/' + 'a'.repeat(200), '/roots/', '/roots/' + '0'.repeat(64) + '/1', '/downloads/x', '/downloads/' + 'A'.repeat(43), '/', '//', '/..', '/%2e%2e/v1/log', '/v1/log%00', '*'),
      unicodeString(40).map((s) => '/' + encodePath(s)),
      fc.tuple(fc.constantFrom('/v1/', '/v2/', '/request/', '/roots/', '/downloads/'), unicodeString(30)).map(([p, s]) => p + encodePath(s)),
    );
    const tokenArb = fc.oneof(
      fc.constant<string | undefined>(undefined),
      fc.constant('RIGHT'),
      fc.constantFrom('Bearer', 'Bearer ', 'bearer RIGHT', 'BEARER  RIGHT ', 'Basic RIGHT', 'Bearer RIGHTx', 'Bearer wrong', 'RIGHT', 'Bearer\tRIGHT'),
      fc.string({ maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
    );
    const contentTypeArb = fc.oneof(
      fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;', ' application/json ', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/jsonx', ';'),
      fc.string({ maxLength: 30 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
    );
    const bodyArb = fc.oneof(
      fc.constant(undefined),
      fc.uint8Array({ maxLength: 200 }),
      unicodeString(100),
      oddJson.map((v) => JSON.stringify(v) ?? ''),
      fc.constantFrom('{', '{"query":', '{"query":"actor:fuzz"}', '{"event":{"message":"x"}}', '{"events":[]}', '{}', 'null', '[]', '""'),
    );
    const caseArb = fc.record({
      method: fc.constantFrom('GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
      path: pathArb,
      token: tokenArb,
      contentType: contentTypeArb,
      body: bodyArb,
      extra: fc.dictionary(fc.constantFrom('x-request-id', 'accept', 'accept-encoding', 'x-forwarded-for', 'expect-ct', 'content-language'), fc.string({ maxLength: 20 }).filter((s) => /^[\x20-\x7e]*$/.test(s)), { maxKeys: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ method, path, token, contentType, body, extra }) => {
        const authorization = token === undefined ? undefined : token === 'RIGHT' ? `Bearer ${service.token}` : token.replace('RIGHT', service.token);
        const call: Call = {
          method,
          path,
          headers: { ...extra, ...(authorization !== undefined ? { authorization } : {}), ...(contentType !== undefined ? { 'content-type': contentType } : {}) },
          ...(body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body: typeof body === 'string' ? body : new Uint8Array(body) } : {}),
        };
        const { envelope } = await send(call);
        if (envelope === undefined) return; // a public file, or HEAD
        const authorized = authorization !== undefined && /^Bearer\s+/i.test(authorization) && authorization.replace(/^Bearer\s+/i, '').trim() === service.token;
        if (!authorized && envelope.status !== 'Unauthorized') throw new Error(`no valid token but ${envelope.status}: ${describeCall(call)}`);
        if (authorized && envelope.status === 'Unauthorized') throw new Error(`the right token was refused: ${describeCall(call)}`);
        recordLogged(path.slice(1).split('?')[0]!.replace(/\/$/, ''), typeof call.body === 'string' ? call.body : '', envelope, describeCall(call));
      }),
      runs(2500),
    );
  });

  test('search query strings (random and mutated valid ones): Success, or a BadFormat error on /query naming the position', async () => {
    const VALID = ['actor:fuzz', 'message:"seed 1"', '-action:read target:doc-1', '(action:read OR action:write) AND actor:fuzz', 'timestamp>2024-01-01T00:00:00Z', 'received_at<2999-01-01T00:00:00Z', 'ünï', '"seed 3 ünï 😀"', 'actor:fuzz OR -actor:fuzz', ''];
    const tokens = ['AND', 'OR', 'NOT', '(', ')', '-', ':', '"', '>', '<', '=', '>=', 'actor:', 'message:', 'timestamp>', 'received_at=', 'nope:', '__proto__:x', 'constructor:', '%', '_', '*', '\\', "'"];
    const mutate = (q: string, at: number, del: number, ins: string) => {
      const i = at % (q.length + 1);
      return q.slice(0, i) + ins + q.slice(i + del);
    };
    const queryArb = fc.oneof(
      unicodeString(60),
      fc.tuple(fc.constantFrom(...VALID), fc.nat(), fc.nat({ max: 5 }), fc.oneof(fc.constantFrom(...tokens), unicodeString(3))).map(([q, at, del, ins]) => mutate(q, at, del, ins)),
      fc.array(fc.constantFrom(...VALID, ...tokens), { maxLength: 40 }).map((t) => t.join(' ')),
      fc.constantFrom('('.repeat(40) + 'a' + ')'.repeat(40), 'a '.repeat(300), '"'.repeat(7), 'timestamp>99999999999999999999', 'timestamp>-1', 'x'.repeat(10_000), 'x'.repeat(10_001)),
    );
    await fc.assert(
      fc.asyncProperty(queryArb, fc.constantFrom('asc', 'desc'), async (query, order) => {
        const call = jsonCall('v1/search', JSON.stringify({ query, limit: 10, order }));
        const { envelope } = await send(call);
        const context = describeCall(call);
        if (envelope.status === 'Success') {
          const r = envelope.result;
          if (!/^pas_[a-z0-9]{32}$/.test(r.id) || !Number.isInteger(r.count) || !Array.isArray(r.events) || r.events.length > Math.min(10, r.count)) throw new Error(`malformed search result: ${context}`);
          return;
        }
        if (envelope.status !== 'ValidationError') throw new Error(`search answered ${envelope.status}: ${context}`);
        const [first] = envelope.result.errors;
        if (first.source === '/query' && first.code === 'BadFormat') {
          if (!/position \d+/.test(first.detail)) throw new Error(`a query error without a position: ${first.detail} for ${context}`);
        } else if (!(first.source === '/query' && first.code === 'AboveMaxLength')) {
          throw new Error(`unexpected error ${JSON.stringify(first)} for ${context}`);
        }
      }),
      runs(1500),
    );
  });

  test('oversized bodies, declared or chunked: PayloadTooLarge (413) in the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('v1/log', 'v2/log', 'v1/search', 'v1/log_stream', 'v9/nope'), fc.integer({ min: MAX_BODY + 1, max: 3 * MAX_BODY }), fc.boolean(), async (endpoint, size, chunked) => {
        const text = JSON.stringify({ event: { message: 'x'.repeat(size) } });
        const call = { ...jsonCall(endpoint, text), chunked };
        const { envelope } = await send(call);
        const wanted = endpoint === 'v9/nope' ? 'NotFound' : 'PayloadTooLarge';
        if (envelope.status !== wanted) throw new Error(`${text.length}-byte body to ${endpoint} (chunked ${chunked}) answered ${envelope.status}`);
      }),
      runs(16),
    );
  });

  test('polling random request ids: NotFound (carrying that id) or the job, never InternalError', async () => {
    const idArb = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/),
      fc.constantFrom('__proto__', 'constructor', 'toString', ids.exportId, ids.exportId.toUpperCase(), ids.resultId, 'prq_' + '0'.repeat(32)),
    );
    await fc.assert(
      fc.asyncProperty(idArb, async (id) => {
        const call: Call = { method: 'GET', path: `/request/${id}`, headers: { authorization: `Bearer ${service.token}` } };
        const raw = await exchange(call);
        const envelope = checkEnvelope(raw, call, id, true);
        if (id === ids.exportId ? !['Success', 'Accepted'].includes(envelope.status) : envelope.status !== 'NotFound') {
          throw new Error(`polling ${id} answered ${envelope.status}: ${raw.text.slice(0, 300)}`);
        }
      }),
      runs(500),
    );
  });

  test('every acknowledged log is findable, unchanged; the service is alive', async () => {
    // Jobs accepted by v2/log_async finish in the background: poll each (bounded in time).
    const deadline = Date.now() + 15_000;
    for (const job of accepted) {
      for (;;) {
        const call: Call = { method: 'GET', path: `/request/${job.requestId}`, headers: { authorization: `Bearer ${service.token}` } };
        const envelope = checkEnvelope(await exchange(call), call, job.requestId, true);
        if (envelope.status === 'Success') {
          const results = envelope.result.results as Array<{ hash: string }>;
          if (results.length !== job.events.length) throw new Error(`async job stored ${results.length} of ${job.events.length}: ${job.context}`);
          results.forEach((r, i) => acknowledged.push({ hash: r.hash, event: job.events[i]!, context: job.context }));
          break;
        }
        if (envelope.status !== 'Accepted') throw new Error(`async job ended ${envelope.status} ${envelope.summary}: ${job.context}`);
        if (Date.now() > deadline) throw new Error(`async job ${job.requestId} did not finish in time`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(acknowledged.length).toBeGreaterThan(10);

    const stored = new Map<string, Record<string, unknown>>();
    const first = await service.post<Json>('v1/search', { query: '', limit: 1000, max_results: 10_000, order: 'asc', verbose: false });
    expect(first.status).toBe('Success');
    for (const e of first.result.events) stored.set(e.hash, e.envelope.event);
    for (let offset = first.result.events.length; offset < first.result.count; offset += 1000) {
      const page = await service.post<Json>('v1/results', { id: first.result.id, offset, limit: 1000 });
      for (const e of page.result.events) stored.set(e.hash, e.envelope.event);
    }
    for (const { hash, event, context } of acknowledged) {
      const got = stored.get(hash);
      if (!got) throw new Error(`acknowledged hash ${hash} is not in the log: ${context}`);
      if (!sameJson(got, event)) throw new Error(`stored event differs from the one sent: ${JSON.stringify(got).slice(0, 300)} vs ${JSON.stringify(event).slice(0, 300)}: ${context}`);
    }

    const root = await service.post('v1/root', {});
    expect(root.http).toBe(200);
    expect(reported).toEqual([]);
    console.log(`local audit fuzz: ${acknowledged.length} acknowledged events checked`);
  });

  test('afterwards the service closes promptly: no connection was left stalled', async () => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      service.close().then(() => 'closed'),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('still open after 5 s'), 5000);
      }),
    ]);
    clearTimeout(timer);
    expect(outcome).toBe('closed');
    console.log(`local audit fuzz: closed in ${Date.now() - started} ms`);
  });
});

// ---------------------------------------------------------------------------------------------

/** Remembers what a successful log acknowledged (hashes with the events sent). */
function recordLogged(endpoint: string, text: string, envelope: Json, context: string): void {
  if (!envelope || (envelope.status !== 'Success' && envelope.status !== 'Accepted')) return;
  let body: Json;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`a body that is not JSON succeeded: ${context}`);
  }
  if (endpoint === 'v1/log') {
    acknowledged.push({ hash: envelope.result.hash, event: body.event, context });
  } else if (endpoint === 'v2/log') {
    const results = envelope.result.results as Array<{ hash: string }>;
    if (results.length !== body.events.length) throw new Error(`v2/log acknowledged ${results.length} of ${body.events.length}: ${context}`);
    results.forEach((r, i) => acknowledged.push({ hash: r.hash, event: body.events[i].event, context }));
  } else if (endpoint === 'v2/log_async' && envelope.status === 'Accepted') {
    accepted.push({ requestId: envelope.request_id, events: body.events.map((e: Json) => e.event), context });
  }
}

/** Percent-encodes what a request-target may not hold raw (keeps the odd-but-legal characters). */
function encodePath(s: string): string {
  return Array.from(s)
    .map((ch) => (/^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]$/.test(ch) ? ch : encodeURIComponent(/^[\ud800-\udfff]$/.test(ch) ? '\ufffd' : ch)))
    .join('');
}
