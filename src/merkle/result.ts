// The outcome of one verification check.

export type VerificationStatus = 'PASS' | 'FAIL' | 'NONE';

export interface Verification {
  status: VerificationStatus;
  /** Why the check failed, or why there was nothing to verify. */
  reason?: string;
}

export const PASS: Verification = Object.freeze({ status: 'PASS' });
export const fail = (reason: string): Verification => ({ status: 'FAIL', reason });
export const none = (reason: string): Verification => ({ status: 'NONE', reason });

/** Runs a check so that nothing thrown inside it escapes: an exception becomes a FAIL. */
export function guarded(check: () => Verification): Verification {
  try {
    return check();
  } catch (err) {
    return fail(`malformed input: ${err instanceof Error ? err.message : String(err)}`);
  }
}
