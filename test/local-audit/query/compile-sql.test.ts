// Execution tests: compile queries and run them against a real SQLite table, checking which rows
// come back. The fixture rows are in fixture.ts.
import { compileAst, compileQuery } from '../../../src/local-audit/store/query-sql.js';
import {
  createFieldResolver,
  MAX_DEPTH,
  MAX_TERMS,
  parseQuery,
  QuerySyntaxError,
} from '../../../src/local-audit/query/index.js';
import { ALL_IDS, FIELDS, openEventsDb, selectIds } from './fixture.js';

const db = openEventsDb();
afterAll(() => db.close());

const run = (query: string): number[] => selectIds(db, compileQuery(query, FIELDS));

function compileError(query: string): QuerySyntaxError {
  try {
    compileQuery(query, FIELDS);
  } catch (err) {
    if (err instanceof QuerySyntaxError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(query)} to be rejected`);
}

describe('which rows a query selects', () => {
  test.each<[string, string, number[]]>([
    // empty query
    ['empty query matches everything', '', ALL_IDS],
    ['whitespace-only query matches everything', ' \t\n ', ALL_IDS],

    // field contains, case-sensitive
    ['field contains', 'actor:Smith', [1]],
    ['contains is case-sensitive', 'actor:smith', [2]],
    ['contains anywhere in the value', 'message:ogi', [1]],
    ['quoted value with a space', 'actor:"John Smith"', [1]],
    ['the whole value is one needle, not two words', 'actor:"Smith John"', []],
    ['unquoted words after a field are separate terms', 'actor:John Smith', [1]],
    ['quoted value with escaped quotes', String.raw`message:"\"inside\""`, [5]],
    ['escaped backslash', String.raw`message:"back\\slash"`, [5]],
    ['"%" is a literal character', 'message:%', [3]],
    ['"_" is a literal character', 'message:e_o', [3]],
    ['"_" does not match any character', 'message:e_s', []],
    ['empty quoted value: the field is present', 'target:""', [1, 3, 4]],

    // bare values
    ['bare value searches every searchable field', 'login', [1, 2, 6]],
    ['bare value is case-sensitive', 'LOGIN', [2]],
    ['bare value hits a non-message field', 'report', [3]],
    ['bare quoted value', '"record 42"', [4]],
    ['bare value does not search unsearchable fields', 'secret', []],
    ['bare integer matches integer fields by equality', '15', [2, 6]],
    ['bare integer still contains-matches text fields', '42', [4]],
    ['bare partial date hits datetime fields', '2023-12', [4]],

    // negation, NULLs
    ['negated contains', '-action:login', [3, 4, 5]],
    ['negation includes rows where the field is missing', '-actor:h', [3, 4, 5, 6]],
    ['negated bare value', '-login', [3, 4, 5]],
    ['negated integer equality includes missing values', '-count:15', [1, 3, 4, 5]],
    ['negated group', '-(action:login OR action:delete)', [3, 5]],
    ['negated group with missing fields inside', '-(actor:h OR target:e)', [5, 6]],
    ['double negation', '--actor:bob', [3]],
    ['negated comparison includes missing values', '-count>0', [3, 4, 5]],

    // AND / OR / parentheses
    ['implicit AND', 'action:login source:app', [1, 2]],
    ['explicit AND', 'action:login AND status:success', [1]],
    ['OR', 'actor:bob OR actor:alice', [3, 5]],
    ['AND binds tighter than OR', 'action:login status:success OR actor:bob', [1, 3]],
    ['AND binds tighter than OR (right side)', 'actor:bob OR action:login status:failure', [2, 3]],
    ['explicit AND binds tighter than OR', 'actor:bob OR action:login AND status:failure', [2, 3]],
    ['parentheses override precedence', 'action:login (status:success OR source:cli)', [1, 6]],
    ['nested parentheses', '((actor:bob OR actor:alice) AND (tenant_id:t1 OR old:a))', [3, 5]],
    ['lowercase and/or are plain values', 'login and', []],
    ['quoted "OR" is a plain value', 'message:"OR"', [6]],

    // integer fields
    ['integer greater than', 'count>5', [2, 6]],
    ['integer greater or equal', 'count>=5', [1, 2, 6]],
    ['integer less than, negative values', 'count<0', [3]],
    ['integer compared with a negative number', 'count>-4', [1, 2, 3, 5, 6]],
    ['integer less or equal', 'count<=0', [3, 5]],
    ['integer equality', 'count=15', [2, 6]],
    ['integer field:value is equality, not contains', 'count:5', [1]],
    ['integer range', 'count>0 count<10', [1]],
    ['explicit plus sign', 'count=+5', [1]],

    // datetime fields
    ['datetime after', 'timestamp>2024-05-01T10:00:00Z', [2]],
    ['datetime at or after', 'timestamp>=2024-05-01T10:00:00Z', [1, 2]],
    ['datetime before, with offset', 'timestamp<2024-05-01T12:00:00+02:00', [4]],
    ['datetime equality across offsets and precision', 'timestamp="2024-05-01T12:00:00.000+02:00"', [1]],
    ['datetime full-date bound is midnight UTC', 'timestamp<2024-05-02', [1, 4]],
    ['sub-second precision', 'seen_at>2024-05-01T10:00:00.4999999Z', [1, 2]],
    ['datetime field:full timestamp is equality', 'timestamp:2024-05-01T10:00:00Z', [1]],
    ['datetime field:partial text is contains', 'timestamp:2024-05', [1, 2]],
    ['datetime on a custom field', 'seen_at<=2024-05-01T10:00:00.5Z', [1]],

    // boolean and unindexed fields
    ['boolean true', 'flag:true', [1, 6]],
    ['boolean false', 'flag:false', [2]],
    ['negated boolean includes missing values', '-flag:true', [2, 3, 4, 5]],
    ['unindexed field searched by name', 'note:sec', [3]],

    // injection attempts are plain values
    ['injection in a field value matches nothing unexpected', `actor:"x') OR 1=1 --"`, []],
    ['injection text is found where it is literally present', `message:"x') OR 1=1 --"`, [6]],
    ['injection in a bare value', `"' OR '1'='1"`, []],
  ])('%s: %s', (_name, query, expected) => {
    expect(run(query)).toEqual(expected);
  });

  test('the table survives every query above', () => {
    expect(selectIds(db, { sql: '1', params: [] })).toEqual(ALL_IDS);
  });
});

describe('compiled SQL', () => {
  test('user values are parameters, never SQL text', () => {
    const { sql, params } = compileQuery(`actor:"x') OR 1=1 --" count>5 flag:true`, FIELDS);
    expect(sql).not.toContain('OR 1=1');
    expect(sql).not.toContain("x'");
    expect(params).toEqual(["x') OR 1=1 --", 5, 1]);
    expect(sql.split('?').length - 1).toBe(params.length);
  });

  test('the empty query compiles to an always-true expression', () => {
    expect(compileQuery('', FIELDS)).toEqual({ sql: '1', params: [] });
  });

  test('datetime values are bound normalised', () => {
    expect(compileQuery('timestamp>2024-05-01T12:00:00.1+02:00', FIELDS).params).toEqual(['2024-05-01T10:00:00.100000Z']);
  });

  test('integers beyond 2^53 are bound as bigint and run', () => {
    const where = compileQuery('count<9223372036854775807', FIELDS);
    expect(where.params).toEqual([9223372036854775807n]);
    expect(selectIds(db, where)).toEqual([1, 2, 3, 5, 6]);
  });

  test('a bare value no searchable field can hold matches nothing', () => {
    const onlyIntegers = createFieldResolver({ n: { column: 'e.id', type: 'integer', searchable: true } });
    const where = compileQuery('hello', onlyIntegers);
    expect(where).toEqual({ sql: '0', params: [] });
    expect(selectIds(db, compileQuery('-hello', onlyIntegers))).toEqual(ALL_IDS);
  });

  test('a column expression with operators of its own keeps its meaning', () => {
    const fields = createFieldResolver({ both: { column: "e.action || '/' || e.source", type: 'integer', searchable: false } });
    // Without parentheses this would parse as e.action || '/' || (e.source = ?).
    expect(compileQuery('both=1', fields).sql).toBe("(e.action || '/' || e.source) = ?");
  });

  test('a query at the size limits still runs in SQLite (expression depth, parameter count)', () => {
    // Negated groups nested to MAX_DEPTH around bare terms (each searching every searchable
    // field), MAX_TERMS terms in all.
    const levels = MAX_DEPTH / 2 - 1; // each level is "-(" : two steps of depth
    const inner = Array.from({ length: MAX_TERMS - levels }, (_, i) => (i % 2 ? `w${i}` : `-w${i}`)).join(' OR ');
    let query = `(${inner})`;
    for (let level = 0; level < levels; level++) query = `-(${query} OR login)`;
    expect(() => parseQuery(query)).not.toThrow();
    expect(() => parseQuery(`${query} x`)).toThrow(QuerySyntaxError);
    expect(() => selectIds(db, compileQuery(query, FIELDS))).not.toThrow();
  });

  test('a hand-built AST with an operator outside the whitelist is refused', () => {
    const ast = parseQuery('count>1');
    if (ast.type !== 'compare') throw new Error('expected a comparison');
    const forged = { ...ast, op: '> 0 OR 1 >' as never };
    expect(() => compileAst(forged, FIELDS)).toThrow(QuerySyntaxError);
  });
});

describe('meaning errors name the token and its position', () => {
  test.each<[string, string, string, number, string]>([
    ['unknown field', 'action:login foo:bar', 'foo', 13, 'unknown field "foo" at position 13'],
    ['field names are case-sensitive', 'Actor:bob', 'Actor', 0, 'unknown field "Actor" at position 0'],
    ['unknown field in a comparison', 'size>3', 'size', 0, 'unknown field "size" at position 0'],
    ['comparison on a string field', 'actor>5', '>', 5, 'string field "actor" cannot be compared with ">" at position 5'],
    ['comparison on a text field', 'message<=x', '<=', 7, 'text field "message" cannot be compared with "<=" at position 7'],
    ['equality comparison on a boolean', 'flag=true', '=', 4, 'boolean field "flag" cannot be compared with "=" at position 4'],
    ['non-integer compared with an integer field', 'count>five', 'five', 6, 'expected an integer for field "count", got "five" at position 6'],
    ['decimal for an integer field', 'x count=1.5', '1.5', 8, 'expected an integer for field "count", got "1.5" at position 8'],
    ['integer beyond 64 bits', 'count>9223372036854775808', '9223372036854775808', 6, 'expected an integer for field "count", got "9223372036854775808" at position 6'],
    ['non-integer matched against an integer field', 'count:"12 "', '"12 "', 6, 'expected an integer for field "count", got "\\"12 \\"" at position 6'],
    ['bad timestamp', 'timestamp>yesterday', 'yesterday', 10, 'expected an RFC 3339 timestamp for field "timestamp", got "yesterday" at position 10'],
    ['impossible date', 'timestamp<2024-02-30', '2024-02-30', 10, 'expected an RFC 3339 timestamp for field "timestamp", got "2024-02-30" at position 10'],
    ['boolean other than true/false', 'flag:yes', 'yes', 5, 'expected true or false for field "flag", got "yes" at position 5'],
    ['injection in a comparison value', 'count>1;DROP', '1;DROP', 6, 'expected an integer for field "count", got "1;DROP" at position 6'],
    ['inside a negated group', '-(a OR nope:1)', 'nope', 7, 'unknown field "nope" at position 7'],
  ])('%s: %s', (_name, query, token, position, message) => {
    const err = compileError(query);
    expect({ token: err.token, position: err.position, message: err.message }).toEqual({ token, position, message });
    expect(query.startsWith(token, position)).toBe(true);
  });
});
