// Verification results as the API shows them: one status per check, and the reasons for failures.
import type { EventVerification, Verification } from '../../merkle/index.js';
import { builder } from '../builder.js';

export const VerificationStatusEnum = builder.enumType('VerificationStatus', {
  description: "Outcome of one check the gateway made itself (never the upstream's claim).",
  values: {
    PASS: { description: 'The check was made and succeeded.' },
    FAIL: { description: 'The check was made and failed; see failures.' },
    NONE: { description: 'There was nothing to check (e.g. an unsigned event, an unpublished event).' },
  } as const,
});

const CHECKS = ['hash', 'membership', 'consistency', 'signature'] as const;

/** "membership: proof does not lead to the root" for each failed check. */
export function failureReasons(v: Partial<Record<(typeof CHECKS)[number], Verification>>): string[] {
  return CHECKS.flatMap((name) => {
    const check = v[name];
    return check?.status === 'FAIL' ? [`${name}: ${check.reason ?? 'failed'}`] : [];
  });
}

export const EventVerificationRef = builder.objectRef<EventVerification>('EventVerification').implement({
  description: 'What the gateway verified about one event, with src/merkle, against roots it fetched itself.',
  fields: (t) => ({
    hash: t.field({ type: VerificationStatusEnum, description: 'sha256 of the canonical envelope equals the event hash.', resolve: (v) => v.hash.status }),
    membership: t.field({
      type: VerificationStatusEnum,
      description: 'The membership proof leads from the event hash to the published root (or the unpublished root for unpublished events).',
      resolve: (v) => v.membership.status,
    }),
    consistency: t.field({
      type: VerificationStatusEnum,
      description: 'The published roots around the event (leaf_index and leaf_index+1) are consistent; NONE while unpublished.',
      resolve: (v) => v.consistency.status,
    }),
    signature: t.field({
      type: VerificationStatusEnum,
      description: 'The Ed25519 signature over the canonical event verifies; NONE for unsigned events.',
      resolve: (v) => v.signature.status,
    }),
    verified: t.boolean({
      description: 'True when no check failed (every check PASS or NONE).',
      resolve: (v) => failureReasons(v).length === 0,
    }),
    failures: t.stringList({ description: 'One line per failed check, naming the check and the reason.', resolve: (v) => failureReasons(v) }),
  }),
});
