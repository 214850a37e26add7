// Parser tables: valid queries -> AST (written in a compact notation), invalid -> the exact token,
// position and message.
import {
  MAX_DEPTH,
  MAX_TERMS,
  parseQuery,
  QuerySyntaxError,
  type QueryNode,
} from '../../../src/local-audit/query/index.js';

/**
 * Compact notation: `and(...)`, `or(...)`, `not(...)`, `field:"value"`, `*:"value"` for a bare
 * value, `field>"value"` for comparisons. Values are JSON-quoted so spaces and quotes are visible.
 */
function show(node: QueryNode): string {
  switch (node.type) {
    case 'and':
    case 'or':
      return `${node.type}(${node.children.map(show).join(', ')})`;
    case 'not':
      return `not(${show(node.child)})`;
    case 'match':
      return `${node.field ?? '*'}:${JSON.stringify(node.value)}`;
    case 'compare':
      return `${node.field}${node.op}${JSON.stringify(node.value)}`;
  }
}

describe('parseQuery', () => {
  test.each<[string, string]>([
    ['', 'and()'],
    ['  \t ', 'and()'],
    ['login', '*:"login"'],
    ['actor:bob', 'actor:"bob"'],
    ['actor:"John Smith"', 'actor:"John Smith"'],
    ['"two words"', '*:"two words"'],
    [String.raw`message:"a \"b\" c"`, 'message:"a \\"b\\" c"'],
    ['a b', 'and(*:"a", *:"b")'],
    ['a b c', 'and(*:"a", *:"b", *:"c")'],
    ['a AND b', 'and(*:"a", *:"b")'],
    ['a AND b c', 'and(*:"a", *:"b", *:"c")'],
    ['a OR b', 'or(*:"a", *:"b")'],
    ['a OR b OR c', 'or(*:"a", *:"b", *:"c")'],
    // AND (explicit or implicit) binds tighter than OR.
    ['a b OR c', 'or(and(*:"a", *:"b"), *:"c")'],
    ['a OR b c', 'or(*:"a", and(*:"b", *:"c"))'],
    ['a OR b AND c', 'or(*:"a", and(*:"b", *:"c"))'],
    ['a AND b OR c AND d', 'or(and(*:"a", *:"b"), and(*:"c", *:"d"))'],
    // Parentheses override it, and are kept as written.
    ['(a OR b) c', 'and(or(*:"a", *:"b"), *:"c")'],
    ['a (b OR c)', 'and(*:"a", or(*:"b", *:"c"))'],
    ['(a)', '*:"a"'],
    ['((a b))', 'and(*:"a", *:"b")'],
    ['(a b) c', 'and(and(*:"a", *:"b"), *:"c")'],
    ['(a)(b)', 'and(*:"a", *:"b")'],
    // Negation applies to the next term or group only.
    ['-a', 'not(*:"a")'],
    ['-a b', 'and(not(*:"a"), *:"b")'],
    ['-actor:bob', 'not(actor:"bob")'],
    ['-(a OR b)', 'not(or(*:"a", *:"b"))'],
    ['--a', 'not(not(*:"a"))'],
    ['a OR -b', 'or(*:"a", not(*:"b"))'],
    ['-"x y"', 'not(*:"x y")'],
    // Comparisons.
    ['count>5', 'count>"5"'],
    ['count>=5 count<=10', 'and(count>="5", count<="10")'],
    ['count=5', 'count="5"'],
    ['count<-5', 'count<"-5"'],
    ['when>"2024-05-01T00:00:00Z"', 'when>"2024-05-01T00:00:00Z"'],
    ['when>2024-05-01T00:00:00+02:00', 'when>"2024-05-01T00:00:00+02:00"'],
    ['-count>5', 'not(count>"5")'],
    // Keywords are uppercase, standalone and unquoted.
    ['a and b', 'and(*:"a", *:"and", *:"b")'],
    ['a "OR" b', 'and(*:"a", *:"OR", *:"b")'],
    ['action:OR', 'action:"OR"'],
    // After a field operator the value runs to whitespace, colons and all.
    ['source:http://x', 'source:"http://x"'],
    // A bare word that looks like field:value is one (the compiler rejects unknown fields).
    ['http://x', 'http:"//x"'],
  ])('%j', (query, expected) => {
    expect(show(parseQuery(query))).toBe(expected);
  });

  test('leaves record where their parts were written', () => {
    expect(parseQuery('x -actor:"J S" count>=5')).toEqual({
      type: 'and',
      children: [
        { type: 'match', field: null, value: 'x', loc: { value: { text: 'x', position: 0 } } },
        {
          type: 'not',
          child: {
            type: 'match',
            field: 'actor',
            value: 'J S',
            loc: {
              field: { text: 'actor', position: 3 },
              operator: { text: ':', position: 8 },
              value: { text: '"J S"', position: 9 },
            },
          },
        },
        {
          type: 'compare',
          field: 'count',
          op: '>=',
          value: '5',
          loc: {
            field: { text: 'count', position: 15 },
            operator: { text: '>=', position: 20 },
            value: { text: '5', position: 22 },
          },
        },
      ],
    });
  });

  test('each empty query gets its own node', () => {
    const first = parseQuery('');
    (first as { children: QueryNode[] }).children.push(parseQuery('x'));
    expect(parseQuery('')).toEqual({ type: 'and', children: [] });
  });
});

