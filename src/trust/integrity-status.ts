// What the integrity monitor reports about the upstream's log as a whole, and the part of the
// monitor that requests use: read its status, and report tampering they found. The monitor
// (src/gateway/integrity-monitor.ts) implements it; the GraphQL schema depends on this only.
import type { AnchorKind } from './verified-history.js';

export type IntegrityState = 'OK' | 'FAILED' | 'UNKNOWN' | 'UNANCHORED';

export interface IntegrityStatus {
  state: IntegrityState;
  /** Size of the newest root proven to extend the chain (null before the first one). */
  lastVerifiedSize: number | null;
  lastVerifiedRootHash: string | null;
  /** When the last check ended (RFC 3339), whatever its outcome. */
  lastCheckedAt: string | null;
  /** The latest published size the last check saw; above lastVerifiedSize while catching up. */
  latestPublishedSize: number | null;
  /** Why the state is FAILED (or UNANCHORED). */
  failure: string | null;
  /** Why the last check could not finish (upstream unreachable…): not an integrity failure. */
  checkError: string | null;
  /** How the verified history was anchored: state-file, empty-log, trust-on-first-use, full-audit. */
  anchor: AnchorKind | null;
  /** Answers that showed tampering without contradicting the history (events of another tenant…). */
  tamperingEvidence: number;
  lastTamperingEvidence: string | null;
  /** The last full audit (null before the first, or when none is configured). */
  fullAudit: FullAuditStatus | null;
}

/** What the last full audit found (src/full-audit): every event rehashed, the tree rebuilt. */
export interface FullAuditStatus {
  /** When it ended (RFC 3339). */
  ranAt: string;
  /** It ran to the end and found nothing. */
  ok: boolean;
  events: number;
  treeSize: number;
  /** Findings counted (listed or not). */
  findings: number;
  /** The first findings, one line each. */
  firstFindings: string[];
  /** Why it could not run (then ok is false and nothing was found). */
  error: string | null;
}

/** The integrity monitor as requests see it. */
export interface IntegrityWatch {
  /** The monitor's current view (Query.integrity). */
  status(): IntegrityStatus;
  /** An answer showed tampering without contradicting a verified root (counted, logged, shown). */
  reportTampering(detail: string): void;
}
