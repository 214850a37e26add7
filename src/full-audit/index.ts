// The full audit of the upstream log as a library: in this process (runFullAudit), in a child
// process (runFullAuditProcess), or over any source of leaves (auditSource).
export { runFullAudit, fullAuditOptionsFromEnv, type FullAuditOptions } from './run.js';
export { runFullAuditProcess, FullAuditRunError } from './process.js';
export { auditSource, type AuditCoreOptions } from './core.js';
export { openEmbeddedSource } from './embedded-source.js';
export { openRemoteSource, type RemoteSourceOptions } from './remote-source.js';
export { readVerifiedRoots, type VerifiedRoot } from './verified-roots.js';
export { formatSummary } from './summary.js';
export {
  FINDING_KINDS,
  type AuditProgress,
  type AuditSource,
  type Finding,
  type FindingKind,
  type FullAuditReport,
  type LeafChunk,
  type LeafRecord,
  type RootRecord,
  type TreeLeafRecord,
} from './types.js';
