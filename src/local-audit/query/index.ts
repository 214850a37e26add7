// The search query language of the local audit service: tokens, the parser, the AST and its cost
// bound, and the fields the store describes. The SQL it compiles to lives in store/query-sql.ts and
// store/restriction-sql.ts.
export type { AndNode, CompareNode, CompareOp, MatchNode, NotNode, OrNode, QueryNode, Span } from './ast.js';
export { MATCH_ALL } from './ast.js';
export { QuerySyntaxError } from './errors.js';
export { tokenize, type Token, type Operator, type FieldToken, type ValueToken, type PunctuationToken } from './lexer.js';
export { parseQuery, MAX_DEPTH, MAX_TERMS } from './parser.js';
export { checkQueryCost, MAX_FIELD_TESTS, MAX_OR_WIDTH } from './cost.js';
export { createFieldResolver, columnOperand, type FieldInfo, type FieldResolver, type FieldType } from './fields.js';
// Query values are compared with the stored timestamps, so they share the store's one parser.
export { normalizeTimestamp, normalizeTimestampBound } from '../core/timestamp.js';
export { parseInteger, parseBoolean } from './values.js';
