// A repeated document runs compiled (graphql-jit, src/gateway/jit.ts) from its second run on; its
// errors must be the ones the standard executor gave on the first run, locations included: the
// field node(s) under the error's response key, found through aliases, fragment spreads, inline
// fragments, @skip/@include and list indexes. Otherwise a client loses them on the repeat, and an
// answer tells whether that exact query text ran before.
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { compiledExecution } from '../../src/gateway/jit.js';
import { startTestGateway, type GraphQLAnswer, type Json, type TestGateway } from '../support/gateway.js';

const RUNS = 3;

/** The same request RUNS times: the first runs on the standard executor, the others compiled. */
async function runsOf(run: () => Promise<GraphQLAnswer>): Promise<GraphQLAnswer[]> {
  const answers: GraphQLAnswer[] = [];
  for (let i = 0; i < RUNS; i++) answers.push(await run());
  return answers;
}

/** Every run answered as the first did (status, data, the whole errors array); returns the first. */
function sameOnEveryRun(answers: GraphQLAnswer[]): GraphQLAnswer {
  const [first, ...repeats] = answers;
  for (const [i, repeat] of repeats.entries()) {
    expect({ run: i + 2, status: repeat.status, errors: repeat.body.errors, data: repeat.body.data }).toEqual({ run: i + 2, status: first!.status, errors: first!.body.errors, data: first!.body.data });
  }
  return first!;
}

/** Line and column (1-based) of the n-th occurrence of `text` in `source`. */
function at(source: string, text: string, n = 1): { line: number; column: number } {
  let index = -1;
  for (let i = 0; i < n; i++) {
    index = source.indexOf(text, index + 1);
    if (index < 0) throw new Error(`no occurrence ${n} of ${text}`);
  }
  const before = source.slice(0, index).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

describe('through the gateway over HTTP', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  test('aliased fields in a fragment spread, an inline fragment and a list: located on every run', async () => {
    const query = `query Located($bad: ID!, $ids: [ID!]!) {
  cursor: auditEvents(query: "", after: "garbage") { totalCount }
  ...Cursor
  ... on Query {
    inline: node(id: $bad) { id }
  }
  listed: nodes(ids: $ids) { id }
}
fragment Cursor on Query {
  cursor: auditEvents(query: "", after: "garbage") { totalCount }
}`;
    const first = sameOnEveryRun(await runsOf(() => gw.graphql(query, { bad: 'not-an-id', ids: ['x', 'y'] })));
    expect(first.status).toBe(200);
    const notAnId = (argument: string): string => `${argument} is not an AuditEvent id from this gateway (the id field of an AuditEvent that search or auditEvents returned)`;
    const byPath = [...(first.body.errors as Json[])].sort((a, b) => JSON.stringify(a.path).localeCompare(JSON.stringify(b.path)));
    expect(byPath).toEqual([
      { message: 'cursor is not one this gateway issued', locations: [at(query, 'cursor:', 1), at(query, 'cursor:', 2)], path: ['cursor'], extensions: { code: 'INVALID_CURSOR' } },
      { message: notAnId('id'), locations: [at(query, 'inline:')], path: ['inline'], extensions: { code: 'INPUT' } },
      { message: notAnId('ids'), locations: [at(query, 'listed:')], path: ['listed', 0], extensions: { code: 'INPUT' } },
      { message: notAnId('ids'), locations: [at(query, 'listed:')], path: ['listed', 1], extensions: { code: 'INPUT' } },
    ]);
  });

  test('@skip and @include: only the field nodes that were executed are named', async () => {
    const query = `query Skipped($no: Boolean!) {
  found: node(id: "zz") @skip(if: $no) { id }
  ... on Query @include(if: $no) {
    found: node(id: "zz") { id }
  }
  ... Found
}
fragment Found on Query { found: node(id: "zz") { id } }`;
    const first = sameOnEveryRun(await runsOf(() => gw.graphql(query, { no: true })));
    expect(first.body.errors).toEqual([expect.objectContaining({ path: ['found'], locations: [at(query, 'found:', 2), at(query, 'found:', 3)] })]);
    const other = sameOnEveryRun(await runsOf(() => gw.graphql(query.replace('Skipped', 'Included'), { no: false })));
    expect(other.body.errors).toEqual([expect.objectContaining({ path: ['found'], locations: [at(query, 'found:', 1), at(query, 'found:', 3)] })]);
  });

  test('variables the executor refuses: the same errors, locations and status on every run', async () => {
    const search = 'query Refused($q: String!, $first: Int) {\n  auditEvents(query: $q, first: $first) { totalCount }\n}';
    const refused = sameOnEveryRun(await runsOf(() => gw.graphql(search, { first: 'ten' })));
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ message: 'Variable "$q" of required type "String!" was not provided.', locations: [at(search, '$q')] }),
      expect.objectContaining({ message: 'Variable "$first" got invalid value "ten"; Int cannot represent non-integer value: "ten"', locations: [at(search, '$first')] }),
    ]);
    // An input object's field, and a scalar (DateTime) whose own reason says what is wrong.
    const bulk = 'mutation Bulk($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename } }';
    const nested = sameOnEveryRun(await runsOf(() => gw.graphql(bulk, { e: [{ message: 'ok' }, { message: 'late', timestamp: 'yesterday' }] })));
    expect(nested.status).toBe(400);
    expect(nested.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^Variable "\$e" got invalid value "yesterday" at "e\[1\]\.timestamp"; .*DateTime must be a real RFC 3339 date-time/), locations: [at(bulk, '$e')] })]);
  });
});

