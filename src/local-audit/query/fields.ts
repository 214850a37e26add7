// How the compiler learns about fields without knowing the storage layout: the caller (the store)
// supplies a resolver from field names to trusted SQL expressions.

/** Field types of the standard schema and of custom schemas. */
export type FieldType = 'string' | 'text' | 'integer' | 'boolean' | 'datetime' | 'string-unindexed';

export interface FieldInfo {
  /**
   * A trusted SQL expression for the field's value, e.g. `e.actor` or
   * `json_extract(e.event_json,'$.count')`. It is inserted into SQL as is, so it must never come
   * from user input. NULL means the event has no such field. Expected values by type: text for
   * string-like types (compared with BINARY collation), SQLite integers for `integer`, 1/0 for
   * `boolean` (what json_extract yields for JSON true/false), and for `datetime` text
   * normalised by `normalizeTimestamp`.
   */
  column: string;
  type: FieldType;
  /** Whether a bare value (no `field:`) searches this field. */
  searchable: boolean;
}

export interface FieldResolver {
  /** The field called `name` (case-sensitive), or undefined when there is none. */
  get(name: string): FieldInfo | undefined;
  /** Every field; bare values search those marked searchable. */
  all(): FieldInfo[];
}

/** A resolver over a fixed table of fields (a Map inside, so names like `__proto__` are safe). */
export function createFieldResolver(fields: Readonly<Record<string, FieldInfo>>): FieldResolver {
  const byName = new Map(Object.entries(fields));
  const list = [...byName.values()];
  return {
    get: (name) => byName.get(name),
    all: () => list,
  };
}

/**
 * The column as the left operand of a binary operator, parenthesised so that a column expression
 * with operators of its own (`a || b`) keeps its meaning. SQLite drops redundant parentheses, so
 * indexes stay usable.
 */
export function columnOperand(info: FieldInfo): string {
  return `(${info.column})`;
}
