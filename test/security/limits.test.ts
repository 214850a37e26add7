// Hostile request shapes are refused before execution: depth, aliases, directives, tokens,
// complexity; introspection can be switched off; production hides field suggestions.
import { LIMITS } from '../../src/gateway/protections.js';
import { startSecureGateway, type SecureGateway } from './support.js';

let gw: SecureGateway;
let prod: SecureGateway;
beforeAll(async () => {
  gw = await startSecureGateway({ kind: 'none' });
  prod = await startSecureGateway({ kind: 'none' }, { introspection: false, production: true });
});
afterAll(async () => {
  await gw.close();
  await prod.close();
});

const refused = (r: { status: number; body: { errors?: Array<{ message: string }> } }) => {
  expect(r.body.errors?.length).toBeGreaterThan(0);
  expect(JSON.stringify(r.body)).not.toMatch(/at .*\.ts:\d+/); // no stack traces
  return r.body.errors!.map((e) => e.message).join(' ');
};

test('depth (the schema is shallow; nested introspection is the deep path, and it is limited too)', async () => {
  const nest = (levels: number) => `{ __type(name: "Query") { fields { type ${'{ ofType '.repeat(levels)}{ name }${' }'.repeat(levels)} } } }`;
  expect((await gw.call(nest(8))).body.errors).toBeUndefined();
  expect(refused(await gw.call(nest(LIMITS.depth + 2)))).toMatch(/depth/i);
});

test('aliases', async () => {
  const many = `{ ${Array.from({ length: LIMITS.aliases + 1 }, (_, i) => `a${i}: root { __typename }`).join(' ')} }`;
  expect(refused(await gw.call(many))).toMatch(/alias/i);
});

test('directives', async () => {
  const many = `{ __typename ${'@include(if: true) '.repeat(LIMITS.directives + 1)} }`;
  expect(refused(await gw.call(many))).toMatch(/directive/i);
});

test('tokens', async () => {
  const many = `{ ${'__typename '.repeat(LIMITS.tokens + 10)} }`;
  expect(refused(await gw.call(many))).toMatch(/token/i);
});

test('complexity counts connection page sizes', async () => {
  const page = (alias: string) => `${alias}: search(query: "", first: 1000) { ... on AuditEventConnection { edges { node { hash message actor verification { hash membership consistency signature failures } } } } }`;
  expect((await gw.call(`{ ${page('a')} }`)).body.errors).toBeUndefined();
  const heavy = `{ ${['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'].map(page).join(' ')} }`;
  expect(refused(await gw.call(heavy))).toMatch(/complexity/i);
});

test('introspection can be disabled; production hides field suggestions', async () => {
  const intro = '{ __schema { queryType { name } } }';
  expect((await gw.call(intro)).body.data.__schema.queryType.name).toBe('Query');
  expect(refused(await prod.call(intro))).toMatch(/introspection/i);
  expect(refused(await gw.call('{ serch(query: "") { __typename } }'))).toMatch(/Did you mean/);
  expect(refused(await prod.call('{ serch(query: "") { __typename } }'))).not.toMatch(/Did you mean/);
});
