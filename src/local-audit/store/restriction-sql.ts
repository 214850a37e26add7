// `search_restriction` ({field: [values]}): for every listed field the event's value must equal
// (exactly, case-sensitively) one of the listed values. Tenancy and similar limits ride on this,
// so it errs on the closed side: a field listed with no values matches nothing.

import { columnOperand, type FieldInfo, type FieldResolver } from '../query/fields.js';
import type { SqlFragment } from './query-sql.js';
import { normalizeTimestamp } from '../core/timestamp.js';
import { parseBoolean, parseInteger } from '../query/values.js';

/** A restriction naming an unknown field or holding a value its field cannot hold. */
export class SearchRestrictionError extends Error {
  override readonly name = 'SearchRestrictionError';

  /**
   * @param field the restriction key at fault
   * @param index position of the bad value in that field's list, when one value is at fault
   */
  constructor(
    readonly field: string,
    readonly index: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Compiles a search restriction to a WHERE expression. The input is taken as unknown JSON so a
 * request body can be passed straight in; throws SearchRestrictionError on unknown fields,
 * non-array lists and ill-typed values.
 */
export function compileRestriction(restriction: Readonly<Record<string, unknown>>, fields: FieldResolver): SqlFragment {
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
