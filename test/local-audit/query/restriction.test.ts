// search_restriction: every listed field must equal one of its values exactly. Run against the
// same SQLite fixture as the query tests.
import { compileQuery } from '../../../src/local-audit/store/query-sql.js';
import { checkRestrictionSize, compileRestriction, SearchRestrictionError } from '../../../src/local-audit/store/restriction-sql.js';
import { MAX_SEARCH_RESTRICTION_VALUES } from '../../../src/wire/index.js';
import { ALL_IDS, FIELDS, openEventsDb, selectIds } from './fixture.js';

const db = openEventsDb();
afterAll(() => db.close());

const run = (restriction: Record<string, unknown>): number[] => selectIds(db, compileRestriction(restriction, FIELDS));

describe('compileRestriction selects', () => {
  test.each<[string, Record<string, unknown>, number[]]>([
    ['no restriction: everything', {}, ALL_IDS],
    ['one value', { tenant_id: ['t1'] }, [1, 5]],
    ['any of several values', { tenant_id: ['t1', 't2'] }, [1, 2, 5]],
    ['exact, not contains', { actor: ['Smith'] }, []],
    ['exact, case-sensitive', { actor: ['john smith'] }, [2]],
    ['every listed field must hold', { tenant_id: ['t1'], action: ['login'] }, [1]],
    ['a missing field never equals', { actor: ['mallory', 'bob'], target: ['report_1'] }, [3]],
    ['an empty list matches nothing', { tenant_id: [] }, []],
    ['"%" and "_" are literal', { message: ['100% done_ok'] }, [3]],
    ['injection text is a value', { actor: ["x' OR '1'='1"] }, []],
    ['integer field, numbers and integer strings', { count: [15, '5'] }, [1, 2, 6]],
    ['boolean field', { flag: [true] }, [1, 6]],
    ['boolean field as text', { flag: ['false'] }, [2]],
    ['datetime field, normalised', { timestamp: ['2024-05-01T12:00:00+02:00'] }, [1]],
    ['several values on several fields', { status: ['success', 'failure'], source: ['app', 'cli'] }, [1, 2]],
  ])('%s', (_name, restriction, expected) => {
    expect(run(restriction)).toEqual(expected);
  });

  test('values are parameters', () => {
    const { sql, params } = compileRestriction({ actor: ["x') OR 1=1 --"], tenant_id: ['a', 'b'] }, FIELDS);
    expect(sql).toBe('((e.actor) IN (?) AND (e.tenant_id) IN (?, ?))');
    expect(params).toEqual(["x') OR 1=1 --", 'a', 'b']);
  });

  test('combines with a compiled query', () => {
    const query = compileQuery('action:login', FIELDS);
    const restriction = compileRestriction({ tenant_id: ['t2'] }, FIELDS);
    const where = { sql: `${query.sql} AND ${restriction.sql}`, params: [...query.params, ...restriction.params] };
    expect(selectIds(db, where)).toEqual([2]);
  });
});

describe('compileRestriction errors', () => {
  test.each<[string, Record<string, unknown>, string, number | undefined, string]>([
    ['unknown field', { nope: ['x'] }, 'nope', undefined, 'unknown field "nope" in search_restriction'],
    ['prototype names are unknown fields', JSON.parse('{"__proto__": ["x"]}') as Record<string, unknown>, '__proto__', undefined, 'unknown field "__proto__" in search_restriction'],
    ['not a list', { actor: 'bob' }, 'actor', undefined, 'search_restriction.actor must be a list of values'],
    ['number for a string field', { actor: ['bob', 5] }, 'actor', 1, 'search_restriction.actor[1] is not a valid string value: 5'],
    ['non-integer for an integer field', { count: [1.5] }, 'count', 0, 'search_restriction.count[0] is not a valid integer value: 1.5'],
    ['word for an integer field', { count: ['ten'] }, 'count', 0, 'search_restriction.count[0] is not a valid integer value: "ten"'],
    ['word for a boolean field', { flag: ['yes'] }, 'flag', 0, 'search_restriction.flag[0] is not a valid boolean value: "yes"'],
    ['non-timestamp for a datetime field', { timestamp: ['2024-05-01'] }, 'timestamp', 0, 'search_restriction.timestamp[0] is not a valid datetime value: "2024-05-01"'],
    ['null value', { actor: [null] }, 'actor', 0, 'search_restriction.actor[0] is not a valid string value: null'],
  ])('%s', (_name, restriction, field, index, message) => {
    let caught: unknown;
    try {
      compileRestriction(restriction, FIELDS);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SearchRestrictionError);
    const err = caught as SearchRestrictionError;
    expect({ field: err.field, index: err.index, message: err.message }).toEqual({ field, index, message });
  });
});

describe('compileRestriction bounds the values', () => {
  const filler = (n: number, prefix = 'none'): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const caught = (restriction: Record<string, unknown>): SearchRestrictionError => {
    try {
      compileRestriction(restriction, FIELDS);
    } catch (err) {
      if (err instanceof SearchRestrictionError) return err;
      throw err;
    }
    throw new Error('compileRestriction accepted the restriction');
  };

  test('at the bound, in one field or over several, it compiles and selects', () => {
    expect(run({ tenant_id: [...filler(MAX_SEARCH_RESTRICTION_VALUES - 1), 't1'] })).toEqual([1, 5]);
    const split = { tenant_id: [...filler(MAX_SEARCH_RESTRICTION_VALUES / 2 - 1), 't1'], action: [...filler(MAX_SEARCH_RESTRICTION_VALUES / 2 - 1), 'login'] };
    expect(compileRestriction(split, FIELDS).params).toHaveLength(MAX_SEARCH_RESTRICTION_VALUES);
    expect(run(split)).toEqual([1]);
  });

  test('one field over the bound names that field', () => {
    const err = caught({ action: ['login'], tenant_id: filler(MAX_SEARCH_RESTRICTION_VALUES + 1) });
    expect({ field: err.field, index: err.index, code: err.code }).toEqual({ field: 'tenant_id', index: undefined, code: 'AboveMaxItems' });
    expect(err.message).toBe(`search_restriction.tenant_id has more than ${MAX_SEARCH_RESTRICTION_VALUES} values (${MAX_SEARCH_RESTRICTION_VALUES + 1})`);
  });

  test('several fields over it together name none', () => {
    const err = caught({ tenant_id: filler(MAX_SEARCH_RESTRICTION_VALUES / 2), action: filler(MAX_SEARCH_RESTRICTION_VALUES / 2 + 1) });
    expect({ field: err.field, index: err.index, code: err.code }).toEqual({ field: undefined, index: undefined, code: 'AboveMaxItems' });
    expect(err.message).toMatch(/^search_restriction has more than \d+ values over all its fields \(\d+\)$/);
  });

  test('the bound is checked before any value: a too-long list of bad values is refused for its length', () => {
    expect(caught({ count: Array.from({ length: MAX_SEARCH_RESTRICTION_VALUES + 1 }, () => 'ten') }).code).toBe('AboveMaxItems');
  });

  test('checkRestrictionSize names the request member it was given', () => {
    expect(() => checkRestrictionSize({ tenant_id: filler(MAX_SEARCH_RESTRICTION_VALUES) }, 'assert_search_restriction')).not.toThrow();
    expect(() => checkRestrictionSize({ tenant_id: filler(MAX_SEARCH_RESTRICTION_VALUES + 1) }, 'assert_search_restriction')).toThrow(/^assert_search_restriction\.tenant_id has more than/);
  });
});
