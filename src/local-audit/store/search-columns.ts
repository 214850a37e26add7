// The searchable copy of an event's field, as the events table's field columns hold it.
import { canonicalJson } from '../../merkle/index.js';
import type { SchemaField } from '../audit-schema.js';
import { normalizeTimestamp } from '../core/timestamp.js';

/**
 * What the service writes into a field's search column for an event value: datetimes normalised
 * (UTC, six fractional digits) so text order is time order, booleans as 0/1, objects as canonical
 * JSON, absent as NULL. EventStore.appendBatch inserts it, and the full audit (leaf-stream.ts)
 * expects it: one function, so the two cannot disagree.
 */
export function searchColumnValue(field: SchemaField, value: unknown): string | number | null {
  if (value === undefined || value === null) return null;
  if (field.type === 'datetime' && typeof value === 'string') return normalizeTimestamp(value) ?? value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' || typeof value === 'string') return value;
  return canonicalJson(value);
}