describe('parseQuery errors', () => {
  test.each<[string, string, string, number, string]>([
    ['unbalanced: extra close', 'a)', ')', 1, 'unexpected ")" at position 1'],
    ['unbalanced: close first', ') a', ')', 0, 'unexpected ")" at position 0'],
    ['unbalanced: extra close later', '(actor:bob OR x)) y', ')', 16, 'unexpected ")" at position 16'],
    ['unbalanced: unclosed', '(a', '(', 0, 'unclosed "(" at position 0'],
    ['unbalanced: unclosed inner', 'x ((a) OR b', '(', 2, 'unclosed "(" at position 2'],
    ['unbalanced: open at the end', 'a (', '(', 2, 'unclosed "(" at position 2'],
    ['empty group', '()', ')', 1, 'empty group, unexpected ")" at position 1'],
    ['empty group inside', 'a (  ) b', ')', 5, 'empty group, unexpected ")" at position 5'],
    ['negated empty group', '-()', ')', 2, 'empty group, unexpected ")" at position 2'],
    ['dangling AND', 'a AND', 'AND', 2, 'missing term after "AND" at position 2'],
    ['dangling OR', 'a OR', 'OR', 2, 'missing term after "OR" at position 2'],
    ['leading AND', 'AND a', 'AND', 0, 'unexpected "AND" at position 0'],
    ['leading OR', 'OR a', 'OR', 0, 'unexpected "OR" at position 0'],
    ['double operator', 'a AND OR b', 'OR', 6, 'unexpected "OR" at position 6'],
    ['double AND', 'a AND AND b', 'AND', 6, 'unexpected "AND" at position 6'],
    ['operator before close', '(a OR) b', ')', 5, 'unexpected ")" at position 5'],
    ['operator after open', '(OR a)', 'OR', 1, 'unexpected "OR" at position 1'],
    ['negated keyword', '-AND a', 'AND', 1, 'unexpected "AND" at position 1'],
    ['negated close', '(-)', ')', 2, 'unexpected ")" at position 2'],
    ['lexer error surfaces', 'a "b', '"', 2, 'unterminated quote "\\"" at position 2'],
  ])('%s: %j', (_name, query, token, position, message) => {
    let caught: unknown;
    try {
      parseQuery(query);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(QuerySyntaxError);
    const err = caught as QuerySyntaxError;
    expect({ token: err.token, position: err.position, message: err.message }).toEqual({ token, position, message });
  });

  test(`more than ${MAX_TERMS} terms is refused at the first term too many`, () => {
    const terms = Array.from({ length: MAX_TERMS + 1 }, (_, i) => `t${i}`);
    expect(() => parseQuery(terms.slice(0, MAX_TERMS).join(' '))).not.toThrow();
    const query = terms.join(' ');
    const last = query.lastIndexOf(' ') + 1;
    expect(() => parseQuery(query)).toThrow(
      expect.objectContaining({ token: `t${MAX_TERMS}`, position: last }) as unknown as Error,
    );
  });

  test(`nesting deeper than ${MAX_DEPTH} is refused at the group that goes too deep`, () => {
    const nest = (depth: number): string => '('.repeat(depth) + 'a' + ')'.repeat(depth);
    expect(() => parseQuery(nest(MAX_DEPTH))).not.toThrow();
    expect(() => parseQuery(nest(MAX_DEPTH + 1))).toThrow(
      expect.objectContaining({ token: '(', position: MAX_DEPTH }) as unknown as Error,
    );
    expect(() => parseQuery('-'.repeat(MAX_DEPTH + 1) + 'a')).toThrow(QuerySyntaxError);
  });
});
