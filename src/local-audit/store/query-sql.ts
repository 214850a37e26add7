// AST -> a parameterised SQL boolean expression for a WHERE clause.
//
// Safety: user-written values only ever travel as `?` parameters. The only text spliced into the
// SQL is the resolver's trusted column expressions and fixed operator spellings from a whitelist.
//
// NULL handling: a leaf on a missing field (NULL column) evaluates to NULL, which WHERE treats as
// no match. Negation is `(x) IS NOT TRUE`, which turns NULL into true: an event without `actor`
// does not contain "bob", so `-actor:bob` selects it. Because AND and OR preserve "NULL behaves
// as false" (Kleene logic is monotone), this is also right for negated groups, so the whole
// expression selects exactly the rows the query describes.

import type { CompareNode, CompareOp, MatchNode, QueryNode } from '../query/ast.js';
import { QuerySyntaxError } from '../query/errors.js';
import { columnOperand, type FieldInfo, type FieldResolver } from '../query/fields.js';
import { parseQuery } from '../query/parser.js';
import { normalizeTimestamp, normalizeTimestampBound } from '../core/timestamp.js';
import { parseBoolean, parseInteger } from '../query/values.js';

export interface SqlFragment {
  /** A boolean SQL expression; use it as `WHERE (<sql>)` or AND it with other conditions. */
  sql: string;
  /** Values for the `?` placeholders, in order. */
  params: unknown[];
}

/**
 * Always true / always false, for the empty query and for bare values no field can hold. Fresh
 * objects each time, so a caller appending to `params` cannot corrupt a shared one.
 */
const always = (value: boolean): SqlFragment => ({ sql: value ? '1' : '0', params: [] });

const SQL_OPERATORS: Readonly<Record<CompareOp, string>> = { '>': '>', '<': '<', '=': '=', '>=': '>=', '<=': '<=' };

/** Parses and compiles a query; throws QuerySyntaxError for syntax and field/value errors. */
export function compileQuery(query: string, fields: FieldResolver): SqlFragment {
  return compileAst(parseQuery(query), fields);
}

/** Compiles a parsed query; throws QuerySyntaxError for unknown fields and ill-typed values. */
export function compileAst(node: QueryNode, fields: FieldResolver): SqlFragment {
  switch (node.type) {
    case 'and':
    case 'or': {
      if (node.children.length === 0) return always(node.type === 'and');
      return join(
        node.children.map((child) => compileAst(child, fields)),
        node.type === 'and' ? ' AND ' : ' OR ',
      );
    }
    case 'not': {
      const inner = compileAst(node.child, fields);
      return { sql: `(${inner.sql}) IS NOT TRUE`, params: inner.params };
    }
    case 'match':
      return node.field === null ? compileBareValue(node.value, fields) : compileFieldMatch(node, node.field, fields);
    case 'compare':
      return compileComparison(node, fields);
  }
}

/** A bare value matches when any searchable field that can hold it matches. */
function compileBareValue(value: string, fields: FieldResolver): SqlFragment {
  const alternatives: SqlFragment[] = [];
  for (const info of fields.all()) {
    if (!info.searchable) continue;
    const predicate = matchPredicate(info, value);
    // A field that cannot hold the value (a word against an integer field) just does not match.
    if (typeof predicate !== 'string') alternatives.push(predicate);
  }
  if (alternatives.length === 0) return always(false);
  return join(alternatives, ' OR ');
}

function compileFieldMatch(node: MatchNode, field: string, fields: FieldResolver): SqlFragment {
  const info = resolve(field, node.loc.field?.position ?? node.loc.value.position, fields);
  const predicate = matchPredicate(info, node.value);
  if (typeof predicate === 'string') throw badValue(field, predicate, node.loc.value);
  return predicate;
}

function compileComparison(node: CompareNode, fields: FieldResolver): SqlFragment {
  const info = resolve(node.field, node.loc.field.position, fields);
  if (!Object.hasOwn(SQL_OPERATORS, node.op)) {
    // Only reachable with a hand-built AST; the lexer produces no other operators.
    throw new QuerySyntaxError(node.op, node.loc.operator.position, 'unknown operator');
  }
  const operator = SQL_OPERATORS[node.op];
  let param: unknown;
  if (info.type === 'integer') {
    param = parseInteger(node.value);
    if (param === null) throw badValue(node.field, 'an integer', node.loc.value);
  } else if (info.type === 'datetime') {
    param = normalizeTimestampBound(node.value);
    if (param === null) throw badValue(node.field, 'an RFC 3339 timestamp', node.loc.value);
  } else {
    throw new QuerySyntaxError(
      node.op,
      node.loc.operator.position,
      `${info.type} field ${JSON.stringify(node.field)} cannot be compared with`,
    );
  }
  return { sql: `${columnOperand(info)} ${operator} ?`, params: [param] };
}

/**
 * `field:value` on one field: a case-sensitive contains for string-like fields; equality for
 * integer and boolean fields; for datetime fields equality when the value is a full timestamp
 * (any offset, normalised) and otherwise a contains on the stored text, so `when:2024-05`
 * finds May 2024. Returns what was expected, as text, when the value cannot apply.
 */
function matchPredicate(info: FieldInfo, value: string): SqlFragment | string {
  switch (info.type) {
    case 'string':
    case 'text':
    case 'string-unindexed':
      return contains(info.column, value);
    case 'datetime': {
      const instant = normalizeTimestamp(value);
      return instant === null ? contains(info.column, value) : { sql: `${columnOperand(info)} = ?`, params: [instant] };
    }
    case 'integer': {
      const n = parseInteger(value);
      return n === null ? 'an integer' : { sql: `${columnOperand(info)} = ?`, params: [n] };
    }
    case 'boolean': {
      const b = parseBoolean(value);
      return b === null ? 'true or false' : { sql: `${columnOperand(info)} = ?`, params: [b] };
    }
  }
}

/**
 * instr, not LIKE: it is case-sensitive whatever the pragmas, and `%`/`_` in the value are
 * plain characters. instr(NULL, ?) is NULL (no match); instr(x, '') is 1 (every present value
 * contains the empty string).
 */
function contains(column: string, value: string): SqlFragment {
  return { sql: `instr(${column}, ?) > 0`, params: [value] };
}

function resolve(name: string, position: number, fields: FieldResolver): FieldInfo {
  const info = fields.get(name);
  if (!info) throw new QuerySyntaxError(name, position, 'unknown field');
  return info;
}

function badValue(field: string, expected: string, value: { text: string; position: number }): QuerySyntaxError {
  return new QuerySyntaxError(value.text, value.position, `expected ${expected} for field ${JSON.stringify(field)}, got`);
}

function join(parts: SqlFragment[], separator: string): SqlFragment {
  if (parts.length === 1) return parts[0]!;
  return { sql: `(${parts.map((p) => p.sql).join(separator)})`, params: parts.flatMap((p) => p.params) };
}
