// Every vector produced by the real service (and the documented negative cases) must give its
// expected outcome.
import {
  canonicalEnvelope,
  canonicalJson,
  verifyConsistency,
  verifyEnvelopeHash,
  verifyMembership,
  verifyMessageSignature,
  verifySignature,
  type Verification,
} from '../../src/merkle/index.js';
import { bytesToHex, hashPair, parseConsistencyItem } from '../../src/merkle/index.js';
import { loadVectors, type Vector } from '../support/vectors.js';

const outcome = (v: Verification): string => v.status.toLowerCase();
const ids = (file: string): Array<[string, Vector]> => loadVectors(file).map((v) => [v.id, v]);

describe('canonicalization vectors', () => {
  test.each(ids('canonicalization.json'))('%s', (_id, v) => {
    const input = v.input as Record<string, unknown>;
    const actual =
      v.mode === 'envelope'
        ? canonicalEnvelope(input as { event: Record<string, unknown> })
        : canonicalJson(input);
    expect(actual).toBe(v.expected_canonical);
  });
});

describe('hash vectors', () => {
  test.each(ids('hashes.json'))('%s', (_id, v) => {
    if (typeof v.expected_canonical === 'string') expect(canonicalJson(v.envelope)).toBe(v.expected_canonical);
    const result = verifyEnvelopeHash(v.envelope, v.hash as string);
    expect(outcome(result)).toBe(v.expected);
    if (result.status === 'FAIL') expect(result.reason).toBeTruthy();
  });
});

describe('membership vectors', () => {
  test.each(ids('membership.json'))('%s', (_id, v) => {
    const result = verifyMembership({
      hash: v.hash as string,
      proof: v.membership_proof as string,
      rootHash: v.root_hash as string,
    });
    expect(outcome(result)).toBe(v.expected);
    // Where the vector gives a position, the proof's tail must match it (the cloud nests a
    // per-batch tree under each leaf, so extra leading steps are allowed).
    if (v.expected === 'pass' && typeof v.leaf_index === 'number') {
      const positioned = verifyMembership({
        hash: v.hash as string,
        proof: v.membership_proof as string,
        rootHash: v.root_hash as string,
        position: { leafIndex: v.leaf_index, treeSize: v.tree_size as number },
      });
      expect(positioned.status).toBe('PASS');
    }
  });
});

describe('consistency vectors', () => {
  test.each(ids('consistency.json'))('%s', (_id, v) => {
    const input = {
      oldRootHash: v.old_root_hash as string,
      newRootHash: v.new_root_hash as string,
      proof: v.consistency_proof as string[],
    };
    expect(outcome(verifyConsistency(input))).toBe(v.expected);
    // With the sizes, the proof's shape is checked too; the outcome must not change.
    const sized = verifyConsistency({ ...input, sizes: { oldSize: v.old_size as number, newSize: v.new_size as number } });
    expect(outcome(sized)).toBe(v.expected);
  });
});

describe('signature vectors', () => {
  test.each(ids('signatures.json'))('%s', (_id, v) => {
    const result =
      v.kind === 'message'
        ? verifyMessageSignature(v.message as string, v.signature as string, v.public_key as string)
        : verifySignature({
            event: v.event,
            signature: v.signature as string | null,
            publicKey: v.public_key as string | null,
          });
    expect(outcome(result)).toBe(v.expected);
  });
});

describe('published root vectors', () => {
  test.each(ids('published_roots.json'))('%s', (_id, v) => {
    const root = v.root as { root_hash: string; size: number; consistency_proof: string[] };
    const checks: Verification[] = [];
    // Every x: subtree of the root's consistency proof must reach the root through its path,
    // and they must fold to the previous root derived from them.
    // Negative vectors carry no derived previous root: derive it by folding the x: subtrees, so
    // the check that remains is whether each subtree reaches the root through its path.
    const derivedPrev = (v.derived_prev_root_hash as string | undefined) ?? foldSubtrees(root.consistency_proof);
    checks.push(
      verifyConsistency({
        oldRootHash: derivedPrev,
        newRootHash: root.root_hash,
        proof: root.consistency_proof,
        sizes: { oldSize: root.size - 1, newSize: root.size },
      }),
    );
    for (const member of (v.members as Array<{ hash: string; membership_proof: string; leaf_index?: number }> | undefined) ?? []) {
      checks.push(
        verifyMembership({
          hash: member.hash,
          proof: member.membership_proof,
          rootHash: root.root_hash,
          ...(typeof member.leaf_index === 'number' ? { position: { leafIndex: member.leaf_index, treeSize: root.size } } : {}),
        }),
      );
    }
    const passed = checks.every((c) => c.status === 'PASS');
    expect(passed ? 'pass' : 'fail').toBe(v.expected);
  });
});

function foldSubtrees(proof: string[]): string {
  const subtrees = proof.map((item, i) => {
    const parsed = parseConsistencyItem(item, i);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value.subtree;
  });
  let folded = subtrees[0]!;
  for (const s of subtrees.slice(1)) folded = hashPair(s, folded);
  return bytesToHex(folded);
}
