// The gateway's validation cache (src/gateway/validation-cache.ts) in a real yoga: a document is
// validated once per rule set, an invalid one keeps its errors, and a request under another rule
// set is validated under that set rather than answered from the first one's result.
import { createSchema, createYoga, type Plugin } from 'graphql-yoga';
import type { ValidationRule } from 'graphql';
import { GraphQLError } from 'graphql';
import { validationCache } from '../../src/gateway/validation-cache.js';

const schema = createSchema({ typeDefs: 'type Query { a: String, b: String }', resolvers: { Query: { a: () => 'A', b: () => 'B' } } });

/** Counts how often validation really ran (the rule is called once per validate()). */
function countingRule(): { plugin: Plugin; runs: () => number } {
  let runs = 0;
  const rule: ValidationRule = () => {
    runs++;
    return {};
  };
  return { plugin: { onValidate: ({ addValidationRule }) => addValidationRule(rule) }, runs: () => runs };
}

/** Refuses field `b` when the request carries x-strict: a rule set chosen per request. */
const strictWhenAsked: Plugin = {
  onValidate({ addValidationRule, context }) {
    const request = (context as { request: Request }).request;
    if (request.headers.get('x-strict') !== 'yes') return;
    const noB: ValidationRule = (ctx) => ({
      Field(node) {
        if (node.name.value === 'b') ctx.reportError(new GraphQLError('field b is refused in strict mode', { nodes: node }));
      },
    });
    addValidationRule(noB);
  },
};

function yogaWith(plugins: Plugin[]) {
  return createYoga({ schema, logging: false, parserAndValidationCache: { validationCache: false }, plugins });
}

async function ask(yoga: ReturnType<typeof yogaWith>, query: string, headers: Record<string, string> = {}) {
  const response = await yoga.fetch('http://gateway/graphql', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  return (await response.json()) as { data?: unknown; errors?: { message: string }[] };
}

test('a document is validated once; later requests get the same answer without validating again', async () => {
  const counter = countingRule();
  const yoga = yogaWith([validationCache(), counter.plugin]);
  for (let i = 0; i < 5; i++) expect(await ask(yoga, '{ a }')).toEqual({ data: { a: 'A' } });
  expect(counter.runs()).toBe(1);
  // Another document is validated on its own.
  expect(await ask(yoga, '{ b }')).toEqual({ data: { b: 'B' } });
  expect(counter.runs()).toBe(2);
});

test('an invalid document keeps its validation errors on every request', async () => {
  const counter = countingRule();
  const yoga = yogaWith([validationCache(), counter.plugin]);
  for (let i = 0; i < 3; i++) {
    const answer = await ask(yoga, '{ nope }');
    expect(answer.data).toBeUndefined();
    expect(answer.errors?.map((e) => e.message)).toEqual(['Cannot query field "nope" on type "Query".']);
  }
  expect(counter.runs()).toBe(1);
});

test('a request under another rule set is validated under its own rules, both ways', async () => {
  const yoga = yogaWith([strictWhenAsked, validationCache()]);
  expect(await ask(yoga, '{ b }')).toEqual({ data: { b: 'B' } });
  const strict = await ask(yoga, '{ b }', { 'x-strict': 'yes' });
  expect(strict.errors?.map((e) => e.message)).toEqual(['field b is refused in strict mode']);
  expect(await ask(yoga, '{ b }')).toEqual({ data: { b: 'B' } });
  expect((await ask(yoga, '{ b }', { 'x-strict': 'yes' })).errors?.map((e) => e.message)).toEqual(['field b is refused in strict mode']);
});
