// The query cost limit (src/graphql/complexity.ts): worked out once per document, operation and
// the variables the cost reads, and checked before anything runs. The same document is accepted
// or refused by its variables' values, whichever came first; a refused operation has no data at
// all; in a document of several operations, the one named is the one measured.
import { startSecureGateway, type SecureGateway } from './support.js';

let gw: SecureGateway;
beforeAll(async () => {
  gw = await startSecureGateway({ kind: 'none' });
});
afterAll(async () => {
  await gw.close();
});

const ALIASES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];
const pages = (first: string) =>
  ALIASES.map((alias) => `${alias}: search(query: "", first: ${first}) { ... on AuditEventConnection { edges { node { hash message actor verification { hash membership consistency signature failures } } } } }`).join(' ');
const BY_VARIABLE = `query Pages($n: Int) { ${pages('$n')} }`;

type Answer = { status: number; body: { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> } };

function refusedAsTooComplex(answer: Answer): void {
  expect(answer.status).toBe(400);
  expect(answer.body.data).toBeUndefined();
  expect(answer.body.errors).toHaveLength(1);
  expect(answer.body.errors![0]!.message).toMatch(/^Query exceeds maximum complexity \(complexity: \d+, max: 100000\)$/);
  expect(answer.body.errors![0]!.extensions?.code).toBe('QUERY_TOO_COMPLEX');
}

test('one document, accepted or refused by the values of the variables its cost reads, in any order', async () => {
  const small = (await gw.call(BY_VARIABLE, undefined, { n: 10 })) as Answer;
  expect(small.body.errors).toBeUndefined();
  refusedAsTooComplex((await gw.call(BY_VARIABLE, undefined, { n: 1000 })) as Answer);
  // Left out, $n is null: the default page size (20).
  expect(((await gw.call(BY_VARIABLE)) as Answer).body.errors).toBeUndefined();
  expect(((await gw.call(BY_VARIABLE, undefined, { n: 10 })) as Answer).body.errors).toBeUndefined();
  refusedAsTooComplex((await gw.call(BY_VARIABLE, undefined, { n: 1000 })) as Answer);
});

test('literal page sizes count the same way', async () => {
  expect(((await gw.call(`{ ${pages('10')} }`)) as Answer).body.errors).toBeUndefined();
  refusedAsTooComplex((await gw.call(`{ ${pages('1000')} }`)) as Answer);
});

test('in a document of several operations, the named one is measured', async () => {
  const document = `query Light { root { __typename } } query Heavy { ${pages('1000')} }`;
  const send = async (operationName: string): Promise<Answer> => {
    const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: document, operationName }) });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  };
  const light = await send('Light');
  expect(light.status).toBe(200);
  expect(light.body.errors).toBeUndefined();
  refusedAsTooComplex(await send('Heavy'));
  expect((await send('Light')).body.errors).toBeUndefined();
});

test('a variable that does not coerce is execution’s to report, not a cost', async () => {
  const answer = (await gw.call(BY_VARIABLE, undefined, { n: 'many' })) as Answer;
  expect(answer.body.errors?.[0]?.message).toMatch(/\$n/);
  expect(answer.body.errors?.[0]?.extensions?.code).not.toBe('QUERY_TOO_COMPLEX');
});
