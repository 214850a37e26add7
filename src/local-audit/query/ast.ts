// The syntax tree of a search query. Leaves keep where their parts were written so that errors
// found later (unknown field, bad integer) can still name the token and its position.

/** Comparison operators, allowed on integer and datetime fields only. */
export type CompareOp = '>' | '<' | '=' | '>=' | '<=';

/** A piece of the query as written: raw text (quotes included) and its 0-based offset. */
export interface Span {
  text: string;
  position: number;
}

/** `field:value` (field set) or a bare `value` (field null, matches any searchable field). */
export interface MatchNode {
  type: 'match';
  field: string | null;
  /** The value with quotes removed and escapes resolved. */
  value: string;
  loc: { field?: Span; operator?: Span; value: Span };
}

/** `field>value`, `field<=value`, ... */
export interface CompareNode {
  type: 'compare';
  field: string;
  op: CompareOp;
  value: string;
  loc: { field: Span; operator: Span; value: Span };
}

/** All children must hold. No children means the empty query: matches everything. */
export interface AndNode {
  type: 'and';
  children: QueryNode[];
}

/** At least one child must hold (always two or more children). */
export interface OrNode {
  type: 'or';
  children: QueryNode[];
}

/** `-term` or `-(group)`. */
export interface NotNode {
  type: 'not';
  child: QueryNode;
}

export type QueryNode = AndNode | OrNode | NotNode | MatchNode | CompareNode;

/** The query that matches everything (what an empty query parses to). */
export const MATCH_ALL: AndNode = Object.freeze({ type: 'and', children: Object.freeze([]) as unknown as QueryNode[] });
