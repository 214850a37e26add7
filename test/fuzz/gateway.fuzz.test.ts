// Fuzzing the gateway on its real HTTP listener (startTestGateway: embedded local audit service,
// 127.0.0.1, port 0). fast-check drives random and mutated GraphQL documents, variables of wrong
// types, deep nesting and many aliases, search query strings, cursors, JSON-scalar event fields
// and raw bodies/headers at POST /graphql. Every answer must be:
//   - below 500 (the embedded upstream is healthy, so not even the typed UpstreamUnavailableError
//     may appear), 400 for bad GraphQL/JSON, 413 for oversized bodies;
//   - JSON with well-formed errors (errors[].message strings), no stack trace, no upstream token,
//     and no masked "Unexpected error." (that would be an exception the schema did not expect);
//   - for searches over honest data: every returned event verifies;
//   - for cursors: only cursors the gateway issued are accepted;
//   - for logs: every event that got a hash is stored, findable and unchanged;
//   - the page verifier's memoised signature verdicts always equal a fresh check (differential).
// The process must survive (the listener still answers /health), and near-limit documents must not
// be retained. (Memory under sustained load is bench:load's figure: a bound on RSS here would be a
// guess about the machine.)
//
// Runs are reproducible: FUZZ_SEED (default below) is fixed and fast-check prints the seed and
// path of any counterexample. FUZZ_SCALE multiplies every numRuns (default 1).
import { jest } from '@jest/globals';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import type { SearchEvent } from '../../src/wire/index.js';
import { verifySignatureNative } from '../../src/crypto/native-ed25519.js';
import type { GraphQLContext } from '../../src/graphql/context.js';
import { PageVerifier } from '../../src/graphql/page-verifier.js';
import { PublishedRootCache } from '../../src/graphql/upstream-state.js';
import { signEvent } from '../../src/merkle/index.js';
import { startTestGateway, type Json, type TestGateway } from '../support/gateway.js';
import { oddJson, oddNumber, runs, SCALE, sameJson, SEED, settledHeap, unicodeString } from './support.js';

const MAX_BODY = 256 * 1024;


let gw: TestGateway;
let token: string;
let errorSpy: jest.SpiedFunction<typeof console.error>;

interface Answer {
  status: number;
  contentType: string;
  text: string;
  body: Json;
}

async function send(body: string | Uint8Array, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  errorSpy.mockClear();
  const method = init.method ?? 'POST';
  const res = await fetch(gw.url, {
    method,
    headers: init.headers ?? { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    ...(method === 'GET' || method === 'HEAD' ? {} : { body: typeof body === 'string' ? body : new Uint8Array(body) }),
  });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let parsed: Json = undefined;
  if (/json/.test(contentType)) {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`HTTP ${res.status} declared JSON but sent: ${text.slice(0, 300)}`);
    }
  }
  return { status: res.status, contentType, text, body: parsed };
}

function post(query: string, variables?: unknown): Promise<Answer> {
  return send(JSON.stringify({ query, ...(variables !== undefined ? { variables } : {}) }));
}

/** Every object in a JSON value (depth-first), for looking at typenames anywhere in `data`. */
function* objects(value: unknown): Generator<Record<string, unknown>> {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v !== null && typeof v === 'object') {
      if (!Array.isArray(v)) yield v as Record<string, unknown>;
      stack.push(...Object.values(v as object));
    }
  }
}

const STACK_LINE = /\n\s+at .+[(:]\d+:\d+\)?/;

/**
 * The checks every gateway answer must pass; returns the body. `allowed` narrows the HTTP statuses
 * for a given kind of input.
 */
function checkAnswer(answer: Answer, context: string, allowed: readonly number[] = [200, 400]): Json {
  // Whatever the gateway logged as unexpected while answering is part of every failure message.
  const logged = errorSpy.mock.calls.map((c) => c.map((x) => (x instanceof Error ? (x.stack ?? x.message) : String(x))).join(' ')).join('\n');
  errorSpy.mockClear();
  const where = `${context}\n-> HTTP ${answer.status} ${answer.text.slice(0, 600)}${logged ? `\nlogged: ${logged.slice(0, 1500)}` : ''}`;
  if (logged) throw new Error(`the gateway logged an unexpected error: ${where}`);
  if (answer.status >= 500) throw new Error(`5xx: ${where}`);
  if (!allowed.includes(answer.status)) throw new Error(`unexpected status (allowed ${allowed.join('/')}): ${where}`);
  if (STACK_LINE.test(answer.text) || /"stack"\s*:/.test(answer.text)) throw new Error(`stack trace in the answer: ${where}`);
  if (answer.text.includes(token)) throw new Error(`upstream token in the answer: ${where}`);
  if (/text\/event-stream/.test(answer.contentType)) {
    // A client that accepts only SSE gets the same result as "next" events.
    const events = answer.text.split('\n').filter((l) => l.startsWith('data:') && l.trim() !== 'data:');
    if (events.length === 0) throw new Error(`SSE answer without a result: ${where}`);
    for (const line of events) checkResult(JSON.parse(line.slice(5)), answer.status, where);
    return undefined;
  }
  if (answer.body === undefined) {
    // Only GraphiQL (HTML for a browser GET) may answer with something other than JSON.
    if (!/text\/html/.test(answer.contentType)) throw new Error(`non-JSON answer: ${where}`);
    return undefined;
  }
  return checkResult(answer.body, answer.status, where);
}

