// How the query compiler sees the events table: one resolver entry per schema field (its column),
// plus received_at. Column expressions are built from checked schema ids, never from user input.
import type { AuditSchema } from '../audit-schema.js';
import { createFieldResolver, type FieldInfo, type FieldResolver } from '../query/index.js';
import { fieldColumn } from './database.js';

export function searchFields(schema: AuditSchema): FieldResolver {
  const fields: Record<string, FieldInfo> = {};
  for (const field of schema.fields) {
    fields[field.id] = { column: `e."${fieldColumn(field.id)}"`, type: field.type, searchable: field.type !== 'string-unindexed' };
  }
  fields.received_at = { column: 'e.received_at', type: 'datetime', searchable: false };
  return createFieldResolver(fields);
}
