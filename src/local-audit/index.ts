// The local audit service as a library: start it in-process (tests, the gateway's embedded mode).
export { startLocalAudit, type LocalAudit, type LocalAuditOptions } from './service.js';
export { STANDARD_SCHEMA, type AuditSchema, type SchemaField, type SchemaFieldType } from './audit-schema.js';
