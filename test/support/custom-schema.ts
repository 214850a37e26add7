// A custom event schema with one field of every type the service supports, shared by the suites
// that run the local service and the gateway over a custom schema.
import type { AuditSchema } from '../../src/local-audit/index.js';

export const SCHEMA: AuditSchema = {
  fields: [
    { id: 'message', name: 'Message', type: 'text', required: true },
    { id: 'who', name: 'Who', type: 'string', size: 10 },
    { id: 'count', name: 'Count', type: 'integer' },
    { id: 'happened_at', name: 'Happened at', type: 'datetime' },
    { id: 'ok', name: 'OK', type: 'boolean' },
    { id: 'note', name: 'Note', type: 'string-unindexed', size: 20, description: 'kept, not searched by bare values' },
  ],
};
