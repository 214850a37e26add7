// The Pothos schema builder: configuration only. Types and root fields live in types/*, one file
// per type with the root fields that return it.
import SchemaBuilder from '@pothos/core';
import { GraphQLError } from 'graphql';
import ComplexityPlugin from '@pothos/plugin-complexity';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { AuditApiError } from '../audit-client/errors.js';
import type { Scope } from '../auth/scopes.js';
import type { GraphQLContext } from './context.js';

interface SchemaTypes {
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  /** One boolean scope per API scope name: `authScopes: { 'audit:log': true }`. */
  AuthScopes: Record<Scope, boolean>;
  Scalars: {
    JSON: { Input: unknown; Output: unknown };
    DateTime: { Input: string; Output: string };
  };
}

export const builder = new SchemaBuilder<SchemaTypes>({
  plugins: [
    // Scope auth first: its checks must run before any other plugin's wrapping of a resolver
    // (the errors plugin must not turn an authorization failure into a typed domain error).
    ScopeAuthPlugin,
    // Errors next: it wraps resolvers so declared error classes become union members.
    ErrorsPlugin,
    // Relay: connections (first/after, last/before, PageInfo) for search and results, the Node
    // interface and its global ids.
    RelayPlugin,
    // Complexity limits need the final field list (connections counted by first/last).
    ComplexityPlugin,
  ],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => ({
      'audit:log': ctx.caller.scopes.has('audit:log'),
      'audit:search': ctx.caller.scopes.has('audit:search'),
      'audit:export': ctx.caller.scopes.has('audit:export'),
      'audit:root': ctx.caller.scopes.has('audit:root'),
    }),
    // A missing scope is a FORBIDDEN GraphQL error naming what is missing (not masked).
    unauthorizedError: (_parent, _context, info) =>
      new GraphQLError(`not authorized: ${info.parentType.name}.${info.fieldName} needs a scope this caller does not have`, {
        extensions: { code: 'FORBIDDEN' },
      }),
  },
  errors: {
    // Every other refusal of the audit service is typed too (error-types.ts UpstreamRefusedError).
    defaultTypes: [AuditApiError],
    directResult: true,
    // The Query*Result / Mutation*Result unions; the plugin names them after their field.
    defaultUnionOptions: {
      description: 'What the field returns: its result, or the typed error it failed with (every error type implements Error, so `... on Error { message }` covers them all).',
    },
  },
  relay: {
    cursorType: 'String',
    // node(id:) / nodes(ids:) are types/node-query.ts's own fields: the plugin's fields decode every id
    // before the resolver, so one malformed id would fail a whole nodes(ids:) list.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    clientMutationId: 'omit',
    nodeTypeOptions: { description: 'An object with a global id (Relay): base64 of "<type>:<key>".' },
    idFieldOptions: { description: 'Global id: base64 of "<type>:<key>"; an AuditEvent\'s key is "<received_at>|<hash>".' },
    pageInfoTypeOptions: { description: 'Where a page sits in its result set.' },
    firstArgOptions: { description: 'Page forward: at most this many events (0..1000, default 20).' },
    afterArgOptions: { description: 'Page forward: events after this cursor.' },
    lastArgOptions: { description: 'Page backward: at most this many events (0..1000).' },
    beforeArgOptions: { description: 'Page backward: events before this cursor.' },
    hasNextPageFieldOptions: { description: 'More events follow this page in the result set.' },
    hasPreviousPageFieldOptions: { description: 'Events precede this page in the result set.' },
    startCursorFieldOptions: { description: 'Cursor of the first edge of the page.' },
    endCursorFieldOptions: { description: 'Cursor of the last edge of the page.' },
    cursorFieldOptions: { description: 'Opaque position of this edge; pass to after/before.' },
    nodeFieldOptions: { description: 'The event.' },
    edgesFieldOptions: { description: 'The events of this page, in result order.' },
    pageInfoFieldOptions: { description: 'Where this page sits in the result set.' },
  },
  complexity: {
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    // The cost model only: the limit is checked once per operation, before execution (complexity.ts).
    disabled: true,
  },
});
