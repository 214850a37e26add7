// Scalars: JSON (any JSON value, e.g. an event exactly as stored) and DateTime (RFC 3339 text,
// passed through unchanged: audit timestamps are hashed as written and must not be reformatted).
import { GraphQLError, Kind, type ValueNode } from 'graphql';
import { builder } from './builder.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function literalToJson(node: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[node.name.value];
    default:
      throw new GraphQLError('JSON literal is not valid here');
  }
}

builder.scalarType('JSON', {
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (node, variables) => literalToJson(node, variables),
});

function checkDateTime(value: unknown): string {
  if (typeof value !== 'string' || !RFC3339.test(value)) {
    throw new GraphQLError(`DateTime must be an RFC 3339 date-time string, e.g. 2024-07-25T00:51:46.340938Z`);
  }
  return value;
}

builder.scalarType('DateTime', {
  description: 'An RFC 3339 date-time string, kept exactly as written (audit hashes cover the text).',
  serialize: (value) => value,
  parseValue: checkDateTime,
  parseLiteral: (node) => {
    if (node.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string');
    return checkDateTime(node.value);
  },
});
