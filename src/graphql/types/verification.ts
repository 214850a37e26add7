// Verification results as the API shows them: one status per check, one overall verdict with its
// reason, and the reasons for failures.
import type { Verification } from '../../merkle/index.js';
import { builder } from '../builder.js';
import type { GraphQLContext, VerificationCheck } from '../context.js';
import type { GatewayEventVerification } from '../page-verifier.js';

export const VerificationStatusEnum = builder.enumType('VerificationStatus', {
  description: "Outcome of one check the gateway made itself (never the upstream's claim).",
  values: {
    PASS: { description: 'The check was made and succeeded.' },
    FAIL: { description: 'The check was made and failed, or what it needed was asked for and withheld; see failures.' },
    NONE: {
      description:
        'The check does not apply (an unsigned event, no witness configured) or cannot be made yet (an unpublished event, a root not yet chained to the verified history): see verdictReason.',
    },
  } as const,
});

export const VerdictEnum = builder.enumType('Verdict', {
  description: 'What the gateway can say about an event as a whole.',
  values: {
    VERIFIED: {
      description:
        "Proven: hash, membership and consistency PASS against roots in the gateway's verified history (and the witness's copy, when one is configured); the signature PASS or the event is unsigned.",
    },
    PENDING: { description: 'Nothing failed, but something cannot be proven yet (an unpublished event, a root not yet chained, a witness that does not hold the root yet); see verdictReason.' },
    FAILED: { description: 'A check failed, or a hash, proof, root or flag the gateway asked for was withheld; see failures.' },
  } as const,
});

const CHECKS = ['hash', 'membership', 'consistency', 'signature', 'witness'] as const;

/** "membership: proof does not lead to the root" for each failed check. */
export function failureReasons(v: Partial<Record<(typeof CHECKS)[number], Verification>>): string[] {
  const reasons: string[] = [];
  for (const name of CHECKS) {
    const check = v[name];
    if (check?.status === 'FAIL') reasons.push(`${name}: ${check.reason ?? 'failed'}`);
  }
  return reasons;
}

/**
 * A check's status as resolved for the caller, counted on the way: the metrics count what callers
 * were given (under any alias, in any fragment), never data that merely looks like a verification.
 */
export function tallied<S extends string>(ctx: GraphQLContext, check: VerificationCheck, status: S): S {
  ctx.verificationTally?.count(check, status);
  return status;
}

export const EventVerificationRef = builder.objectRef<GatewayEventVerification>('EventVerification').implement({
  description: 'What the gateway verified about one event, with src/merkle, against roots it has proven itself.',
  fields: (t) => ({
    hash: t.field({ type: VerificationStatusEnum, description: 'sha256 of the canonical envelope equals the event hash.', resolve: (v, _args, ctx) => tallied(ctx, 'hash', v.hash.status) }),
    membership: t.field({
      type: VerificationStatusEnum,
      description: 'The membership proof leads from the event hash to the published root (or the unpublished root for unpublished events).',
      resolve: (v, _args, ctx) => tallied(ctx, 'membership', v.membership.status),
    }),
    consistency: t.field({
      type: VerificationStatusEnum,
      description:
        "The page's published root is in the gateway's verified history (or proven to extend it), and the published roots around the event (leaf_index and leaf_index+1) are the prefixes of it that the event's path proves; NONE while unpublished or not yet proven.",
      resolve: (v, _args, ctx) => tallied(ctx, 'consistency', v.consistency.status),
    }),
    signature: t.field({
      type: VerificationStatusEnum,
      description: 'The Ed25519 signature over the canonical event verifies (by a trusted key, when TRUSTED_SIGNING_KEYS_FILE lists them); NONE for unsigned events.',
      resolve: (v, _args, ctx) => tallied(ctx, 'signature', v.signature.status),
    }),
    witness: t.field({
      type: VerificationStatusEnum,
      description:
        'The independent witness (ROOT_WITNESS, e.g. Arweave) holds the same published root: every copy it lists for that tree and size was read, is mined and has the same root_hash. FAIL when a mined copy differs or is not a root record; NONE when no witness is configured, the event is unpublished, or the witness cannot vouch for the root yet (no copy yet, or a copy not mined, unreadable or beyond the pages read): see verdictReason.',
      resolve: (v, _args, ctx) => tallied(ctx, 'witness', v.witness.status),
    }),
    verdict: t.field({ type: VerdictEnum, description: 'VERIFIED, PENDING or FAILED: the checks taken together.', resolve: (v, _args, ctx) => tallied(ctx, 'verdict', v.verdict) }),
    verdictReason: t.string({ nullable: true, description: 'Why the verdict is PENDING or FAILED (the first check that is not proven, with its reason).', resolve: (v) => v.verdictReason ?? null }),
    verified: t.boolean({ description: 'True exactly when verdict is VERIFIED: proven, not merely "nothing failed".', resolve: (v) => v.verdict === 'VERIFIED' }),
    failures: t.stringList({ description: 'One line per failed check, naming the check and the reason.', resolve: (v) => failureReasons(v) }),
  }),
});
