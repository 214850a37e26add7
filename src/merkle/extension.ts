// What one membership path proves beyond membership. The path of leaf k in the tree of size n,
// folded through its left siblings only, gives the root of the first k + 1 leaves: those siblings
// are exactly the perfect subtrees that make up [0, k). So one path both places the leaf in root n
// and proves that root(k + 1) is a prefix of root n. With k = m - 1 this is a consistency proof
// from size m to size n in a single request, instead of n - m one-step proofs.
import { hashPair } from './hash.js';
import { bytesEqual, bytesToHex, digestFromHex } from './hex.js';
import { parseMembershipProof, type ProofStep } from './proof-format.js';
import { PASS, fail, guarded, type Verification } from './result.js';
import { expectedSides } from './tree.js';
import { foldPath } from './verify.js';

export interface PathRootsInput {
  /** The leaf's hash (hex): an event hash, or for the cloud the event under a per-batch tree. */
  hash: string;
  /** "l:<hex>,r:<hex>,…" bottom-up, or already parsed steps. */
  proof: string | readonly ProofStep[];
  leafIndex: number;
  treeSize: number;
  /**
   * The upstream stores one event per leaf: the path must be exactly that of `leafIndex`. Without
   * it, leading steps (a per-batch tree under the leaf) are folded into the leaf first.
   */
  oneEventPerLeaf: boolean;
}

export type PathRoots = { ok: true; root: Uint8Array; prefixRoot: Uint8Array } | { ok: false; reason: string };

/** Root(treeSize) and root(leafIndex + 1) as the path proves them, or why the path cannot. */
export function pathRoots(input: PathRootsInput, hashPairFn = hashPair): PathRoots {
  const { leafIndex, treeSize } = input;
  if (!Number.isSafeInteger(treeSize) || !Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= treeSize) {
    return { ok: false, reason: `leaf ${leafIndex} is outside a tree of size ${treeSize}` };
  }
  const leaf = digestFromHex(input.hash);
  if (!leaf) return { ok: false, reason: 'leaf hash is not a 32-byte hex digest' };
  let steps: readonly ProofStep[];
  if (typeof input.proof === 'string') {
    const parsed = parseMembershipProof(input.proof);
    if (!parsed.ok) return { ok: false, reason: parsed.reason };
    steps = parsed.value;
  } else steps = input.proof;
  const sides = expectedSides(leafIndex, 1, treeSize);
  const inner = steps.length - sides.length;
  if (inner < 0 || (input.oneEventPerLeaf && inner !== 0)) {
    return { ok: false, reason: `proof shape does not match leaf ${leafIndex} of a tree of size ${treeSize}` };
  }
  for (let i = 0; i < sides.length; i++) {
    if (steps[inner + i]!.side !== sides[i]) return { ok: false, reason: `proof shape does not match leaf ${leafIndex} of a tree of size ${treeSize}` };
  }
  const outer = steps.slice(inner);
  const start = foldPath(leaf, steps.slice(0, inner), hashPairFn);
  let prefix = start;
  for (const step of outer) if (step.side === 'l') prefix = hashPairFn(step.hash, prefix);
  return { ok: true, root: foldPath(start, outer, hashPairFn), prefixRoot: prefix };
}

export interface ExtensionInput {
  /** The root already trusted (size m) and the hash of its last leaf (index m - 1). */
  oldSize: number;
  oldRootHash: string;
  lastLeafHash: string;
  /** That leaf's membership path in the newer tree (size n > m) and the newer tree's root. */
  proof: string | readonly ProofStep[];
  newSize: number;
  newRootHash: string;
  oneEventPerLeaf: boolean;
}

/** Does the path of leaf m - 1 in root n prove that root n extends root m? */
export function verifyExtension(input: ExtensionInput, hashPairFn = hashPair): Verification {
  return guarded(() => {
    if (!(input.newSize >= input.oldSize) || input.oldSize < 1) return fail(`sizes ${input.oldSize} -> ${input.newSize} are not an extension`);
    const roots = pathRoots(
      { hash: input.lastLeafHash, proof: input.proof, leafIndex: input.oldSize - 1, treeSize: input.newSize, oneEventPerLeaf: input.oneEventPerLeaf },
      hashPairFn,
    );
    if (!roots.ok) return fail(roots.reason);
    const oldRoot = digestFromHex(input.oldRootHash);
    const newRoot = digestFromHex(input.newRootHash);
    if (!oldRoot || !newRoot) return fail('root hash is not a 32-byte hex digest');
    if (!bytesEqual(roots.prefixRoot, oldRoot)) {
      return fail(`the path of leaf ${input.oldSize - 1} makes root(${input.oldSize}) ${bytesToHex(roots.prefixRoot)}, not the trusted ${input.oldRootHash}`);
    }
    if (!bytesEqual(roots.root, newRoot)) return fail(`the path of leaf ${input.oldSize - 1} does not lead to root(${input.newSize})`);
    return PASS;
  });
}
