// Mutations compiled by graphql-jit, as patched by patches/graphql-jit+0.8.7.patch (applied by
// `npm ci` through the postinstall script): the generated code keeps no closure made per
// execution on its execution context, and its mutation fields still run one after another, with
// the answers of the standard executor.
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { createYoga } from 'graphql-yoga';
import { compiledExecution } from '../../src/gateway/jit.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two mutation fields whose resolvers record when they start and end. */
function recordingSchema() {
  const steps: string[] = [];
  const field = (name: string, ms: number) => ({
    type: GraphQLString,
    args: { n: { type: GraphQLInt } },
    resolve: async (_root: unknown, args: { n?: number | null }) => {
      steps.push(`${name} start`);
      await sleep(ms);
      steps.push(`${name} end`);
      return `${name} ${args.n ?? '-'}`;
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString, resolve: () => 'ok' } } }),
    // The first field takes longer: run at once, the second would end first.
    mutation: new GraphQLObjectType({ name: 'Mutation', fields: { slow: field('slow', 30), fast: field('fast', 1) } }),
  });
  return { schema, steps };
}

test('the compiled code of a mutation makes no closure per execution (the patch is applied)', () => {
  const { schema } = recordingSchema();
  const compiled = compileQuery(schema, parse('mutation M($n: Int) { slow(n: $n) fast(n: $n) }'), undefined, { debug: true } as object);
  if (!isCompiledQuery(compiled)) throw new Error(`not compiled: ${JSON.stringify(compiled)}`);
  const code = (compiled as unknown as { __DO_NOT_USE_THIS_OR_YOU_WILL_BE_FIRED_compilation: string }).__DO_NOT_USE_THIS_OR_YOU_WILL_BE_FIRED_compilation;
  expect(code).toContain('__context.finalResolve = __serialNoop;');
  expect(code).toContain('__context.resolve = __serialResolve;');
  expect(code).not.toMatch(/__context\.(finalResolve|resolve)\s*=\s*(\([^)]*\)|\w+)\s*=>/);
  expect(code).toMatch(/function __serialResolve\(context\)/);
});

test('compiled mutations still run their fields one after another, answering as the standard executor', async () => {
  const { schema, steps } = recordingSchema();
  const yoga = createYoga({ schema, logging: false, maskedErrors: false, plugins: [compiledExecution()] });
  const run = async (n: number) => {
    const response = await yoga.fetch('http://gateway/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation M($n: Int) { slow(n: $n) fast(n: $n) }', variables: { n } }),
    });
    return response.json();
  };
  // The first run is the standard executor's; from the second the document runs compiled.
  const answers = [];
  for (let n = 1; n <= 3; n++) {
    steps.length = 0;
    answers.push(await run(n));
    expect([n, steps]).toEqual([n, ['slow start', 'slow end', 'fast start', 'fast end']]);
  }
  expect(answers).toEqual([1, 2, 3].map((n) => ({ data: { slow: `slow ${n}`, fast: `fast ${n}` } })));
  // Runs at the same time stay apart: each run's fields in order, each answer its own.
  steps.length = 0;
  const together = await Promise.all([4, 5, 6, 7].map((n) => run(n)));
  expect(together).toEqual([4, 5, 6, 7].map((n) => ({ data: { slow: `slow ${n}`, fast: `fast ${n}` } })));
  expect(steps.filter((s) => s === 'fast start')).toHaveLength(4);
  expect(steps.indexOf('fast start')).toBeGreaterThan(steps.indexOf('slow end'));
});
