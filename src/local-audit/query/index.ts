// The search query language of the local audit service: parse a query, compile it (or a
// search_restriction) to parameterised SQL over fields the store describes.
export type { AndNode, CompareNode, CompareOp, MatchNode, NotNode, OrNode, QueryNode, Span } from './ast.js';
export { MATCH_ALL } from './ast.js';
export { QuerySyntaxError } from './errors.js';
export { tokenize, type Token, type Operator, type FieldToken, type ValueToken, type PunctuationToken } from './lexer.js';
export { parseQuery, MAX_DEPTH, MAX_TERMS } from './parser.js';
export { checkQueryCost, MAX_FIELD_TESTS, MAX_OR_WIDTH } from './cost.js';
export { compileAst, compileQuery, type SqlFragment } from './compile-sql.js';
export { compileRestriction, SearchRestrictionError } from './restriction.js';
export { createFieldResolver, columnOperand, type FieldInfo, type FieldResolver, type FieldType } from './fields.js';
// Query values are compared with the stored timestamps, so they share the store's one parser.
export { normalizeTimestamp, normalizeTimestampBound } from '../core/timestamp.js';
export { parseInteger, parseBoolean } from './values.js';
