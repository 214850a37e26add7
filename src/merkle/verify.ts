// Verification of event hashes, membership proofs and consistency proofs. Each check returns
// PASS / FAIL / NONE with a reason and never throws on malformed input.
import { canonicalParsedJson } from './canonical-parsed.js';
import { sha256HexOfString, hashPair } from './hash.js';
import { bytesEqual, digestFromHex } from './hex.js';
import { parseConsistencyItem, parseMembershipProof, type ConsistencyItem, type ProofStep } from './proof-format.js';
import { PASS, fail, guarded, none, type Verification } from './result.js';
import { pathFitsNode, perfectBlocks, sidesMatch } from './tree.js';

/** Folds a leaf (or subtree) hash through a bottom-up path. */
export function foldPath(start: Uint8Array, steps: readonly ProofStep[], hashPairFn = hashPair): Uint8Array {
  let h = start;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    h = step.side === 'l' ? hashPairFn(step.hash, h) : hashPairFn(h, step.hash);
  }
  return h;
}

/**
 * Does the stored hash match sha256(canonical(envelope))? An empty hash is NONE. The envelope is
 * what JSON.parse gave (an upstream answer), so its canonical JSON takes the parsed-value path;
 * `sha256Hex` replaces the pure-JS SHA-256 (a server can pass a native one).
 */
export function verifyEnvelopeHash(envelope: unknown, hash: string | null | undefined, sha256Hex: (text: string) => string = sha256HexOfString): Verification {
  if (!hash) return none('no hash to verify');
  if (typeof hash !== 'string') return fail('stored hash is not a string');
  if (envelope === null || typeof envelope !== 'object') return fail('envelope is missing');
  return guarded(() => {
    const computed = sha256Hex(canonicalParsedJson(envelope));
    return computed === hash.toLowerCase()
      ? PASS
      : fail(`envelope hash ${computed} does not match the stored hash ${hash}`);
  });
}

export interface MembershipInput {
  /** The event hash (hex). */
  hash: string | null | undefined;
  /** "l:<hex>,r:<hex>,…" bottom-up; "" is the empty path of a one-leaf tree. */
  proof: string | null | undefined;
  /** The root the proof should reach (hex). */
  rootHash: string | null | undefined;
  /**
   * Optional position check. The side letters of the proof's last steps must be those of leaf
   * `leafIndex` in a tree of `treeSize` leaves. With `oneEventPerLeaf` the proof must be exactly
   * that path; otherwise extra leading steps (a per-batch tree under the leaf, as the cloud
   * service builds) are allowed.
   */
  position?: { leafIndex: number; treeSize: number; oneEventPerLeaf?: boolean };
}

/**
 * Does the event hash, folded through its membership proof, reach the root? `hashPairFn` lets a
 * caller checking many proofs share a cache of interior hashes (verifyPage does).
 */
export function verifyMembership(input: MembershipInput, hashPairFn = hashPair): Verification {
  const { hash, proof, rootHash, position } = input;
  if (!hash) return none('no event hash');
  if (proof === null || proof === undefined) return none('no membership proof');
  if (!rootHash) return none('no root to verify against');
  return guarded(() => {
    const leaf = digestFromHex(hash);
    if (!leaf) return fail('event hash is not a 32-byte hex digest');
    const root = digestFromHex(rootHash);
    if (!root) return fail('root hash is not a 32-byte hex digest');
    const parsed = parseMembershipProof(proof);
    if (!parsed.ok) return fail(parsed.reason);
    if (position) {
      const shape = checkPosition(parsed.value, position.leafIndex, position.treeSize, position.oneEventPerLeaf ?? false);
      if (shape) return fail(shape);
    }
    return bytesEqual(foldPath(leaf, parsed.value, hashPairFn), root)
      ? PASS
      : fail('membership proof does not lead to the root');
  });
}

function checkPosition(steps: readonly ProofStep[], leafIndex: number, treeSize: number, exact: boolean): string | null {
  if (!Number.isSafeInteger(treeSize) || treeSize < 1 || !Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= treeSize) {
    return `leaf index ${leafIndex} is outside a tree of size ${treeSize}`;
  }
  return sidesMatch(steps, leafIndex, 1, treeSize, exact)
    ? null
    : `proof shape does not match leaf ${leafIndex} of a tree of size ${treeSize}`;
}

