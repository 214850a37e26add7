// `search_restriction` ({field: [values]}): for every listed field the event's value must equal
// (exactly, case-sensitively) one of the listed values. Tenancy and similar limits ride on this,
// so it errs on the closed side: a field listed with no values matches nothing. Each value is one
// bound parameter, so a restriction may list at most MAX_SEARCH_RESTRICTION_VALUES of them.

import { MAX_SEARCH_RESTRICTION_VALUES } from '../../wire/index.js';
import { columnOperand, type FieldInfo, type FieldResolver } from '../query/fields.js';
import type { SqlFragment } from './query-sql.js';
import { normalizeTimestamp } from '../core/timestamp.js';
import { parseBoolean, parseInteger } from '../query/values.js';

/**
 * A restriction naming an unknown field, holding a value its field cannot hold (code BadFormat),
 * or listing too many values (AboveMaxItems).
 */
export class SearchRestrictionError extends Error {
  override readonly name = 'SearchRestrictionError';

  /**
   * @param field the restriction key at fault; undefined when the restriction as a whole is
   * @param index position of the bad value in that field's list, when one value is at fault
   * @param code the service's validation code for the problem
   */
  constructor(
    readonly field: string | undefined,
    readonly index: number | undefined,
    message: string,
    readonly code: 'BadFormat' | 'AboveMaxItems' = 'BadFormat',
  ) {
    super(message);
  }
}

/**
 * Throws SearchRestrictionError (AboveMaxItems) when the restriction lists more than
 * MAX_SEARCH_RESTRICTION_VALUES values over all its fields; a field that alone lists more is
 * named. Keys that are not lists hold no values here (compileRestriction refuses them).
 *
 * @param name the request member the restriction came in, for the message
 */
export function checkRestrictionSize(restriction: Readonly<Record<string, unknown>>, name = 'search_restriction'): void {
  let total = 0;
  for (const [field, values] of Object.entries(restriction)) {
    if (!Array.isArray(values)) continue;
    if (values.length > MAX_SEARCH_RESTRICTION_VALUES) {
      throw new SearchRestrictionError(field, undefined, `${name}.${field} has more than ${MAX_SEARCH_RESTRICTION_VALUES} values (${values.length})`, 'AboveMaxItems');
    }
    total += values.length;
  }
  if (total > MAX_SEARCH_RESTRICTION_VALUES) {
    throw new SearchRestrictionError(undefined, undefined, `${name} has more than ${MAX_SEARCH_RESTRICTION_VALUES} values over all its fields (${total})`, 'AboveMaxItems');
  }
}

/**
 * Compiles a search restriction to a WHERE expression. The input is taken as unknown JSON so a
 * request body can be passed straight in; throws SearchRestrictionError on too many values (before
 * looking at any), unknown fields, non-array lists and ill-typed values.
 */
export function compileRestriction(restriction: Readonly<Record<string, unknown>>, fields: FieldResolver): SqlFragment {
  checkRestrictionSize(restriction);
  const clauses: SqlFragment[] = [];
  for (const [name, values] of Object.entries(restriction)) {
    const info = fields.get(name);
    if (!info) throw new SearchRestrictionError(name, undefined, `unknown field ${JSON.stringify(name)} in search_restriction`);
    if (!Array.isArray(values)) {
      throw new SearchRestrictionError(name, undefined, `search_restriction.${name} must be a list of values`);
    }
    if (values.length === 0) {
      clauses.push({ sql: '0', params: [] });
      continue;
    }
    const params = values.map((value, index) => {
      const converted = columnValue(info, value);
      if (converted === null) {
        throw new SearchRestrictionError(
          name,
          index,
          `search_restriction.${name}[${index}] is not a valid ${info.type} value: ${JSON.stringify(value) ?? String(value)}`,
        );
      }
      return converted;
    });
    clauses.push({ sql: `${columnOperand(info)} IN (${params.map(() => '?').join(', ')})`, params });
  }
  if (clauses.length === 0) return { sql: '1', params: [] };
  if (clauses.length === 1) return clauses[0]!;
  return { sql: `(${clauses.map((c) => c.sql).join(' AND ')})`, params: clauses.flatMap((c) => c.params) };
}

/** The value as the column stores it, or null when the field cannot hold it. */
function columnValue(info: FieldInfo, value: unknown): unknown {
  switch (info.type) {
    case 'string':
    case 'text':
    case 'string-unindexed':
      return typeof value === 'string' ? value : null;
    case 'datetime':
      return typeof value === 'string' ? normalizeTimestamp(value) : null;
    case 'integer':
      if (typeof value === 'number') return Number.isSafeInteger(value) ? value : null;
      return typeof value === 'string' ? parseInteger(value) : null;
    case 'boolean':
      if (typeof value === 'boolean') return value ? 1 : 0;
      return typeof value === 'string' ? parseBoolean(value) : null;
  }
}
