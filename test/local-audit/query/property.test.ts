// Property tests. (1) Whatever string arrives, the only error is a QuerySyntaxError pointing at
// text that is really there, and whatever compiles runs in SQLite. (2) A query built from a random
// AST selects exactly the rows an independent in-memory evaluator of that AST selects, which
// checks precedence, negation with missing fields, quoting and escaping together. (3) Any text
// used as a quoted value is only ever data.
import fc from 'fast-check';
import { compileQuery } from '../../../src/local-audit/store/query-sql.js';
import {
  normalizeTimestamp,
  normalizeTimestampBound,
  QuerySyntaxError,
  type CompareOp,
  type QueryNode,
} from '../../../src/local-audit/query/index.js';
import { ALL_IDS, FIELD_TABLE, FIELDS, openEventsDb, ROWS, selectIds, type Row } from './fixture.js';

const db = openEventsDb();
afterAll(() => db.close());

/** Compiles and runs a query; returns the ids, or the QuerySyntaxError. Anything else throws. */
function attempt(query: string): number[] | QuerySyntaxError {
  let where;
  try {
    where = compileQuery(query, FIELDS);
  } catch (err) {
    if (err instanceof QuerySyntaxError) return err;
    throw err;
  }
  return selectIds(db, where);
}

describe('arbitrary input', () => {
  const checkInput = (query: string): void => {
    const outcome = attempt(query);
    if (outcome instanceof QuerySyntaxError) {
      // The error names text that is really at that position.
      expect(outcome.position).toBeGreaterThanOrEqual(0);
      expect(outcome.position).toBeLessThanOrEqual(query.length);
      expect(query.startsWith(outcome.token, outcome.position)).toBe(true);
      expect(outcome.message).toContain(`at position ${outcome.position}`);
    } else {
      for (const id of outcome) expect(ALL_IDS).toContain(id);
    }
  };

  test('query-like strings: only QuerySyntaxError, and compiled SQL always runs', () => {
    const piece = fc.constantFrom(
      ' ', ' ', '(', ')', '"', '\\', '-', ':', '>', '<', '=', '>=', '<=', 'AND', 'OR', ' AND ', ' OR ',
      'actor', 'count', 'timestamp', 'flag', 'message', 'nope', 'x', 'login', '5', '-3', 'true',
      '2024-05-01', '2024-05-01T10:00:00Z', '%', '_', "'", ';', '--', '/*', 'é', '😀', '\t', '\u00a0',
    );
    fc.assert(fc.property(fc.array(piece, { maxLength: 24 }).map((parts) => parts.join('')), checkInput), { numRuns: 3000 });
  });

  test('any string at all', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), checkInput), { numRuns: 1000 });
  });
});

// --- Random ASTs, printed as queries and checked against an in-memory evaluator ---------------

const FIELD_NAMES = Object.keys(FIELD_TABLE);
const STRING_FIELDS = FIELD_NAMES.filter((f) => ['string', 'text', 'string-unindexed'].includes(FIELD_TABLE[f]!.type));
const DATETIME_FIELDS = ['timestamp', 'seen_at'];

/** Values chosen to hit and miss the fixture rows, plus quoting and escaping hazards. */
const text = fc.oneof(
  fc.constantFrom(
    'o', 'Smith', 'smith', 'John Smith', 'login', 'LOGIN', 'app', 't1', '%', '_', 'e_o', '100%', '',
    "x') OR 1=1 --", '"inside"', 'back\\slash', '\\', 'record 42', '15', '5', '-3', '2024-05', 'AND', 'OR', '(', ')',
    '2024-05-01T10:00:00Z', '2024-05-01T12:00:00+02:00', 'true',
  ),
  fc.string({ maxLength: 3 }),
);
const integer = fc.integer({ min: -20, max: 20 }).map(String);
const instant = fc.constantFrom(
  '2023-12-31', '2024-05-01', '2024-05-02', '2024-05-01T10:00:00Z', '2024-05-01T12:00:00+02:00',
  '2024-05-01T10:00:00.5Z', '2024-05-01T10:00:00.499999Z', '2023-12-31T23:59:59.999999Z', '2024-05-02T00:00:00Z',
);
const compareOp = fc.constantFrom<CompareOp>('>', '<', '=', '>=', '<=');

const leaf: fc.Arbitrary<QueryNode> = fc.oneof(
  text.map((value): QueryNode => ({ type: 'match', field: null, value, loc: { value: { text: '', position: 0 } } })),
  fc.tuple(fc.constantFrom(...STRING_FIELDS, ...DATETIME_FIELDS), text).map(([field, value]) => match(field, value)),
  integer.map((value) => match('count', value)),
  fc.constantFrom('true', 'false').map((value) => match('flag', value)),
  fc.tuple(compareOp, integer).map(([op, value]) => compare('count', op, value)),
  fc.tuple(fc.constantFrom(...DATETIME_FIELDS), compareOp, instant).map(([field, op, value]) => compare(field, op, value)),
);