export interface ConsistencyInput {
  oldRootHash: string | null | undefined;
  newRootHash: string | null | undefined;
  /** The `x:<subtree>,<path>` items, smallest (right-most) old subtree first. */
  proof: readonly string[] | null | undefined;
  /** Optional sizes: when given, the proof's shape must be the one for oldSize -> newSize. */
  sizes?: { oldSize: number; newSize: number };
  /**
   * The old size alone, when the new one is not known (a log's answer gives its root, not its
   * size): each subtree's path must fit the place of that old block in some larger tree.
   */
  oldSize?: number;
}

/**
 * Does the proof show that the old root is a prefix of the new root? The subtree hashes must fold
 * to the old root, and each must reach the new root through its path.
 */
export function verifyConsistency(input: ConsistencyInput, hashPairFn = hashPair): Verification {
  const { oldRootHash, newRootHash, proof, sizes, oldSize } = input;
  if (!oldRootHash || !newRootHash) return none('no roots to compare');
  if (proof === null || proof === undefined) return none('no consistency proof');
  return guarded(() => {
    if (!Array.isArray(proof) || proof.length === 0) return fail('consistency proof is empty');
    if (proof.length > 64) return fail('consistency proof has too many items');
    const oldRoot = digestFromHex(oldRootHash);
    const newRoot = digestFromHex(newRootHash);
    if (!oldRoot) return fail('old root hash is not a 32-byte hex digest');
    if (!newRoot) return fail('new root hash is not a 32-byte hex digest');
    const items: ConsistencyItem[] = [];
    for (let i = 0; i < proof.length; i++) {
      const raw: unknown = proof[i];
      if (typeof raw !== 'string') return fail(`consistency item ${i} is not a string`);
      const parsed = parseConsistencyItem(raw, i);
      if (!parsed.ok) return fail(parsed.reason);
      items.push(parsed.value);
    }
    if (sizes) {
      const shape = checkConsistencyShape(items, sizes.oldSize, sizes.newSize);
      if (shape) return fail(shape);
    } else if (oldSize !== undefined) {
      const shape = checkConsistencyShapeFrom(items, oldSize);
      if (shape) return fail(shape);
    }
    let folded = items[0]!.subtree;
    for (let i = 1; i < items.length; i++) folded = hashPairFn(items[i]!.subtree, folded);
    if (!bytesEqual(folded, oldRoot)) return fail('consistency proof subtrees do not make up the old root');
    for (let i = 0; i < items.length; i++) {
      if (!bytesEqual(foldPath(items[i]!.subtree, items[i]!.path, hashPairFn), newRoot)) return fail(`consistency item ${i} does not lead to the new root`);
    }
    return PASS;
  });
}

/**
 * The shape a proof from `oldSize` must have whatever the new size: one item per perfect block of
 * the old tree, each block's path fitting its place. Without it a proof of one item `x:P,r:e,l:Z`
 * "extends" P to H(Z || H(P || e)), a tree with junk before the old one.
 */
function checkConsistencyShapeFrom(items: readonly ConsistencyItem[], oldSize: number): string | null {
  if (!Number.isSafeInteger(oldSize) || oldSize < 1) return `old size ${oldSize} is not valid`;
  const blocks = perfectBlocks(oldSize).reverse();
  if (blocks.length !== items.length) {
    return `a proof from size ${oldSize} has ${blocks.length} items, this one has ${items.length}`;
  }
  for (let i = 0; i < blocks.length; i++) {
    const [lo, width] = blocks[i]!;
    if (!pathFitsNode(items[i]!.path, lo, width, oldSize)) {
      return `consistency item ${i} cannot be the block of leaves ${lo}..${lo + width - 1} in a tree that extends size ${oldSize}`;
    }
  }
  return null;
}

function checkConsistencyShape(items: readonly ConsistencyItem[], oldSize: number, newSize: number): string | null {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 1 || newSize < oldSize) {
    return `sizes ${oldSize} -> ${newSize} are not a valid pair`;
  }
  const blocks = perfectBlocks(oldSize).reverse();
  if (blocks.length !== items.length) {
    return `a proof from size ${oldSize} has ${blocks.length} items, this one has ${items.length}`;
  }
  for (let i = 0; i < blocks.length; i++) {
    const [lo, width] = blocks[i]!;
    if (!sidesMatch(items[i]!.path, lo, width, newSize, true)) {
      return `consistency item ${i} has the wrong shape for sizes ${oldSize} -> ${newSize}`;
    }
  }
  return null;
}
