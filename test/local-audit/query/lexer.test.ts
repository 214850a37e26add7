// Lexer tables: query -> tokens (kind, text, position, and the decoded value or field parts).
import { QuerySyntaxError, tokenize, type Token } from '../../../src/local-audit/query/index.js';

/** A compact, readable form of a token for the tables below. */
function show(token: Token): string {
  switch (token.kind) {
    case 'field':
      return `field(${token.name} ${token.op}@${token.opPosition})@${token.position}`;
    case 'value':
      return `${token.quoted ? 'quoted' : 'word'}(${token.value})@${token.position}`;
    default:
      return `${token.kind}@${token.position}`;
  }
}

describe('tokenize', () => {
  test.each<[string, string[]]>([
    ['', ['eof@0']],
    ['   ', ['eof@3']],
    ['login', ['word(login)@0', 'eof@5']],
    ['  a\tb\nc ', ['word(a)@2', 'word(b)@4', 'word(c)@6', 'eof@8']],
    ['actor:bob', ['field(actor :@5)@0', 'word(bob)@6', 'eof@9']],
    ['count>=5 count<=6', ['field(count >=@5)@0', 'word(5)@7', 'field(count <=@14)@9', 'word(6)@16', 'eof@17']],
    ['n>1 n<2 n=3', ['field(n >@1)@0', 'word(1)@2', 'field(n <@5)@4', 'word(2)@6', 'field(n =@9)@8', 'word(3)@10', 'eof@11']],
    ['count>-5', ['field(count >@5)@0', 'word(-5)@6', 'eof@8']],
    ['actor:"John Smith"', ['field(actor :@5)@0', 'quoted(John Smith)@6', 'eof@18']],
    ['"two words"', ['quoted(two words)@0', 'eof@11']],
    [String.raw`"say \"hi\""`, ['quoted(say "hi")@0', 'eof@12']],
    [String.raw`"a\\"`, [String.raw`quoted(a\)@0`, 'eof@5']],
    [String.raw`"C:\temp"`, [String.raw`quoted(C:\temp)@0`, 'eof@9']],
    [String.raw`back\slash`, [String.raw`word(back\slash)@0`, 'eof@10']],
    ['""', ['quoted()@0', 'eof@2']],
    ['-actor:bob', ['not@0', 'field(actor :@6)@1', 'word(bob)@7', 'eof@10']],
    ['-bob', ['not@0', 'word(bob)@1', 'eof@4']],
    ['--bob', ['not@0', 'not@1', 'word(bob)@2', 'eof@5']],
    ['-(a)', ['not@0', 'lparen@1', 'word(a)@2', 'rparen@3', 'eof@4']],
    ['foo-bar', ['word(foo-bar)@0', 'eof@7']],
    ['a AND b OR c', ['word(a)@0', 'and@2', 'word(b)@6', 'or@8', 'word(c)@11', 'eof@12']],
    ['and or And', ['word(and)@0', 'word(or)@4', 'word(And)@7', 'eof@10']],
    ['"AND"', ['quoted(AND)@0', 'eof@5']],
    ['ANDROID ORE', ['word(ANDROID)@0', 'word(ORE)@8', 'eof@11']],
    ['action:AND', ['field(action :@6)@0', 'word(AND)@7', 'eof@10']],
    ['-AND', ['not@0', 'and@1', 'eof@4']],
    ['(a OR b)', ['lparen@0', 'word(a)@1', 'or@3', 'word(b)@6', 'rparen@7', 'eof@8']],
    ['((a))', ['lparen@0', 'lparen@1', 'word(a)@2', 'rparen@3', 'rparen@4', 'eof@5']],
    ['(actor:"x y")', ['lparen@0', 'field(actor :@6)@1', 'quoted(x y)@7', 'rparen@12', 'eof@13']],
    ['(a)b', ['lparen@0', 'word(a)@1', 'rparen@2', 'word(b)@3', 'eof@4']],
    ['source:http://x:80/a=b', ['field(source :@6)@0', 'word(http://x:80/a=b)@7', 'eof@22']],
    ['12:30', ['word(12:30)@0', 'eof@5']],
    [':x >5', ['word(:x)@0', 'word(>5)@3', 'eof@5']],
    ['50% a_b', ['word(50%)@0', 'word(a_b)@4', 'eof@7']],
    ['a-', ['word(a-)@0', 'eof@2']],
    ['日本 "é"', ['word(日本)@0', 'quoted(é)@3', 'eof@6']],
    ['a\u00a0b', ['word(a)@0', 'word(b)@2', 'eof@3']],
  ])('%j', (query, expected) => {
    expect(tokenize(query).map(show)).toEqual(expected);
  });

  test('tokens keep their text as written', () => {
    const texts = tokenize(String.raw`-actor:"a \"b\"" AND (x)`).map((t) => t.text);
    expect(texts).toEqual(['-', 'actor:', String.raw`"a \"b\""`, 'AND', '(', 'x', ')', '']);
  });
});

describe('tokenize errors', () => {
  test.each<[string, string, number, string]>([
    ['"abc', '"', 0, 'unterminated quote "\\"" at position 0'],
    ['actor:"John', '"', 6, 'unterminated quote "\\"" at position 6'],
    [String.raw`"ends with escaped quote\"`, '"', 0, 'unterminated quote "\\"" at position 0'],
    ['a "b', '"', 2, 'unterminated quote "\\"" at position 2'],
    ['ab"c"', '"', 2, 'unexpected "\\"" at position 2'],
    ['"a"b', 'b', 3, 'unexpected "b" at position 3'],
    ['"a"(b)', '(', 3, 'unexpected "(" at position 3'],
    ['"a""b"', '"', 3, 'unexpected "\\"" at position 3'],
    ['"a"😀', '😀', 3, 'unexpected "😀" at position 3'],
    ['f(x)', '(', 1, 'unexpected "(" at position 1'],
    ['message:f(x)', '(', 9, 'unexpected "(" at position 9'],
    ['actor:', 'actor:', 0, 'missing value after "actor:" at position 0'],
    ['x count>', 'count>', 2, 'missing value after "count>" at position 2'],
    ['actor: bob', 'actor:', 0, 'missing value after "actor:" at position 0'],
    ['(actor:)', 'actor:', 1, 'missing value after "actor:" at position 1'],
    ['actor:(a OR b)', 'actor:', 0, 'missing value after "actor:" at position 0'],
    ['-', '-', 0, 'nothing to negate after "-" at position 0'],
    ['a - b', '-', 2, 'nothing to negate after "-" at position 2'],
    ['a OR -', '-', 5, 'nothing to negate after "-" at position 5'],
  ])('%j', (query, token, position, message) => {
    let caught: unknown;
    try {
      tokenize(query);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(QuerySyntaxError);
    const err = caught as QuerySyntaxError;
    expect({ token: err.token, position: err.position, message: err.message }).toEqual({ token, position, message });
    expect(query.startsWith(token, position)).toBe(true);
  });
});
