// What the integrity monitor reports about the upstream's log as a whole, and the part of the
// monitor that requests use: read its status, and report tampering they found. The monitor
// (src/gateway/integrity-monitor.ts) implements it; the GraphQL schema depends on this only.
import type { AnchorKind } from './verified-history.js';

export type IntegrityState = 'OK' | 'FAILED' | 'UNKNOWN' | 'UNANCHORED';

/**
 * Check errors persist (persistentCheckError, /ready 503) once at least this many checks in a row
 * ended with one, the first more than this many check intervals ago. Three: an upstream restart,
 * a deploy or a short network outage passes within it (each check already retries its reads), and
 * one or two flaky answers never count; while an upstream that keeps every check from finishing
 * (an error, or a proof that never comes) is flagged within minutes at the default 30 s interval,
 * rather than freezing lastVerifiedSize unnoticed. Both a count and a span: a span alone would
 * count one failed check followed by a suspended process, a count alone a burst of checks asked
 * for on demand within one outage. Catch-up checks (behind the latest root) end without an error
 * and are not counted.
 */
export const PERSISTENT_CHECK_ERROR_INTERVALS = 3;

export interface IntegrityStatus {
  state: IntegrityState;
  /** Size of the newest root proven to extend the chain (null before the first one). */
  lastVerifiedSize: number | null;
  lastVerifiedRootHash: string | null;
  /** When the last check ended (RFC 3339), whatever its outcome. */
  lastCheckedAt: string | null;
  /**
   * When the last check ended that ran to the end without a checkError (null before the first).
   * A check that found an integrity failure does not count: it ended in FAILED.
   */
  lastSuccessfulCheckAt: string | null;
  /** The latest published size the last check saw; above lastVerifiedSize while catching up. */
  latestPublishedSize: number | null;
  /** Why the state is FAILED (or UNANCHORED). */
  failure: string | null;
  /** Why the last check could not finish (upstream unreachable…): not an integrity failure. */
  checkError: string | null;
  /** Checks in a row that ended with a checkError (0 once one does not). */
  checkErrors: number;
  /** When the first of those checks ended (null while checkErrors is 0). */
  checkErrorSince: string | null;
  /**
   * Set while check errors have persisted past the monitor's threshold (several checks in a row,
   * over several check intervals): the verified history is not being extended, and /ready is 503
   * with this. Null otherwise, a transient error included.
   */
  persistentCheckError: string | null;
  /** How the verified history was anchored: state-file, empty-log, trust-on-first-use, full-audit. */
  anchor: AnchorKind | null;
  /**
   * Answers that showed tampering without contradicting the history (events of another tenant…):
   * over every run of the gateway when it keeps an integrity state (the count is kept in the
   * state mark, beside the integrity key), since start otherwise.
   */
  tamperingEvidence: number;
  lastTamperingEvidence: string | null;
  /** When the last such answer came (RFC 3339). */
  lastTamperingEvidenceAt: string | null;
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
