// With NODE_ENV=production no error suggests a schema name ("Did you mean …?"): not for fields,
// arguments, type names or input fields, nor for enum values, whether the mistake is in the
// document (validation) or in the variables (coercion, at execution, by either executor).
// Outside production the same requests do get suggestions, so each case below provokes one. Over
// GraphQL over WebSocket (graphql-ws) as over HTTP.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startSecureGateway, type SecureGateway } from './support.js';

let dev: SecureGateway;
let prod: SecureGateway;
beforeAll(async () => {
  dev = await startSecureGateway({ kind: 'none' });
  prod = await startSecureGateway({ kind: 'none' }, { introspection: false, production: true });
});
afterAll(async () => {
  await dev?.close();
  await prod?.close();
});

const CASES: Array<{ name: string; query: string; variables?: Record<string, unknown>; says: RegExp }> = [
  { name: 'a misspelt field', query: '{ serch(query: "") { __typename } }', says: /Cannot query field "serch" on type "Query"\./ },
  { name: 'a misspelt argument', query: '{ search(query: "", frist: 5) { __typename } }', says: /Unknown argument "frist" on field "Query\.search"\./ },
  { name: 'a misspelt type name in a variable definition', query: 'query ($o: SortOrdr) { search(query: "", order: $o) { __typename } }', says: /Unknown type "SortOrdr"\./ },
  { name: 'an invalid enum value in a literal', query: '{ search(query: "", order: ASCC) { __typename } }', says: /Value "ASCC" does not exist in "SortOrder" enum\./ },
  {
    name: 'an invalid enum value in a variable',
    query: 'query ($o: SortOrder) { search(query: "", order: $o) { __typename } }',
    variables: { o: 'ASCC' },
    says: /Variable "\$o" got invalid value "ASCC"/,
  },
  { name: 'a misspelt input field in a literal', query: 'mutation { log(event: {mesage: "x"}) { __typename } }', says: /Field "mesage" is not defined by type "AuditEventInput"\./ },
  {
    name: 'a misspelt input field in a variable',
    query: 'mutation ($e: AuditEventInput!) { log(event: $e) { __typename } }',
    variables: { e: { mesage: 'x' } },
    says: /Field "mesage" is not defined by type "?AuditEventInput"?\./,
  },
];

/**
 * Runs one operation over a fresh graphql-ws connection: the errors it was refused with (an
 * `error` message, as for validation) or that its results carried.
 */
async function overWebSocket(gateway: SecureGateway, query: string, variables?: Record<string, unknown>): Promise<{ body: { errors?: Array<{ message: string }> } }> {
  const client = createClient({ url: gateway.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
  try {
    const errors: Array<{ message: string }> = [];
    await new Promise<void>((resolve, reject) => {
      client.subscribe<unknown>(
        { query, variables },
        {
          next: (result) => errors.push(...(result.errors ?? [])),
          error: (err) => (Array.isArray(err) ? resolve(void errors.push(...(err as Array<{ message: string }>))) : reject(err as Error)),
          complete: resolve,
        },
      );
    });
    return { body: { errors } };
  } finally {
    await client.dispose();
  }
}

function messages(r: { body: { errors?: Array<{ message: string }> } }): string {
  expect(r.body.errors?.length).toBeGreaterThan(0);
  return r.body.errors!.map((e) => e.message).join('\n');
}

test.each(CASES)('production: $name gets the error without a suggestion', async ({ query, variables, says }) => {
  // Three runs: the first on graphql-js's executor, the next compiled by graphql-jit (jit.ts),
  // whose variable coercion words its errors differently.
  for (let run = 0; run < 3; run++) {
    const text = messages(await prod.call(query, undefined, variables));
    expect(text).toMatch(says);
    expect(text).not.toMatch(/did you mean/i);
  }
  // The same request outside production does get a suggestion: the case is a real one.
  expect(messages(await dev.call(query, undefined, variables))).toMatch(/Did you mean/);
});

// Mutations are refused over WebSocket before validation (yoga runs them from POST requests only),
// so the query cases are the ones that reach validation and execution there. Their text differs
// from the HTTP cases' so that each gateway's first run of it is on graphql-js's executor again.
const QUERY_CASES = CASES.filter((c) => !c.query.startsWith('mutation')).map((c) => ({ ...c, query: `${c.query} # over WebSocket` }));

test.each(QUERY_CASES)('production over WebSocket: $name gets the error without a suggestion', async ({ query, variables, says }) => {
  for (let run = 0; run < 3; run++) {
    const text = messages(await overWebSocket(prod, query, variables));
    expect(text).toMatch(says);
    expect(text).not.toMatch(/did you mean/i);
  }
  expect(messages(await overWebSocket(dev, query, variables))).toMatch(/Did you mean/);
});

test('production: a valid query still runs, and an error without a suggestion is unchanged', async () => {
  expect((await prod.call('{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
  const noSuggestion = messages(await prod.call('{ zzzzzzzz }'));
  expect(noSuggestion).toBe('Cannot query field "zzzzzzzz" on type "Query".');
});
