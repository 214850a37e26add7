// scopeCacheRelease (src/gateway/scope-cache-release.ts) in a real yoga over a Pothos schema with
// scope-auth: once an operation has executed, scope-auth no longer holds its context, and the
// scope checks decide as before, compiled (graphql-jit) or not.
import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin, { RequestCache } from '@pothos/plugin-scope-auth';
import { createYoga, type Plugin } from 'graphql-yoga';
import { compiledExecution } from '../../src/gateway/jit.js';
import { scopeCacheRelease } from '../../src/gateway/scope-cache-release.js';

interface Context {
  scopes: Set<string>;
}

function schemaRecordingCaches() {
  const builder = new SchemaBuilder<{ Context: Context; AuthScopes: { read: boolean } }>({
    plugins: [ScopeAuthPlugin],
    scopeAuth: { authScopes: (ctx) => ({ read: ctx.scopes.has('read') }) },
  });
  /** Each operation's context and the scope cache scope-auth used for it. */
  const seen: { context: Context; cache: unknown }[] = [];
  builder.queryType({
    fields: (t) => ({
      secret: t.string({
        authScopes: { read: true },
        resolve: (_root, _args, ctx) => {
          seen.push({ context: ctx, cache: RequestCache.fromContext(ctx, builder) });
          return 'kept';
        },
      }),
    }),
  });
  return { schema: builder.toSchema(), builder, seen };
}

function gateway(plugins: Plugin[]) {
  const recorded = schemaRecordingCaches();
  const yoga = createYoga<object, Context>({
    schema: recorded.schema,
    logging: false,
    maskedErrors: false,
    context: ({ request }) => ({ scopes: new Set((request.headers.get('x-scopes') ?? '').split(',').filter(Boolean)) }),
    plugins,
  });
  const ask = async (scopes: string) => {
    const response = await yoga.fetch('http://gateway/graphql', { method: 'POST', headers: { 'content-type': 'application/json', 'x-scopes': scopes }, body: JSON.stringify({ query: '{ secret }' }) });
    return (await response.json()) as { data?: { secret: string } | null; errors?: { message: string }[] };
  };
  return { ...recorded, ask };
}

test('without the release, scope-auth keeps holding each executed context', async () => {
  const { ask, seen, builder } = gateway([]);
  expect(await ask('read')).toEqual({ data: { secret: 'kept' } });
  expect(seen).toHaveLength(1);
  expect(RequestCache.fromContext(seen[0]!.context, builder)).toBe(seen[0]!.cache);
});

test.each([
  ['the standard executor', [scopeCacheRelease]],
  ['graphql-jit (a repeated document)', [compiledExecution(), scopeCacheRelease]],
])('with %s, an executed context is released and the scope checks still decide', async (_name, plugins) => {
  const { ask, seen, builder } = gateway(plugins);
  for (let i = 0; i < 3; i++) expect(await ask('read')).toEqual({ data: { secret: 'kept' } });
  expect(seen).toHaveLength(3);
  for (const { context, cache } of seen) expect(RequestCache.fromContext(context, builder)).not.toBe(cache);
  // A caller without the scope is still refused, on the first request and on later ones.
  for (let i = 0; i < 2; i++) {
    const refused = await ask('');
    expect(refused.data?.secret ?? null).toBeNull();
    expect(refused.errors?.[0]?.message).toMatch(/not authorized|Unauthorized/i);
  }
  expect(await ask('read')).toEqual({ data: { secret: 'kept' } });
});