/** A GraphQL result: data and/or a non-empty list of errors with messages, nothing masked. */
function checkResult(body: Json, status: number, where: string): Json {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error(`answer is not a JSON object: ${where}`);
  if ('errors' in body) {
    if (!Array.isArray(body.errors) || body.errors.length === 0) throw new Error(`errors is not a non-empty list: ${where}`);
    for (const e of body.errors) {
      if (e === null || typeof e !== 'object' || typeof e.message !== 'string' || e.message.length === 0) throw new Error(`malformed error entry: ${where}`);
      if (e.message === 'Unexpected error.' || e.extensions?.code === 'INTERNAL_SERVER_ERROR') throw new Error(`masked unexpected error: ${where}`);
    }
  } else if (!('data' in body)) {
    throw new Error(`answer has neither data nor errors: ${where}`);
  }
  if (status === 200 && body.data === undefined && body.errors === undefined) throw new Error(`200 without data: ${where}`);
  for (const o of objects(body.data)) {
    if (o.__typename === 'UpstreamUnavailableError') throw new Error(`the healthy embedded upstream was reported unavailable: ${where}`);
  }
  return body;
}

// ---------------------------------------------------------------------------------------------
// Corpus: the example operations and documents for every root field.

const OPERATIONS_DIR = join(process.cwd(), 'examples', 'operations');
const FRAGMENTS = readFileSync(join(OPERATIONS_DIR, 'fragments.graphql'), 'utf8');
const EXAMPLES = readdirSync(OPERATIONS_DIR)
  .filter((f) => f.endsWith('.graphql') && f !== 'fragments.graphql')
  .map((f) => {
    const text = readFileSync(join(OPERATIONS_DIR, f), 'utf8');
    return /\.\.\.AuditEvent/.test(text) ? `${text}\n${FRAGMENTS}` : text;
  });

const ERR = '__typename ... on Error { message }';
const HAND_WRITTEN = [
  `{ root { ${ERR} ... on PublishedRoot { size rootHash consistency consistencyFailure } } }`,
  `query($n: Int) { root(treeSize: $n) { ${ERR} } }`,
  `mutation($e: AuditEventInput!) { log(event: $e, options: {verify: true}) { ${ERR} ... on LogResult { hash verification { hash membership failures } } } }`,
  `mutation($e: JSON!) { logEvent(event: $e, options: {verbose: true}) { ${ERR} ... on UpstreamValidationError { fieldErrors { code detail source path } } } }`,
  `mutation { logBulk(events: [{message: "a"}, {message: "b", old: {x: [1, 2.5, null, "ü"]}, timestamp: "2024-01-01T00:00:00Z"}]) { ${ERR} ... on LogBulkResult { count results { hash } } } }`,
  `mutation { logBulkAsync(events: [{message: "async"}]) { ${ERR} ... on AcceptedRequest { requestId } } }`,
  `mutation($d: JSON!) { logStream(data: $d) { ${ERR} } }`,
  `mutation { export(format: JSON, start: "1d") { ${ERR} ... on AcceptedRequest { requestId location } } }`,
  `query($id: ID!) { pollResult(requestId: $id) { ${ERR} } }`,
  `mutation($id: ID) { downloadResults(resultId: $id, format: CSV) { ${ERR} ... on DownloadLink { url } } }`,
  `{ integrity { state failure } }`,
  `{ search(query: "actor:fuzz", first: 3, order: ASC, maxResults: 50) { ${ERR} ... on AuditEventConnection { totalCount edges { cursor node { hash envelope event leafIndex verification { verified failures } } } } } }`,
  `query($r: ID!) { results(resultId: $r, last: 2) { ${ERR} ... on AuditEventConnection { totalCount pageInfo { startCursor endCursor } } } }`,
  `{ __schema { queryType { name } types { name kind } } }`,
];
const CORPUS = [...EXAMPLES, ...HAND_WRITTEN];

const VOCABULARY = [
  '{', '}', '(', ')', '[', ']', ':', '$x', '!', '@include(if: true)', '@skip(if: $x)', '@deprecated', '...', 'on', '=', '|', '&',
  'query', 'mutation', 'subscription', 'fragment', 'search', 'results', 'root', 'log', 'logEvent', 'edges', 'node', 'hash',
  'verification', '__typename', '__schema', '__type(name: "Query")', 'first:', 'after:', 'null', 'true', 'false', '0', '-0',
  '99999999999999999999999', '1e999', '-2147483649', '3.14e-400', '"x"', '""', '"""block"""', '"\\u0000"', '"\\uD800"',
  '"😀"', '"\u202e"', 'a:', '#', ',', '\n', '\t', '\u00a0', '\ufeff',
];

type Mutation = (doc: string) => string;

const docMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 12 })).map(([at, n]): Mutation => (d) => {
    const i = at % (d.length + 1);
    return d.slice(0, i) + d.slice(i + n);
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 40 })).map(([at, n]): Mutation => (d) => {
    const i = at % (d.length + 1);
    return d.slice(0, i + n) + d.slice(i);
  }),
  fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...VOCABULARY), unicodeString(4))).map(([at, s]): Mutation => (d) => {
    const i = at % (d.length + 1);
    return `${d.slice(0, i)} ${s} ${d.slice(i)}`;
  }),
  fc.constantFrom('99999999999999999999999', '2147483648', '-1', '1e400', '0.5', '"7"', 'null').map((n): Mutation => (d) => d.replace(/\b\d+\b/, n)),
  unicodeString(30).map((s): Mutation => (d) => d.replace(/"[^"\n]*"/, JSON.stringify(s))),
  fc.tuple(fc.nat(), fc.nat()).map(([a, b]): Mutation => (d) => {
    if (d.length < 2) return d;
    const [i, j] = [a % d.length, b % d.length].sort((x, y) => x - y) as [number, number];
    return d.slice(0, i) + d[j] + d.slice(i + 1, j) + d[i] + d.slice(j + 1);
  }),
);

/** Variables for any document: right-looking and wrong values for every name the corpus uses. */
const variablesArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.record(
    {
      query: fc.oneof(fc.constant('actor:fuzz'), unicodeString(30), oddJson),
      first: fc.oneof(fc.integer({ min: -5, max: 1500 }), oddNumber, oddJson),
      after: fc.oneof(unicodeString(40), oddJson),
      start: fc.oneof(fc.constantFrom('7d', '120min', '2024-01-01T00:00:00Z', '1e999d'), oddJson),
      end: oddJson,
      order: fc.oneof(fc.constantFrom('ASC', 'DESC', 'asc', 'sideways'), oddJson),
      maxResults: fc.oneof(fc.integer({ min: -5, max: 20_000 }), oddNumber, oddJson),
      treeSize: fc.oneof(fc.integer({ min: -5, max: 2 ** 31 - 1 }), oddNumber, oddJson),
      resultId: fc.oneof(fc.constant('pas_00000000000000000000000000000000'), unicodeString(40), oddJson),
      e: oddJson,
      d: oddJson,
      n: oddJson,
      id: oddJson,
      r: oddJson,
      event: oddJson,
      options: oddJson,
    },
    { requiredKeys: [] },
  ),
  oddJson,
);

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  errorSpy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  gw = await startTestGateway({ maxBodyBytes: MAX_BODY, signingKey: true });
  token = gw.local!.token;
  // Seed: signed and unsigned events, some published, some not.
  for (let i = 0; i < 40; i++) {
    await gw.runOk(`mutation($e: AuditEventInput!, $o: LogOptions) { log(event: $e, options: $o) { __typename } }`, {
      e: { message: `seed ${i} ünïcødé 😀`, actor: 'fuzz', action: i % 2 ? 'read' : 'write', target: `doc-${i % 5}`, old: { n: i } },
      o: { signLocal: i % 3 === 0 },
    });
    if (i === 25) gw.publish();
  }
  console.log(`gateway fuzz: seed ${SEED} (FUZZ_SEED to change), scale ${SCALE}`);
});

afterAll(async () => {
  await gw?.close();
  errorSpy?.mockRestore();
});

