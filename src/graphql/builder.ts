// The Pothos schema builder: configuration only. Types and root fields live in types/*, one file
// per type with the root fields that return it.
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import SimpleObjectsPlugin from '@pothos/plugin-simple-objects';
import type { Scope } from '../gateway/auth.js';
import type { GraphQLContext } from './context.js';

export interface SchemaTypes {
  Context: GraphQLContext;
  DefaultFieldNullability: false;
  AuthScopes: { scope: Scope };
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
    // Relay: connections (first/after, last/before, PageInfo) for search and results.
    RelayPlugin,
    DataloaderPlugin,
    // Complexity limits need the final field list (connections counted by first/last).
    ComplexityPlugin,
    SimpleObjectsPlugin,
  ],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => ({ scope: (scope: Scope) => ctx.caller.scopes.has(scope) }),
  },
  errors: {
    defaultTypes: [],
    directResult: true,
  },
  relay: {
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    clientMutationId: 'omit',
    pageInfoTypeOptions: { description: 'Where a page sits in its result set.' },
  },
  complexity: {
    defaultComplexity: 1,
    defaultListMultiplier: 10,
  },
});
