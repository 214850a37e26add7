// Builds the executable schema: importing each type module registers its types and root fields.
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './error-types.js';
import './types/node.js';
import './types/verification.js';
import './types/audit-event.js';
import './types/roots.js';
import './types/search.js';
import './types/node-query.js';
import './types/log.js';
import './types/requests.js';
import './types/integrity.js';
import './types/live-tail.js';

builder.queryType({ description: 'Reads: search, results, roots and accepted requests.' });
builder.mutationType({ description: 'Writes: log events, queue work, get download links.' });

let built: GraphQLSchema | undefined;

/** The schema (built once; Pothos builders cannot build twice). */
export function getSchema(): GraphQLSchema {
  built ??= builder.toSchema({ sortSchema: false });
  return built;
}

/** The printed, sorted SDL: the contract in schema/schema.graphql. */
export function printedSchema(): string {
  return printSchema(lexicographicSortSchema(getSchema())) + '\n';
}
