// Splits a search query into tokens, each with the 0-based offset (UTF-16 code units) where it
// starts, so every error can point at the text that caused it.
//
// Lexical rules:
// - Whitespace separates terms; `(` and `)` are tokens of their own wherever they appear.
// - `-` at the start of a term negates it (`-actor:bob`, `-bob`, `-(a OR b)`); a lone `-` is an
//   error.
// - `name:`, `name>`, `name<`, `name=`, `name>=`, `name<=` at the start of a term (name =
//   `[A-Za-z_][A-Za-z0-9_]*`) is a field token; a value must follow with no space in between.
//   The value may itself contain `:`, `>`, `=`... (`source:http://x`), so it is read as a value
//   whatever it looks like, and `AND`/`OR` there are plain values.
// - A value is a double-quoted string (`\"` and `\\` are escapes; any other backslash is kept
//   as written, so `"C:\temp"` works) or an unquoted run of characters up to whitespace or `)`.
//   A `(` or `"` inside an unquoted run, and anything but whitespace or `)` right after a closing
//   quote, is an error rather than a silent split into two terms.
// - Unquoted `AND` and `OR` (uppercase) outside a value position are keywords.

import type { CompareOp } from './ast.js';
import { QuerySyntaxError } from './errors.js';

export type Operator = ':' | CompareOp;

export interface PunctuationToken {
  kind: 'lparen' | 'rparen' | 'and' | 'or' | 'not' | 'eof';
  /** `(`, `)`, `AND`, `OR`, `-`, or "" for the end of input. */
  text: string;
  position: number;
}

/** `actor:` — a field name and the operator right after it. */
export interface FieldToken {
  kind: 'field';
  text: string;
  position: number;
  name: string;
  op: Operator;
  opPosition: number;
}

export interface ValueToken {
  kind: 'value';
  /** As written, quotes and backslashes included. */
  text: string;
  position: number;
  /** Quotes removed, escapes resolved. */
  value: string;
  quoted: boolean;
}

export type Token = PunctuationToken | FieldToken | ValueToken;

const FIELD = /([A-Za-z_][A-Za-z0-9_]*)(>=|<=|:|>|<|=)/y;
const SPACE = /\s/;

const isSpace = (ch: string): boolean => SPACE.test(ch);

/** The whole character (code point) at `index`, for error tokens. */
const charAt = (text: string, index: number): string => String.fromCodePoint(text.codePointAt(index) ?? 0);

export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < query.length && isSpace(query[i]!)) i++;
    if (i >= query.length) break;
    const ch = query[i]!;
    if (ch === '(' || ch === ')') {
      tokens.push({ kind: ch === '(' ? 'lparen' : 'rparen', text: ch, position: i });
      i++;
      continue;
    }
    if (ch === '-') {
      const next = query[i + 1];
      if (next === undefined || isSpace(next)) throw new QuerySyntaxError('-', i, 'nothing to negate after');
      tokens.push({ kind: 'not', text: '-', position: i });
      i++;
      continue;
    }

    FIELD.lastIndex = i;
    const field = FIELD.exec(query);
    if (field) {
      const [text, name, op] = field as unknown as [string, string, Operator];
      tokens.push({ kind: 'field', text, position: i, name, op, opPosition: i + name.length });
      i += text.length;
      const next = query[i];
      if (next === undefined || isSpace(next) || next === '(' || next === ')') {
        throw new QuerySyntaxError(text, i - text.length, 'missing value after');
      }
      const value = readValue(query, i);
      tokens.push(value);
      i += value.text.length;
      continue;
    }

    const value = readValue(query, i);
    if (!value.quoted && (value.value === 'AND' || value.value === 'OR')) {
      tokens.push({ kind: value.value === 'AND' ? 'and' : 'or', text: value.text, position: i });
    } else {
      tokens.push(value);
    }
    i += value.text.length;
  }
  tokens.push({ kind: 'eof', text: '', position: query.length });
  return tokens;
}

/** Reads the value starting at `start` (which is neither whitespace nor a parenthesis). */
function readValue(query: string, start: number): ValueToken {
  if (query[start] === '"') return readQuoted(query, start);
  let end = start;
  while (end < query.length) {
    const ch = query[end]!;
    if (isSpace(ch) || ch === ')') break;
    if (ch === '(' || ch === '"') throw new QuerySyntaxError(ch, end);
    end++;
  }
  const text = query.slice(start, end);
  return { kind: 'value', text, position: start, value: text, quoted: false };
}

function readQuoted(query: string, start: number): ValueToken {
  let value = '';
  let i = start + 1;
  for (;;) {
    if (i >= query.length) throw new QuerySyntaxError('"', start, 'unterminated quote');
    const ch = query[i]!;
    if (ch === '"') break;
    const next = query[i + 1];
    if (ch === '\\' && (next === '"' || next === '\\')) {
      value += next;
      i += 2;
    } else {
      value += ch;
      i++;
    }
  }
  const end = i + 1;
  const after = query[end];
  if (after !== undefined && !isSpace(after) && after !== ')') {
    throw new QuerySyntaxError(charAt(query, end), end);
  }
  return { kind: 'value', text: query.slice(start, end), position: start, value, quoted: true };
}
