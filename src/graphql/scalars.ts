// Scalars: JSON (any JSON value, e.g. an event exactly as stored) and DateTime (RFC 3339 text,
// passed through unchanged: audit timestamps are hashed as written and must not be reformatted).
import { GraphQLError, Kind, type ValueNode } from 'graphql';
import { normalizeTimestamp } from '../wire/timestamp.js';
import { builder } from './builder.js';

/**
 * Deepest nesting of arrays/objects a JSON input may have. Inputs are canonicalised, signed and
 * serialised by recursive code (canonical JSON, JSON.stringify): a value nested thousands deep
 * would overflow the stack there and surface as a masked unexpected error instead of a clear one.
 */
export const MAX_JSON_DEPTH = 100;

/** A JSON input as JSON can carry it: finite numbers, bounded nesting (checked without recursion). */
function checkJsonInput(value: unknown): unknown {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'number' && !Number.isFinite(v)) throw new GraphQLError('JSON numbers must be finite (this one is too large for a double)');
    if (v !== null && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH) throw new GraphQLError(`JSON values may nest at most ${MAX_JSON_DEPTH} levels deep`);
      for (const child of Object.values(v)) stack.push([child, depth + 1]);
    }
  }
  return value;
}

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
  parseValue: checkJsonInput,
  parseLiteral: (node, variables) => checkJsonInput(literalToJson(node, variables)),
});

function checkDateTime(value: unknown): string {
  if (typeof value !== 'string' || normalizeTimestamp(value) === null) {
    throw new GraphQLError(`DateTime must be a real RFC 3339 date-time with an offset, e.g. 2024-07-25T00:51:46.340938Z`);
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
