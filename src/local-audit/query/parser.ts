// Recursive-descent parser: tokens -> AST.
//
//   query   := orExpr? EOF
//   orExpr  := andExpr ( "OR" andExpr )*
//   andExpr := unary ( "AND"? unary )*        -- juxtaposition is AND; AND binds tighter than OR
//   unary   := "-" unary | primary
//   primary := "(" orExpr ")" | FIELD VALUE | VALUE
//
// Parentheses are kept as written (no flattening across groups), so the AST mirrors the query.
// Size limits keep the generated SQL inside SQLite's expression-depth and parameter limits and
// bound the recursion here; exceeding them is reported like any other syntax error.

import { MATCH_ALL, type QueryNode } from './ast.js';
import { QuerySyntaxError } from './errors.js';
import { tokenize, type FieldToken, type Token, type ValueToken } from './lexer.js';

/** Most terms (field or bare values) one query may hold. */
export const MAX_TERMS = 256;
/** Deepest nesting of groups and negations. */
export const MAX_DEPTH = 32;

/** Parses a query. An empty or whitespace-only query matches everything (an empty `and`). */
export function parseQuery(query: string): QueryNode {
  return new Parser(tokenize(query)).parse();
}

class Parser {
  private index = 0;
  private terms = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): QueryNode {
    if (this.peek().kind === 'eof') return { ...MATCH_ALL, children: [] };
    const node = this.orExpr();
    const next = this.peek();
    // orExpr stops only at EOF or at a token it cannot use; the only such token left is `)`.
    if (next.kind !== 'eof') throw new QuerySyntaxError(next.text, next.position);
    return node;
  }

  private peek(): Token {
    // The token list always ends with EOF, and we never advance past it.
    return this.tokens[this.index]!;
  }

  private advance(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.index++;
    return token;
  }

  private orExpr(): QueryNode {
    const children = [this.andExpr()];
    while (this.peek().kind === 'or') {
      const or = this.advance();
      this.expectTermAfter(or);
      children.push(this.andExpr());
    }
    return children.length === 1 ? children[0]! : { type: 'or', children };
  }

  private andExpr(): QueryNode {
    const children = [this.unary()];
    for (;;) {
      const next = this.peek();
      if (next.kind === 'and') {
        this.advance();
        this.expectTermAfter(next);
      } else if (!startsTerm(next)) {
        break;
      }
      children.push(this.unary());
    }
    return children.length === 1 ? children[0]! : { type: 'and', children };
  }

  private unary(): QueryNode {
    const token = this.peek();
    if (token.kind === 'not') {
      this.advance();
      this.enter(token);
      const child = this.unary();
      this.depth--;
      return { type: 'not', child };
    }
    return this.primary();
  }

  private primary(): QueryNode {
    const token = this.advance();
    switch (token.kind) {
      case 'lparen': {
        this.enter(token);
        const close = this.peek();
        if (close.kind === 'rparen') throw new QuerySyntaxError(close.text, close.position, 'empty group, unexpected');
        if (close.kind === 'eof') throw new QuerySyntaxError(token.text, token.position, 'unclosed');
        const inner = this.orExpr();
        const end = this.advance();
        if (end.kind !== 'rparen') {
          // orExpr consumed every term it could, so only EOF can be here.
          throw new QuerySyntaxError(token.text, token.position, 'unclosed');
        }
        this.depth--;
        return inner;
      }
      case 'field':
        return this.fieldTerm(token);
      case 'value':
        this.countTerm(token);
        return {
          type: 'match',
          field: null,
          value: token.value,
          loc: { value: { text: token.text, position: token.position } },
        };
      case 'eof':
        // Reached only through "-" at the very end, which the lexer already rejects; kept
        // so the parser stays correct on its own.
        throw new QuerySyntaxError(token.text, token.position, 'unexpected end of query');
      default:
        throw new QuerySyntaxError(token.text, token.position);
    }
  }

  private fieldTerm(field: FieldToken): QueryNode {
    this.countTerm(field);
    // The lexer always emits the value right after its field token.
    const value = this.advance() as ValueToken;
    const loc = {
      field: { text: field.name, position: field.position },
      operator: { text: field.op, position: field.opPosition },
      value: { text: value.text, position: value.position },
    };
    if (field.op === ':') return { type: 'match', field: field.name, value: value.value, loc };
    return { type: 'compare', field: field.name, op: field.op, value: value.value, loc };
  }

  /** After AND/OR a term must follow; name the operator when the query ends instead. */
  private expectTermAfter(operator: Token): void {
    const next = this.peek();
    if (next.kind === 'eof') throw new QuerySyntaxError(operator.text, operator.position, 'missing term after');
    if (!startsTerm(next)) throw new QuerySyntaxError(next.text, next.position);
  }

  private enter(token: Token): void {
    if (++this.depth > MAX_DEPTH) {
      throw new QuerySyntaxError(token.text, token.position, `nesting deeper than ${MAX_DEPTH} levels at`);
    }
  }

  private countTerm(token: Token): void {
    if (++this.terms > MAX_TERMS) {
      throw new QuerySyntaxError(token.text, token.position, `more than ${MAX_TERMS} terms at`);
    }
  }
}

function startsTerm(token: Token): boolean {
  return token.kind === 'not' || token.kind === 'lparen' || token.kind === 'field' || token.kind === 'value';
}