describe('through yoga with compiled execution, on a small schema', () => {
  // Field failures the gateway's schema gives no natural way to: resolvers that throw plain Errors,
  // and values the schema's types forbid (null for a non-null field, a string for an Int), which
  // the standard executor reports as unexpected errors (masked and logged); and response keys
  // that two members of a union select.
  const schema = createSchema({
    typeDefs: /* GraphQL */ `
      type Item { v: String! w: String n: Int }
      type A { x: String v: String! }
      type B { x: String y: String! }
      union U = A | B
      type Query {
        required: String!
        thrown: String
        typed: String
        list: [Item!]!
        items: [Item]
        number: Int
        u: U
        us: [U!]!
        w: U
      }
    `,
    resolvers: {
      Query: {
        required: () => null,
        thrown: () => {
          throw new Error('a bug in a resolver');
        },
        typed: () => {
          throw new GraphQLError('a typed failure', { extensions: { code: 'TYPED' } });
        },
        list: () => [{ v: 'a' }, { v: null }],
        items: () => [{ v: 'a' }, null, { v: 'b', w: 'throw' }],
        number: () => 'not a number',
        u: () => ({ kind: 'A', x: 'throw', v: 'v' }),
        w: () => ({ kind: 'A', x: 'x', v: null }),
        us: () => [{ kind: 'B', x: 'b' }, { kind: 'A', x: 'throw', v: 'v' }],
      },
      Item: {
        w: (item: { w?: string }) => {
          if (item.w === 'throw') throw new GraphQLError('w failed', { extensions: { code: 'W' } });
          return item.w ?? null;
        },
      },
      A: {
        x: (a: { x: string }) => {
          if (a.x === 'throw') throw new GraphQLError('x failed', { extensions: { code: 'X' } });
          return a.x;
        },
      },
      U: { __resolveType: (value: { kind: string }) => value.kind },
    },
  });
  const logged: unknown[] = [];
  const yoga = createYoga({ schema, plugins: [compiledExecution()], logging: { debug() {}, info() {}, warn() {}, error: (...args: unknown[]) => void logged.push(args) } });

  async function post(query: string, variables?: Record<string, unknown>): Promise<GraphQLAnswer> {
    const response = await yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }

  test('a non-null field that resolved to null, at the root and inside a list', async () => {
    const unexpected = { message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    const root = `query Root {
  required
}`;
    const atRoot = sameOnEveryRun(await runsOf(() => post(root)));
    expect(atRoot.body).toEqual({ data: null, errors: [{ ...unexpected, locations: [at(root, 'required')], path: ['required'] }] });
    const list = `query List {
  list { v }
}`;
    const inList = sameOnEveryRun(await runsOf(() => post(list)));
    expect(inList.body).toEqual({ data: null, errors: [{ ...unexpected, locations: [at(list, 'v }')], path: ['list', 1, 'v'] }] });
  });

  test('thrown errors, a leaf its type cannot serialize, nested fields under list indexes', async () => {
    const query = `query Nested {
  thrown
  typed
  number
  items { v w }
  renamed: items { ... on Item { w } }
}`;
    logged.length = 0;
    const first = sameOnEveryRun(await runsOf(() => post(query)));
    const errors = first.body.errors as Json[];
    expect(errors).toHaveLength(5);
    expect(errors).toEqual(
      expect.arrayContaining([
        { message: 'Unexpected error.', locations: [at(query, 'thrown')], path: ['thrown'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
        { message: 'a typed failure', locations: [at(query, 'typed')], path: ['typed'], extensions: { code: 'TYPED' } },
        { message: 'Unexpected error.', locations: [at(query, 'number')], path: ['number'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
        { message: 'w failed', locations: [at(query, 'w }', 1)], path: ['items', 2, 'w'], extensions: { code: 'W' } },
        { message: 'w failed', locations: [at(query, 'w }', 2)], path: ['renamed', 2, 'w'], extensions: { code: 'W' } },
      ]),
    );
    // Each unexpected error reached the log on every run, as the standard executor's do.
    expect(logged).toHaveLength(2 * RUNS);
  });

  test('under a union: the fragments of the type the object turned out to be', async () => {
    // Each response key is selected in both members' fragments.
    const query = `{
  u { ... on B { x } ... on A { x v } }
  us { ... on A { x } ... on B { x } }
}`;
    const first = sameOnEveryRun(await runsOf(() => post(query)));
    expect(first.body.errors).toEqual([
      { message: 'x failed', locations: [at(query, 'x v')], path: ['u', 'x'], extensions: { code: 'X' } },
      { message: 'x failed', locations: [at(query, 'x }', 2)], path: ['us', 1, 'x'], extensions: { code: 'X' } },
    ]);
    // A null for A.v nulls the object, so the answer cannot tell which member it was.
    const nulled = `{ w { ... on B { v: y } ... on A { v } } }`;
    const second = sameOnEveryRun(await runsOf(() => post(nulled)));
    expect(second.body).toEqual({ data: { w: null }, errors: [{ message: 'Unexpected error.', locations: [at(nulled, 'v } }')], path: ['w', 'v'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  });
});
