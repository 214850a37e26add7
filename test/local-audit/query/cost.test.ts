// The cost bound of a parsed query: field tests per event (a bare value tests every searchable
// field) and the width of one OR, refused naming the first term past the limit.
import { checkQueryCost, createFieldResolver, MAX_FIELD_TESTS, MAX_OR_WIDTH, parseQuery, QuerySyntaxError } from '../../../src/local-audit/query/index.js';

// Four searchable fields and one that bare values skip.
const FIELDS = createFieldResolver({
  a: { column: 'e.a', type: 'string', searchable: true },
  b: { column: 'e.b', type: 'string', searchable: true },
  c: { column: 'e.c', type: 'text', searchable: true },
  n: { column: 'e.n', type: 'integer', searchable: true },
  hidden: { column: 'e.hidden', type: 'string-unindexed', searchable: false },
});

const refusal = (query: string): QuerySyntaxError => {
  try {
    checkQueryCost(parseQuery(query), FIELDS);
  } catch (err) {
    if (err instanceof QuerySyntaxError) return err;
    throw err;
  }
  throw new Error(`"${query}" was allowed`);
};
const allowed = (query: string): void => expect(() => checkQueryCost(parseQuery(query), FIELDS)).not.toThrow();
const terms = (n: number, make: (i: number) => string, sep: string): string => Array.from({ length: n }, (_, i) => make(i)).join(sep);

test('an OR may join MAX_OR_WIDTH alternatives; the next one is named with its position', () => {
  allowed(terms(MAX_OR_WIDTH, (i) => `a:v${i}`, ' OR '));
  const query = terms(MAX_OR_WIDTH + 1, (i) => `a:v${i}`, ' OR ');
  const err = refusal(query);
  expect(err.token).toBe('a');
  expect(err.position).toBe(query.lastIndexOf('a:'));
  expect(err.message).toMatch(/^search too expensive: narrow it \(at most \d+ alternatives joined by one OR\)/);
});

test('parenthesised ORs inside an OR widen it; an OR under a negation or an AND is one of its own', () => {
  const half = terms(MAX_OR_WIDTH / 2, (i) => `a:x${i}`, ' OR ');
  allowed(`(${half}) OR (${half})`);
  expect(refusal(`(${half}) OR (${half}) OR b:extra`).token).toBe('b');
  allowed(`-(${half}) OR (${half}) OR b:extra`);
  allowed(`(${half} OR ${half}) b:and-ed`);
});

test('a bare value costs one test per searchable field, a field term one', () => {
  const bareAllowed = Math.floor(MAX_FIELD_TESTS / 4);
  allowed(terms(bareAllowed, (i) => `w${i}`, ' '));
  const query = terms(bareAllowed + 1, (i) => `w${i}`, ' ');
  const err = refusal(query);
  expect(err.token).toBe(`w${bareAllowed}`);
  expect(err.message).toContain('a bare value tests each of the 4 searchable fields');
  allowed(terms(MAX_FIELD_TESTS, (i) => `a:w${i}`, ' '));
  // Two tests short of the bound, then a bare value: past it (and still within the parser's term limit).
  expect(refusal(terms(MAX_FIELD_TESTS - 2, (i) => `a:w${i}`, ' ') + ' last').token).toBe('last');
});

test('negations and groups count what they hold; the empty query costs nothing', () => {
  allowed('');
  const bareAllowed = Math.floor(MAX_FIELD_TESTS / 4);
  expect(refusal(`-(${terms(bareAllowed, (i) => `w${i}`, ' ')}) -last`).token).toBe('last');
});
