// The active event schema: the standard audit schema, or a custom one loaded from a file. It
// drives event validation, the SQL columns that hold searchable fields, and v1/schema.
import { readFileSync } from 'node:fs';
import { STANDARD_SCHEMA_FIELDS } from '../wire/index.js';
import { listing, UNLISTED_ERROR, type FieldError } from './core/errors.js';
import { normalizeTimestamp } from './core/timestamp.js';
import { checkField, pointer, type FieldSpec } from './core/validate.js';

export type SchemaFieldType = 'string' | 'text' | 'integer' | 'boolean' | 'datetime' | 'string-unindexed';

export interface SchemaField {
  id: string;
  name?: string;
  type: SchemaFieldType;
  /** Maximum length for string-like fields. */
  size?: number;
  required?: boolean;
  description?: string;
}

export interface AuditSchema {
  tenant_id?: string;
  fields: SchemaField[];
}

/** The standard schema: the fields and descriptions of the wire contract's one list. */
export const STANDARD_SCHEMA: AuditSchema = { fields: STANDARD_SCHEMA_FIELDS.map((field) => ({ ...field })) };

const FIELD_ID = /^[a-z_][a-z0-9_]{0,63}$/;
const TYPES: readonly SchemaFieldType[] = ['string', 'text', 'integer', 'boolean', 'datetime', 'string-unindexed'];

/** Loads and checks a custom schema file: {"fields": [{"id", "type", "size"?, "required"?}]}. */
export function loadSchemaFile(path: string): AuditSchema {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read schema file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return checkSchema(parsed, path);
}

export function checkSchema(parsed: unknown, origin = 'schema'): AuditSchema {
  const fields = (parsed as { fields?: unknown } | null)?.fields;
  if (!Array.isArray(fields) || fields.length === 0) throw new Error(`${origin}: "fields" must be a non-empty array`);
  const seen = new Set<string>();
  for (const [i, f] of fields.entries()) {
    const field = f as Partial<SchemaField>;
    if (typeof field.id !== 'string' || !FIELD_ID.test(field.id)) throw new Error(`${origin}: fields[${i}].id must match ${FIELD_ID}`);
    if (seen.has(field.id)) throw new Error(`${origin}: duplicate field id "${field.id}"`);
    seen.add(field.id);
    if (!TYPES.includes(field.type as SchemaFieldType)) throw new Error(`${origin}: fields[${i}].type must be one of ${TYPES.join(', ')}`);
    if (field.size !== undefined && (!Number.isInteger(field.size) || field.size < 1)) throw new Error(`${origin}: fields[${i}].size must be a positive integer`);
  }
  return parsed as AuditSchema;
}

interface FieldCheck {
  field: SchemaField;
  spec: FieldSpec;
  /** The field's JSON pointer under the event. */
  suffix: string;
}

/** Per schema, made once: every event of a batch is checked against the same specs and pointers. */
const schemaChecks = new WeakMap<AuditSchema, { known: Set<string>; checks: FieldCheck[] }>();

function checksOf(schema: AuditSchema): { known: Set<string>; checks: FieldCheck[] } {
  let out = schemaChecks.get(schema);
  if (!out) {
    out = { known: new Set(schema.fields.map((f) => f.id)), checks: schema.fields.map((field) => ({ field, spec: specFor(field), suffix: pointer(field.id) })) };
    schemaChecks.set(schema, out);
  }
  return out;
}

function specFor(field: SchemaField): FieldSpec {
  switch (field.type) {
    case 'integer':
      return { type: 'integer' };
    case 'boolean':
      return { type: 'boolean' };
    case 'datetime':
      return { type: 'string' };
    default:
      return field.size !== undefined ? { type: 'string', maxLength: field.size } : { type: 'string' };
  }
}

/**
 * Validates one event against the schema, appending problems with pointers under `base`
 * (e.g. "/event" or "/events/3/event"). Events arrive already normalised by clients
 * (object-valued fields as JSON strings); an object value here is a client error.
 */
export function validateEvent(schema: AuditSchema, event: unknown, base: string, errors: FieldError[]): void {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    errors.push({ code: 'BadFormat', detail: 'event must be a JSON object', source: base });
    return;
  }
  const record = event as Record<string, unknown>;
  const { known, checks } = checksOf(schema);
  for (const { field, spec, suffix } of checks) {
    const value = record[field.id];
    const source = base + suffix;
    if (value === undefined) {
      if (field.required) errors.push({ code: 'FieldRequired', detail: `'${field.id}' is required`, source });
      continue;
    }
    const before = errors.length;
    checkField(value, spec, source, field.id, errors);
    // A datetime is valid when it normalises (core/timestamp.ts): the store keeps the normalised
    // form for search and order, so a value that cannot be normalised is refused here.
    if (errors.length === before && field.type === 'datetime' && normalizeTimestamp(value as string) === null) {
      errors.push({ code: 'BadFormat', detail: `'${field.id}' must be an RFC 3339 date-time`, source });
    }
  }
  for (const key of Object.keys(record)) {
    if (known.has(key)) continue;
    if (listing(errors)) errors.push({ code: 'UnexpectedProperty', detail: `'${key}' is not a field of the audit schema`, source: base + pointer(key) });
    else errors.push(UNLISTED_ERROR);
  }
}
