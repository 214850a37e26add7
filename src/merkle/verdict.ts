// One overall verdict from the individual checks. "Verified" must mean proven: a check that failed
// makes the event FAILED; a check that had to pass but could not be made yet (an unpublished event,
// a root not yet chained to the verified history, a witness that does not hold the root yet) makes
// it PENDING; only every required check passing makes it VERIFIED. Checks that do not apply (an
// unsigned event's signature, no witness configured) are NONE and block nothing.
import type { Verification } from './result.js';

export type Verdict = 'VERIFIED' | 'PENDING' | 'FAILED';

export interface VerdictOutcome {
  verdict: Verdict;
  /** Why the verdict is FAILED or PENDING: the first failed (or unproven) check and its reason. */
  reason?: string;
}

/**
 * `checks` in the order their reasons should be reported; `required` names the checks that must
 * PASS for VERIFIED (NONE there means "not proven yet"). Any FAIL, required or not, is FAILED.
 */
export function overallVerdict(checks: Readonly<Record<string, Verification>>, required: readonly string[]): VerdictOutcome {
  for (const [name, check] of Object.entries(checks)) {
    if (check.status === 'FAIL') return { verdict: 'FAILED', reason: `${name}: ${check.reason ?? 'failed'}` };
  }
  for (const name of required) {
    const check = checks[name];
    if (!check) return { verdict: 'PENDING', reason: `${name}: not checked` };
    if (check.status !== 'PASS') return { verdict: 'PENDING', reason: `${name}: ${check.reason ?? 'not proven yet'}` };
  }
  return { verdict: 'VERIFIED' };
}