const tree = fc.letrec<{ node: QueryNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('node').map((child): QueryNode => ({ type: 'not', child })),
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((children): QueryNode => ({ type: 'and', children })),
    fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((children): QueryNode => ({ type: 'or', children })),
  ),
})).node;

function match(field: string, value: string): QueryNode {
  return { type: 'match', field, value, loc: { value: { text: '', position: 0 } } };
}
function compare(field: string, op: CompareOp, value: string): QueryNode {
  const span = { text: '', position: 0 };
  return { type: 'compare', field, op, value, loc: { field: span, operator: span, value: span } };
}

const quote = (value: string): string => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/**
 * Prints a query with only the parentheses precedence needs: OR inside AND, and any group under
 * a negation. `explicitAnd` alternates implicit and explicit AND.
 */
function print(node: QueryNode, explicitAnd: boolean): string {
  switch (node.type) {
    case 'match':
      return `${node.field === null ? '' : `${node.field}:`}${quote(node.value)}`;
    case 'compare':
      return `${node.field}${node.op}${node.value}`;
    case 'not': {
      const inner = print(node.child, explicitAnd);
      return node.child.type === 'and' || node.child.type === 'or' ? `-(${inner})` : `-${inner}`;
    }
    case 'and':
      return node.children
        .map((child) => (child.type === 'or' ? `(${print(child, explicitAnd)})` : print(child, explicitAnd)))
        .join(explicitAnd ? ' AND ' : ' ');
    case 'or':
      return node.children.map((child) => print(child, explicitAnd)).join(' OR ');
  }
}

/** The meaning of a query, written independently of the SQL: missing fields never match. */
function holds(node: QueryNode, row: Row): boolean {
  switch (node.type) {
    case 'and':
      return node.children.every((child) => holds(child, row));
    case 'or':
      return node.children.some((child) => holds(child, row));
    case 'not':
      return !holds(node.child, row);
    case 'match':
      if (node.field !== null) return fieldMatches(node.field, node.value, row);
      return FIELD_NAMES.some((field) => FIELD_TABLE[field]!.searchable && fieldMatches(field, node.value, row, true));
    case 'compare': {
      const actual = row[node.field as keyof Row];
      if (actual === undefined) return false;
      const expected = node.field === 'count' ? Number(node.value) : normalizeTimestampBound(node.value)!;
      return { '>': actual > expected, '<': actual < expected, '=': actual === expected, '>=': actual >= expected, '<=': actual <= expected }[node.op];
    }
  }
}

function fieldMatches(field: string, value: string, row: Row, bare = false): boolean {
  const actual = row[field as keyof Row];
  if (actual === undefined) return false;
  switch (FIELD_TABLE[field]!.type) {
    case 'integer':
      return /^[+-]?\d+$/.test(value) ? actual === Number(value) : bare ? false : fail(value);
    case 'boolean':
      return value === 'true' || value === 'false' ? actual === (value === 'true') : bare ? false : fail(value);
    case 'datetime': {
      const instantValue = normalizeTimestamp(value);
      return instantValue === null ? String(actual).includes(value) : actual === instantValue;
    }
    default:
      return String(actual).includes(value);
  }
}

function fail(value: string): never {
  throw new Error(`generator produced an invalid value ${value}`);
}

describe('queries from random ASTs', () => {
  test('SQL selects exactly the rows the evaluator selects', () => {
    fc.assert(
      fc.property(tree, fc.boolean(), (ast, explicitAnd) => {
        const query = print(ast, explicitAnd);
        const expected = ROWS.filter((row) => holds(ast, row)).map((row) => row.id);
        expect(attempt(query)).toEqual(expected);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('quoted values are only data', () => {
  test('field:"<anything>" selects exactly the rows whose field contains it', () => {
    const hostile = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.constantFrom("x') OR 1=1 --", "' OR '1'='1", '"); DROP TABLE events; --', '%', '_', '\\"', '\\', ''),
    );
    fc.assert(
      fc.property(fc.constantFrom(...STRING_FIELDS), hostile, (field, value) => {
        const expected = ROWS.filter((row) => typeof row[field as keyof Row] === 'string' && (row[field as keyof Row] as string).includes(value));
        expect(attempt(`${field}:${quote(value)}`)).toEqual(expected.map((row) => row.id));
      }),
      { numRuns: 1000 },
    );
    expect(selectIds(db, { sql: '1', params: [] })).toEqual(ALL_IDS);
  });
});