describe(`gateway fuzz (seed ${SEED})`, () => {
  test('random strings as documents: 200/400 with well-formed errors', async () => {
    const doc = fc.oneof(
      unicodeString(200),
      fc.array(fc.constantFrom(...VOCABULARY), { maxLength: 60 }).map((t) => t.join(' ')),
    );
    await fc.assert(
      fc.asyncProperty(doc, async (query) => {
        checkAnswer(await post(query), `query ${JSON.stringify(query)}`);
      }),
      runs(400),
    );
  });

  test('mutated valid documents with fuzzed variables: 200/400, no unexpected error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CORPUS),
        fc.array(docMutation, { minLength: 0, maxLength: 4 }),
        fc.option(variablesArb, { nil: undefined }),
        async (base, mutations, variables) => {
          const query = mutations.reduce((d, m) => m(d), base);
          checkAnswer(await post(query, variables), `query ${JSON.stringify(query)}\nvariables ${JSON.stringify(variables)}`);
        },
      ),
      runs(700),
    );
  });

  test('deep nesting and many aliases stay 200/400 (limits answer, nothing overflows)', async () => {
    // Each shape is a function of n, so a counterexample prints as [shape, n].
    const SHAPES: Record<string, (n: number) => { query: string; json?: string }> = {
      // Nested inline fragments (selection depth).
      fragments: (n) => ({ query: `{ ${'... on Query { '.repeat(n)}__typename${' }'.repeat(n)} }` }),
      // Nested list and object literals in a JSON argument, and the same through variables.
      listLiteral: (n) => ({ query: `mutation { logEvent(event: {message: "deep", old: ${'['.repeat(n)}${']'.repeat(n)}}) { ${ERR} } }` }),
      objectLiteral: (n) => ({ query: `mutation { logEvent(event: {message: "deep", old: ${'{a: '.repeat(n)}1${'}'.repeat(n)}}) { ${ERR} } }` }),
      listVariable: (n) => ({ query: `mutation($e: JSON!) { logEvent(event: $e) { ${ERR} } }`, json: `{"message":"deep","old":${'['.repeat(n)}${']'.repeat(n)}}` }),
      objectVariable: (n) => ({ query: `mutation($e: JSON!) { logStream(data: $e) { ${ERR} } }`, json: `{"logs":[{"log_id":"1","data":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}]}` }),
      // Many aliases of a cheap field and of upstream fields.
      aliases: (n) => ({ query: `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} __typename }` }),
      rootAliases: (n) => ({ query: `{ ${Array.from({ length: n % 80 }, (_, i) => `r${i}: root { ${ERR} }`).join(' ')} }` }),
      searchAliases: (n) => ({ query: `{ ${Array.from({ length: 1 + (n % 40) }, (_, i) => `s${i}: search(query: "", first: 1000) { __typename }`).join(' ')} }` }),
      // Many directives and long documents.
      directives: (n) => ({ query: `{ __typename ${'@include(if: true) '.repeat(n % 500)}}` }),
      comment: (n) => ({ query: `{ __typename } ${'#'.repeat(n)}` }),
    };
    const shapeArb = fc.tuple(
      fc.constantFrom(...Object.keys(SHAPES)),
      fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 30_000 })),
    );
    await fc.assert(
      fc.asyncProperty(shapeArb, async ([shape, n]) => {
        const { query, json } = SHAPES[shape]!(n);
        const body = json === undefined ? JSON.stringify({ query }) : `{"query":${JSON.stringify(query)},"variables":{"e":${json}}}`;
        const answer = await send(body);
        checkAnswer(answer, `document of ${body.length} bytes: ${body.slice(0, 200)}`, [200, 400, 413]);
        if (Buffer.byteLength(body) > MAX_BODY && answer.status !== 413) throw new Error(`a ${body.length}-byte body was not refused with 413`);
      }),
      runs(250),
    );
  });

  test('search query strings (random and mutated valid ones): a connection of verified events or a typed error', async () => {
    const VALID = [
      'actor:fuzz',
      'message:"seed 1"',
      '-action:read target:doc-1',
      '(action:read OR action:write) AND actor:fuzz',
      'timestamp>2024-01-01T00:00:00Z',
      'received_at<2999-01-01T00:00:00Z',
      'ünïcødé',
      '"seed 3 ünïcødé"',
      'old:"{\\"n\\":1}"',
      '',
    ];
    const queryArb = fc.oneof(
      unicodeString(60),
      fc.tuple(fc.constantFrom(...VALID), fc.array(docMutation, { minLength: 1, maxLength: 3 })).map(([q, ms]) => ms.reduce((d, m) => m(d), q)),
      fc.array(fc.constantFrom(...VALID, 'AND', 'OR', '(', ')', '-', ':', '"', '>', '<', '=', 'field:', 'actor:'), { maxLength: 40 }).map((t) => t.join(' ')),
      fc.constantFrom('('.repeat(100), '"'.repeat(7), 'actor:' + 'x'.repeat(9000), 'a '.repeat(300), '\u0000', 'timestamp>99999999999999999999'),
    );
    const extra = fc.record(
      {
        start: fc.constantFrom('7d', '1min', '2020-01-01T00:00:00Z', 'yesterday', '-5d', '999999999999d'),
        end: fc.constantFrom('2999-01-01T00:00:00Z', '0d', 'x'),
        orderBy: fc.constantFrom('received_at', 'actor', 'timestamp', 'nope', '__proto__', 'e.actor; DROP TABLE events'),
        maxResults: fc.oneof(fc.integer({ min: -1, max: 12_000 }), fc.constant(2 ** 31 - 1)),
        searchRestriction: fc.array(fc.record({ field: fc.constantFrom('actor', 'action', 'tenant_id', '__proto__', 'nope'), values: fc.array(unicodeString(8), { maxLength: 3 }) }), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    );
    const doc = `query($q: String!, $start: String, $end: String, $orderBy: String, $maxResults: Int, $searchRestriction: [SearchRestrictionInput!]) {
      search(query: $q, first: 20, start: $start, end: $end, orderBy: $orderBy, maxResults: $maxResults, searchRestriction: $searchRestriction) {
        __typename
        ... on Error { message }
        ... on UpstreamValidationError { fieldErrors { code detail source } }
        ... on AuditEventConnection { totalCount edges { node { hash published verification { hash membership consistency signature verified verdict verdictReason failures } } } }
      }
    }`;
    await fc.assert(
      fc.asyncProperty(queryArb, extra, async (q, more) => {
        const context = `search ${JSON.stringify({ q, ...more })}`;
        const body = checkAnswer(await post(doc, { q, ...more }), context);
        const search = body.data?.search;
        if (!search) throw new Error(`no search result: ${context} -> ${JSON.stringify(body).slice(0, 500)}`);
        if (!['AuditEventConnection', 'UpstreamValidationError', 'InputError'].includes(search.__typename)) {
          throw new Error(`unexpected result ${search.__typename}: ${context}`);
        }
        if (search.__typename === 'UpstreamValidationError' && !(search.fieldErrors.length > 0 && search.fieldErrors.every((f: Json) => typeof f.code === 'string'))) {
          throw new Error(`validation error without field errors: ${context}`);
        }
        if (search.__typename === 'AuditEventConnection') {
          for (const edge of search.edges) {
            // Honest data: published events are proven, unpublished ones pending, none failed.
            const want = edge.node.published ? 'VERIFIED' : 'PENDING';
            if (edge.node.verification.verdict !== want) throw new Error(`honest event is not ${want}: ${JSON.stringify(edge.node)} for ${context}`);
          }
        }
      }),
      runs(500),
    );
  });

  test('cursors (random, mutated real ones, foreign ones): only issued cursors are accepted', async () => {
    const PAGE = `__typename ... on Error { message } ... on AuditEventConnection { edges { cursor node { hash } } pageInfo { endCursor } }`;
    const first = await gw.runOk(`{ search(query: "actor:fuzz", first: 7, order: ASC) { ... on AuditEventConnection { resultId edges { cursor } } } }`);
    const other = await gw.runOk(`{ search(query: "action:read", first: 3) { ... on AuditEventConnection { resultId edges { cursor } } } }`);
    const resultId: string = first.search.resultId;
    const issued: string[] = first.search.edges.map((e: Json) => e.cursor);
    const foreign: string[] = other.search.edges.map((e: Json) => e.cursor);
    expect(issued).toHaveLength(7);
    const valid = new Set(issued);

    const base64url = (s: string) => Buffer.from(s).toString('base64url');
    const cursorArb = fc.oneof(
      fc.constantFrom(...issued),
      fc.constantFrom(...foreign),
      fc.tuple(fc.constantFrom(...issued), fc.array(docMutation, { minLength: 1, maxLength: 3 })).map(([c, ms]) => ms.reduce((d, m) => m(d), c)),
      fc.tuple(fc.constantFrom(...issued), fc.nat(), fc.constantFrom('A', '_', '-', '0', '.', '=', '+', '/')).map(([c, at, ch]) => {
        const i = at % c.length;
        return c.slice(0, i) + ch + c.slice(i + 1);
      }),
      // Well-formed-looking cursors with a forged payload and the MAC of a real one.
      fc.tuple(fc.constantFrom(...issued), oddJson).map(([c, payload]) => {
        const [v, , mac, position] = c.split('.');
        return `${v}.${base64url(JSON.stringify(payload) ?? 'null')}.${mac}.${position}`;
      }),
      // The same under the single-offset cursor format of earlier versions, which is still read.
      fc.tuple(fc.constantFrom(...issued), oddJson).map(([c, payload]) => `c1.${base64url(JSON.stringify(payload) ?? 'null')}.${c.split('.')[2]}`),
      fc.tuple(fc.constantFrom(resultId, 'pas_x'), fc.oneof(fc.integer(), oddNumber), unicodeString(10)).map(([r, o, s]) => `c1.${base64url(JSON.stringify([r, o, s]))}.${'A'.repeat(22)}`),
      unicodeString(40),
      fc.integer({ min: 1000, max: 200_000 }).map((n) => 'c1.' + 'x'.repeat(n)),
      fc.constant(''),
    );
    const shape = fc.constantFrom('searchAfter', 'searchBefore', 'resultsAfter', 'resultsBefore', 'resultsLast');
    await fc.assert(
      fc.asyncProperty(cursorArb, shape, fc.integer({ min: 0, max: 30 }), async (cursor, how, size) => {
        const doc =
          how === 'searchAfter'
            ? `query($c: String) { x: search(query: "actor:fuzz", first: ${size}, order: ASC, after: $c) { ${PAGE} } }`
            : how === 'searchBefore'
              ? `query($c: String) { x: search(query: "actor:fuzz", last: ${size}, order: ASC, before: $c) { ${PAGE} } }`
              : how === 'resultsAfter'
                ? `query($c: String) { x: results(resultId: "${resultId}", first: ${size}, after: $c) { ${PAGE} } }`
                : how === 'resultsBefore'
                  ? `query($c: String) { x: results(resultId: "${resultId}", last: ${size}, before: $c) { ${PAGE} } }`
                  : `query($c: String) { x: results(resultId: "${resultId}", last: ${size}, after: $c) { ${PAGE} } }`;
        const context = `${how} size ${size} cursor ${JSON.stringify(cursor.slice(0, 300))}`;
        const body = checkAnswer(await post(doc, { c: cursor }), context, [200, 400, 413]);
        const x = body.data?.x;
        if (!x) return; // 400: e.g. a body over the limit would be 413; nothing else to check
        // The empty string is "no cursor" for after/before; any other unissued cursor must fail.
        const acceptable = cursor === '' || valid.has(cursor);
        if (x.__typename === 'AuditEventConnection' && !acceptable) throw new Error(`an unissued cursor was accepted: ${context}`);
        if (x.__typename !== 'AuditEventConnection' && !['InvalidCursorError', 'ResultSetExpiredError', 'InputError'].includes(x.__typename)) {
          throw new Error(`unexpected ${x.__typename} (${x.message}): ${context}`);
        }
        if (acceptable && valid.has(cursor) && x.__typename !== 'AuditEventConnection') {
          throw new Error(`an issued cursor was refused with ${x.__typename} (${x.message}): ${context}`);
        }
      }),
      runs(500),
    );
  });

  test('JSON scalars and event fields: every logged event is stored, findable and unchanged', async () => {
    interface Logged {
      hash: string;
      sent: Record<string, unknown>;
      context: string;
    }
    const logged: Logged[] = [];
    const fieldValue = fc.oneof(
      { weight: 4, arbitrary: unicodeString(40) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 40_000 }).chain((n) => fc.constantFrom('x', 'é', '😀', '\u0000').map((c) => c.repeat(n))) },
      { weight: 2, arbitrary: oddJson },
    );
    const key = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('message', 'actor', 'action', 'target', 'status', 'source', 'old', 'new', 'tenant_id', 'timestamp') },
      { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'Message', '') },
      { weight: 1, arbitrary: unicodeString(10) },
    );
    const eventArb = fc.tuple(fc.option(unicodeString(30), { nil: undefined, freq: 5 }), fc.array(fc.tuple(key, fieldValue), { maxLength: 6 })).map(([message, pairs]) => {
      const event: Record<string, unknown> = {};
      // Defined, not assigned, so "__proto__" is an own member as it would be after JSON.parse.
      const put = (k: string, v: unknown) => Object.defineProperty(event, k, { value: v, enumerable: true, writable: true, configurable: true });
      if (message !== undefined) put('message', message);
      for (const [k, v] of pairs) put(k, v);
      return event;
    });
    const standardInput = fc.record(
      {
        message: unicodeString(50),
        actor: unicodeString(20),
        action: unicodeString(8),
        target: fc.oneof(unicodeString(20), fc.constant(null)),
        old: oddJson,
        new: oddJson,
        timestamp: fc.constantFrom('2024-01-01T00:00:00Z', '2024-07-25T00:51:46.340938+02:00', '2024-13-45T99:00:00Z'),
      },
      { requiredKeys: ['message'] },
    );
    const caseArb = fc.oneof(
      fc.tuple(fc.constant('logEvent' as const), eventArb, fc.boolean()),
      fc.tuple(fc.constant('log' as const), standardInput, fc.boolean()),
      fc.tuple(fc.constant('logBulk' as const), fc.array(standardInput, { minLength: 1, maxLength: 4 }), fc.boolean()),
    );
    const LOG_FIELDS = `__typename ... on Error { message } ... on UpstreamValidationError { fieldErrors { code source } } ... on LogResult { hash verification { hash membership signature failures } }`;
    await fc.assert(
      fc.asyncProperty(caseArb, async ([kind, input, verify]) => {
        const body = JSON.stringify({
          query:
            kind === 'logEvent'
              ? `mutation($e: JSON!, $o: LogOptions) { r: logEvent(event: $e, options: $o) { ${LOG_FIELDS} } }`
              : kind === 'log'
                ? `mutation($e: AuditEventInput!, $o: LogOptions) { r: log(event: $e, options: $o) { ${LOG_FIELDS} } }`
                : `mutation($e: [AuditEventInput!]!, $o: LogOptions) { r: logBulk(events: $e, options: $o) { __typename ... on Error { message } ... on LogBulkResult { results { hash } } } }`,
          variables: { e: input, o: { verify } },
        });
        const context = `${kind} ${body.slice(0, 800)}`;
        const answer = await send(body);
        const out = checkAnswer(answer, context, [200, 400, 413]);
        if (answer.status === 413) {
          if (Buffer.byteLength(body) <= MAX_BODY) throw new Error(`413 for a ${Buffer.byteLength(body)}-byte body: ${context}`);
          return;
        }
        const r = out.data?.r;
        if (!r) return; // variable coercion refused the input (400)
        if (!['LogResult', 'LogBulkResult', 'UpstreamValidationError', 'InputError'].includes(r.__typename)) throw new Error(`unexpected ${r.__typename}: ${context}`);
        if (r.__typename === 'LogResult') {
          if (!/^[0-9a-f]{64}$/.test(r.hash)) throw new Error(`bad hash: ${context}`);
          if (verify && (r.verification.hash !== 'PASS' || r.verification.membership !== 'PASS')) throw new Error(`own log did not verify: ${JSON.stringify(r.verification)} ${context}`);
          const sent = kind === 'log' ? toWire(input as Record<string, unknown>) : (input as Record<string, unknown>);
          logged.push({ hash: r.hash, sent, context });
        }
        if (r.__typename === 'LogBulkResult') {
          const items = input as Array<Record<string, unknown>>;
          if (r.results.length !== items.length) throw new Error(`bulk stored ${r.results.length} of ${items.length}: ${context}`);
          r.results.forEach((res: Json, i: number) => logged.push({ hash: res.hash, sent: toWire(items[i]!), context }));
        }
      }),
      runs(400),
    );
    expect(logged.length).toBeGreaterThan(20);

    // Every acknowledged event is in the log, with exactly the fields sent (null = absent,
    // objects and arrays as their canonical JSON text, which must parse back to what was sent).
    const stored = await allStoredEvents();
    for (const { hash, sent, context } of logged) {
      const event = stored.get(hash);
      if (!event) throw new Error(`logged event ${hash} is not in the log: ${context}`);
      const expectedKeys = Object.keys(sent).filter((k) => sent[k] !== null && sent[k] !== undefined).sort();
      expect({ hash, keys: Object.keys(event).sort() }).toEqual({ hash, keys: expectedKeys });
      for (const k of expectedKeys) {
        const want = sent[k];
        const got = event[k];
        const same = want !== null && typeof want === 'object' ? typeof got === 'string' && sameJson(JSON.parse(got), want) : Object.is(got, want) || got === want;
        if (!same) throw new Error(`field ${k} of ${hash} changed: sent ${JSON.stringify(want)?.slice(0, 200)}, stored ${JSON.stringify(got)?.slice(0, 200)}\n${context}`);
      }
    }
  });

  test('raw bodies, methods, content types and headers at /graphql: never 5xx, always well-formed', async () => {
    const bodyArb = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      unicodeString(200),
      oddJson.map((v) => JSON.stringify(v) ?? ''),
      fc.record({ query: fc.oneof(fc.constantFrom(...CORPUS), oddJson), variables: variablesArb, operationName: fc.oneof(unicodeString(10), oddJson), extensions: oddJson }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
      fc.constantFrom('', '{', '{"query":', '[{"query":"{__typename}"},{"query":"{__typename}"}]', '{"query":"{__typename}"}'.repeat(2)),
    );
    const headersArb = fc.record(
      {
        'content-type': fc.oneof(
          fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/graphql+json', 'application/graphql', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', ';;;', 'application/JSON'),
          fc.string({ maxLength: 30 }).filter((s) => /^[\x21-\x7e ]*$/.test(s)),
        ),
        accept: fc.constantFrom('*/*', 'text/html', 'application/graphql-response+json', 'text/event-stream', 'application/xml', 'image/png'),
        'x-graphql-yoga-csrf': fc.constant('1'),
        'graphql-client-name': fc.string({ maxLength: 10 }).filter((s) => /^[\x21-\x7e]*$/.test(s)),
      },
      { requiredKeys: [] },
    );
    const methodArb = fc.constantFrom('POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
    const searchArb = fc.option(fc.dictionary(fc.constantFrom('query', 'variables', 'operationName', 'extensions', 'x'), fc.oneof(fc.constantFrom(...CORPUS), unicodeString(20)), { maxKeys: 3 }), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(bodyArb, headersArb, methodArb, searchArb, async (body, headers, method, search) => {
        errorSpy.mockClear();
        const url = search ? `${gw.url}?${new URLSearchParams(search as Record<string, string>).toString()}` : gw.url;
        const res = await fetch(url, { method, headers, ...(method === 'GET' ? {} : { body: typeof body === 'string' ? body : new Uint8Array(body) }) });
        const text = await res.text();
        const contentType = res.headers.get('content-type') ?? '';
        let parsed: Json;
        if (/json/.test(contentType) && text !== '') parsed = JSON.parse(text);
        const answer: Answer = { status: res.status, contentType, text, body: parsed };
        const context = `${method} ${url.slice(0, 300)} ${JSON.stringify(headers)} body ${typeof body === 'string' ? JSON.stringify(body.slice(0, 300)) : `${body.length} bytes`}`;
        if (method === 'OPTIONS' || (text === '' && res.status < 500)) {
          if (res.status >= 500) throw new Error(`5xx: ${context}`);
          return;
        }
        checkAnswer(answer, context, [200, 400, 403, 405, 406, 413, 415]);
      }),
      runs(500),
    );
  });

  test('oversized bodies are a 413, declared or streamed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: MAX_BODY + 1, max: MAX_BODY * 4 }), fc.boolean(), async (size, chunked) => {
        const payload = JSON.stringify({ query: `{ __typename } #${'x'.repeat(size)}` });
        let body: string | ReadableStream<Uint8Array> = payload;
        if (chunked) {
          const bytes = new TextEncoder().encode(payload);
          let at = 0;
          body = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (at >= bytes.length) return controller.close();
              controller.enqueue(bytes.subarray(at, at + 65536));
              at += 65536;
            },
          });
        }
        const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
        const text = await res.text();
        checkAnswer({ status: res.status, contentType: res.headers.get('content-type') ?? '', text, body: JSON.parse(text) }, `${size} bytes, chunked ${chunked}`, [413]);
      }),
      runs(12),
    );
  });

  test('memoised signature verdicts always equal a fresh check (differential, across pages)', async () => {
    // PageVerifier keeps signature verdicts across requests under their exact inputs. Pages of
    // real signatures, tampered ones and re-split (signature, public key) pairs — a bare PEM key
    // holds newlines, so naive concatenation of the two would be ambiguous — must always get
    // the verdict a fresh node:crypto check gives.
    const { privateKey } = generateKeyPairSync('ed25519');
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const events = [{ message: 'a' }, { message: 'b', actor: 'x' }, { message: 'a', actor: '' }];
    const signed = events.map((event) => ({ event, ...signEvent(event, pkcs8) }));
    const pem = JSON.parse(signed[0]!.public_key).key as string;
    const ctx = {
      upstream: { roots: new PublishedRootCache(), oneEventPerLeaf: true },
      loaders: { publishedRoot: { loadMany: async (sizes: number[]) => sizes.map(() => null) } },
    } as unknown as GraphQLContext;
    const splitAt = (text: string, at: number): [string, string] => [text.slice(0, at % (text.length + 1)), text.slice(at % (text.length + 1))];
    const entry = fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 2 }), fc.nat({ max: 5 }), fc.nat({ max: 400 }), fc.nat({ max: 2 })).map(([e, s2, how, at, k]) => {
      const { event } = signed[e]!;
      const { signature, public_key } = signed[s2]!;
      const keyText = k === 0 ? public_key : k === 1 ? pem : JSON.stringify({ algorithm: 'ED25519', key: pem });
      let sig = signature;
      let key = keyText;
      if (how === 1) {
        // Move the key's text up to one of its newlines into the signature (dropping that newline).
        const newlines = [...keyText.matchAll(/\n/g)].map((m) => m.index);
        const j = newlines.length > 0 ? newlines[at % newlines.length]! : at % (keyText.length + 1);
        [sig, key] = [`${signature}\n${keyText.slice(0, j)}`, keyText.slice(newlines.length > 0 ? j + 1 : j)];
      }
      if (how === 2) [sig, key] = [splitAt(signature, at)[0], `${splitAt(signature, at)[1]}\n${keyText}`];
      if (how === 3) sig = signature.slice(0, -4) + (signature.endsWith('AAA=') ? 'BAA=' : 'AAA=');
      if (how === 4) key = keyText.replace('MC', 'MD');
      return { envelope: { event, received_at: '2024-01-01T00:00:00.000000Z', signature: sig, public_key: key }, hash: '0'.repeat(64), published: false } as unknown as SearchEvent;
    });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 6 }), async (page) => {
        const verifier = new PageVerifier(page, undefined, undefined, ctx);
        for (let i = 0; i < page.length; i++) {
          const got = (await verifier.verification(i)).signature;
          const { event, signature, public_key } = page[i]!.envelope;
          const fresh = verifySignatureNative({ event, signature, publicKey: public_key });
          if (got.status !== fresh.status || got.reason !== fresh.reason) {
            throw new Error(`memoised ${JSON.stringify(got)} but a fresh check says ${JSON.stringify(fresh)} for ${JSON.stringify(page[i]!.envelope)}`);
          }
        }
      }),
      runs(400),
    );
  });

  test('unique near-limit documents are not retained (the parse caches skip large documents)', async () => {
    const before = settledHeap();
    const DOCUMENTS = 200;
    let sentChars = 0;
    for (let i = 0; i < DOCUMENTS; i++) {
      // Alternately a valid document and a parse error, each unique and just under the body limit.
      const padding = 'x'.repeat(MAX_BODY - 200);
      const query = i % 2 ? `{ __typename } # ${i} ${padding}` : `{ __typename # ${i} ${padding}`;
      sentChars += query.length;
      checkAnswer(await post(query), `document ${i} of ${query.length} characters`);
    }
    const grown = settledHeap() - before;
    console.log(`gateway fuzz: heap after ${DOCUMENTS} unique ${Math.round(MAX_BODY / 1024)} KiB documents grew ${(grown / 2 ** 20).toFixed(1)} MB`);
    // A cache that kept the documents would hold their text (at least a byte per character)
    // after the collection; what is left is well short of that.
    expect(grown).toBeLessThan(sentChars / 2);
  });

  test('afterwards: the process is alive and answers normally', async () => {
    const health = await fetch(`${gw.origin}/health`);
    expect(health.status).toBe(200);
    const data = await gw.runOk(`{ search(query: "actor:fuzz", first: 5) { ... on AuditEventConnection { totalCount edges { node { published verification { verdict } } } } } }`);
    expect(data.search.totalCount).toBeGreaterThanOrEqual(40);
    expect(data.search.edges.every((e: Json) => e.node.verification.verdict === (e.node.published ? 'VERIFIED' : 'PENDING'))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

/** AuditEventInput → the wire event the gateway sends (tenantId → tenant_id). */
function toWire(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) out[k === 'tenantId' ? 'tenant_id' : k] = v;
  return out;
}

/** Every stored event by hash, read from the local service's REST API (v1/search + v1/results). */
async function allStoredEvents(): Promise<Map<string, Record<string, unknown>>> {
  const local = gw.local!;
  const call = async (path: string, body: unknown): Promise<Json> => {
    const res = await fetch(`${local.url}/${path}`, { method: 'POST', headers: { authorization: `Bearer ${local.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as Json;
    if (json.status !== 'Success') throw new Error(`${path}: ${json.status} ${json.summary}`);
    return json.result;
  };
  const out = new Map<string, Record<string, unknown>>();
  const first = await call('v1/search', { query: '', limit: 1000, max_results: 10_000, order: 'asc', verbose: false });
  const count: number = first.count;
  for (const e of first.events) out.set(e.hash, e.envelope.event);
  for (let offset = first.events.length; offset < count; offset += 1000) {
    const page = await call('v1/results', { id: first.id, offset, limit: 1000 });
    for (const e of page.events) out.set(e.hash, e.envelope.event);
  }
  return out;
}
