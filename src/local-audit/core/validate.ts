// Declarative validation of request bodies with the service's error codes. Each endpoint declares
// its fields; the validator counts every problem (not just the first) and lists the first
// MAX_LISTED_ERRORS with a JSON pointer.
import { listing, UNLISTED_ERROR, type FieldError, validationError } from './errors.js';

export type FieldSpec =
  | { type: 'string'; required?: boolean; maxLength?: number; minLength?: number; enum?: readonly string[] }
  | { type: 'integer'; required?: boolean; min?: number; max?: number }
  | { type: 'boolean'; required?: boolean }
  | { type: 'object'; required?: boolean }
  | { type: 'array'; required?: boolean; minItems?: number; maxItems?: number }
  | { type: 'any'; required?: boolean };

export interface BodySpec {
  fields: Record<string, FieldSpec>;
  /** Endpoints that accept extra keys (the real service: v1/results, v2/log, v2/log_async, v1/log_stream). */
  allowUnknown?: boolean;
}

const COMMON_FIELDS: Record<string, FieldSpec> = { config_id: { type: 'string', maxLength: 128 } };

export function pointer(...parts: Array<string | number>): string {
  return parts.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isInteger(value)) return 'integer';
  return typeof value;
}

/** Checks one value against a spec, appending problems to `errors`. */
export function checkField(value: unknown, spec: FieldSpec, source: string, name: string, errors: FieldError[]): void {
  const actual = typeName(value);
  const wanted = spec.type;
  if (wanted === 'any') return;
  if (actual !== wanted && !(wanted === 'object' && actual === 'object')) {
    errors.push({ code: 'BadFormat', detail: `'${name}' must be of type ${wanted}, not ${actual}`, source });
    return;
  }
  if (spec.type === 'string') {
    const s = value as string;
    if (spec.maxLength !== undefined && s.length > spec.maxLength) {
      errors.push({ code: 'AboveMaxLength', detail: `'${name}' is longer than ${spec.maxLength} characters`, source });
    }
    if (spec.minLength !== undefined && s.length < spec.minLength) {
      errors.push({ code: 'BelowMinLength', detail: `'${name}' is shorter than ${spec.minLength} characters`, source });
    }
    if (spec.enum && !spec.enum.includes(s)) {
      errors.push({ code: 'NotEnumMember', detail: `'${name}' must be one of ${spec.enum.join(', ')}`, source });
    }
  } else if (spec.type === 'integer') {
    const n = value as number;
    if (spec.min !== undefined && n < spec.min) errors.push({ code: 'BelowMinimum', detail: `'${name}' must be at least ${spec.min}`, source });
    if (spec.max !== undefined && n > spec.max) errors.push({ code: 'AboveMaximum', detail: `'${name}' must be at most ${spec.max}`, source });
  } else if (spec.type === 'array') {
    const a = value as unknown[];
    if (spec.maxItems !== undefined && a.length > spec.maxItems) {
      errors.push({ code: 'AboveMaxItems', detail: `'${name}' has more than ${spec.maxItems} items`, source });
    }
    if (spec.minItems !== undefined && a.length < spec.minItems) {
      errors.push({ code: 'BelowMinItems', detail: `'${name}' needs at least ${spec.minItems} item(s)`, source });
    }
  }
}

/** Each spec with the common fields, merged once (specs are module constants). */
const mergedSpecs = new WeakMap<BodySpec, { fields: Record<string, FieldSpec>; entries: Array<[string, FieldSpec]> }>();

function merged(spec: BodySpec): { fields: Record<string, FieldSpec>; entries: Array<[string, FieldSpec]> } {
  let out = mergedSpecs.get(spec);
  if (!out) {
    const fields = { ...COMMON_FIELDS, ...spec.fields };
    out = { fields, entries: Object.entries(fields) };
    mergedSpecs.set(spec, out);
  }
  return out;
}

/** Validates a request body; throws a ValidationError counting every problem (listing the first ones). */
export function validateBody<T>(body: unknown, spec: BodySpec): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw validationError([{ code: 'BadFormat', detail: 'request body must be a JSON object', source: '' }]);
  }
  const errors: FieldError[] = [];
  const record = body as Record<string, unknown>;
  const { fields, entries } = merged(spec);
  for (const [name, fieldSpec] of entries) {
    const value = record[name];
    if (value === undefined) {
      if (fieldSpec.required) errors.push({ code: 'FieldRequired', detail: `'${name}' is required`, source: pointer(name) });
      continue;
    }
    checkField(value, fieldSpec, pointer(name), name, errors);
  }
  if (!spec.allowUnknown) {
    for (const name of Object.keys(record)) {
      // Own keys only: `in` also finds Object.prototype's members, so "__proto__", "constructor"
      // or "toString" passed as known fields.
      if (Object.hasOwn(fields, name)) continue;
      if (listing(errors)) errors.push({ code: 'UnexpectedProperty', detail: `'${name}' is not a property of this request`, source: pointer(name) });
      else errors.push(UNLISTED_ERROR);
    }
  }
  if (errors.length > 0) throw validationError(errors);
  return body as T;
}
