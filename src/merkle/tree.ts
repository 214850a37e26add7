// Tree maths for a left-balanced binary Merkle tree (RFC 6962 shape, audit hashing): roots,
// membership paths and consistency proofs for any size, computed from a source of perfect-subtree
// nodes. The local audit service backs the source with SQLite; tests and clients use MemoryTree.
import { hashPair } from './hash.js';
import type { ConsistencyItem, ProofStep } from './proof-format.js';

/**
 * A stored node: the root of a complete perfect subtree. Level 0 is leaf `index`, level k covers
 * leaves [index * 2^k, (index + 1) * 2^k).
 */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/**
 * The one Map key for a node: an exact number, since level < 64 and, for any tree of at most 2^53
 * leaves, index * 64 < 2^53. Takes the two numbers rather than a NodeId so that lookups on the
 * proof paths allocate nothing.
 */
export function nodeKey(level: NodeId['level'], index: NodeId['index']): number {
  return index * 64 + level;
}

/**
 * Reads the node (level, index) (see NodeId). Only nodes of complete subtrees are ever requested.
 * Two numbers rather than a NodeId: it is called once per proof step.
 */
export interface NodeSource {
  node(level: number, index: number): Uint8Array;
}

/** Largest power of two strictly less than n (n >= 2). */
export function splitPoint(n: number): number {
  if (n <= 2) return 1;
  // Path walks call this once per level; clz32 answers in one step for sizes up to 2^32.
  if (n <= 2 ** 32) return 0x80000000 >>> Math.clz32(n - 1);
  let k = 2 ** 32;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

function log2(n: number): number {
  return Math.round(Math.log2(n));
}

/** Subtree roots already worked out, by range (`lo:hi`): for callers that ask for many overlapping ones. */
export type KnownRoots = Map<string, Uint8Array>;

/**
 * Root of the leaves [lo, hi), which must be a subtree of the left-balanced tree. With `known`,
 * each range is worked out (and each node read) once across calls that share it.
 */
export function subtreeRoot(source: NodeSource, lo: number, hi: number, known?: KnownRoots): Uint8Array {
  const size = hi - lo;
  if (size < 1) throw new RangeError(`empty range [${lo}, ${hi})`);
  const key = known === undefined ? undefined : `${lo}:${hi}`;
  const kept = key === undefined ? undefined : known!.get(key);
  if (kept !== undefined) return kept;
  let hash: Uint8Array;
  if (isPerfectRange(lo, hi)) hash = source.node(log2(size), lo / size);
  else {
    const k = splitPoint(size);
    hash = hashPair(subtreeRoot(source, lo, lo + k, known), subtreeRoot(source, lo + k, hi, known));
  }
  if (key !== undefined) known!.set(key, hash);
  return hash;
}

/** Root hash of the first `size` leaves. */
export function treeRoot(source: NodeSource, size: number): Uint8Array {
  return subtreeRoot(source, 0, size);
}

function checkSize(index: number, size: number): void {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`invalid tree size ${size}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`index ${index} is outside a tree of size ${size}`);
  }
}

/** One step of a path as a range of leaves: the sibling subtree [lo, hi), left or right of it. */
export interface SiblingRange {
  side: 'l' | 'r';
  lo: number;
  hi: number;
}

/**
 * The walk that siblingRanges, expectedSides and sidesMatch share: from the root of the tree of
 * `size` leaves down to the subtree [lo, lo + width), calling `step` with each sibling subtree
 * [siblingLo, siblingHi) top-down (side: the side it lies on). Returns whether [lo, lo + width) is
 * a node of that tree; a `step` that returns false stops the walk, which then returns false.
 */
function walkToNode(
  lo: number,
  width: number,
  size: number,
  step: (side: 'l' | 'r', siblingLo: number, siblingHi: number) => boolean | void,
): boolean {
  let start = 0;
  let end = size;
  while (end - start > width) {
    const k = splitPoint(end - start);
    if (lo < start + k) {
      if (step('r', start + k, end) === false) return false;
      end = start + k;
    } else {
      if (step('l', start, start + k) === false) return false;
      start += k;
    }
  }
  return start === lo && end - start === width;
}

/**
 * The sibling subtrees (bottom-up) on the path from the subtree [lo, lo + width) — a node of the
 * tree — to the root of the tree of `size` leaves: where each proof hash comes from, before any
 * node is read.
 */
export function siblingRanges(lo: number, width: number, size: number): SiblingRange[] {
  const steps: SiblingRange[] = [];
  const reached = walkToNode(lo, width, size, (side, siblingLo, siblingHi) => {
    steps.push({ side, lo: siblingLo, hi: siblingHi });
  });
  if (!reached) throw new RangeError(`[${lo}, ${lo + width}) is not a node of a tree of size ${size}`);
  return steps.reverse();
}

/** Is [lo, hi) one stored node (a complete, aligned perfect subtree)? Then it is `perfectNode`. */
export function isPerfectRange(lo: number, hi: number): boolean {
  const size = hi - lo;
  return isPowerOfTwo(size) && lo % size === 0;
}

/** The node of the perfect subtree [lo, hi). */
export function perfectNode(lo: number, hi: number): NodeId {
  const size = hi - lo;
  return { level: log2(size), index: lo / size };
}

/**
 * Path (bottom-up) from the subtree [lo, lo + width) — a node of the tree — to the root of the tree
 * of `size` leaves. Width 1 gives a leaf's membership path.
 */
export function nodePath(source: NodeSource, lo: number, width: number, size: number, known?: KnownRoots): ProofStep[] {
  return siblingRanges(lo, width, size).map((s) => ({ side: s.side, hash: subtreeRoot(source, s.lo, s.hi, known) }));
}

/** Membership path of leaf `index` in the tree of `size` leaves. */
export function membershipPath(source: NodeSource, index: number, size: number): ProofStep[] {
  checkSize(index, size);
  return nodePath(source, index, 1, size);
}

/** The aligned perfect blocks that make up [0, size), left to right, as [lo, width]. */
export function perfectBlocks(size: number): Array<[number, number]> {
  const blocks: Array<[number, number]> = [];
  let lo = 0;
  for (let bit = 2 ** Math.floor(Math.log2(size)); bit >= 1; bit /= 2) {
    if (Math.floor(size / bit) % 2 === 1) {
      blocks.push([lo, bit]);
      lo += bit;
    }
  }
  return blocks;
}

/**
 * Consistency proof from the tree of `oldSize` leaves to the tree of `newSize` leaves: for each
 * perfect block of the old tree, right-most (smallest) first, its root and its path in the new tree.
 */
export function consistencyProof(source: NodeSource, oldSize: number, newSize: number): ConsistencyItem[] {
  if (!Number.isSafeInteger(oldSize) || oldSize < 1) throw new RangeError(`invalid old size ${oldSize}`);
  if (!Number.isSafeInteger(newSize) || newSize < oldSize) {
    throw new RangeError(`new size ${newSize} is smaller than old size ${oldSize}`);
  }
  // The paths of the old tree's blocks climb to the same root: most of their sibling subtrees are
  // shared, so each is worked out once (n-1 to n over 130,000 leaves: about 75 node reads became 10).
  const known: KnownRoots = new Map();
  return perfectBlocks(oldSize)
    .reverse()
    .map(([lo, width]) => ({
      subtree: subtreeRoot(source, lo, lo + width, known),
      path: nodePath(source, lo, width, newSize, known),
    }));
}

/** Expected side letters (bottom-up) of the path of [lo, lo+width) in a tree of `size` leaves. */
export function expectedSides(lo: number, width: number, size: number): string {
  let sides = '';
  const reached = walkToNode(lo, width, size, (side) => {
    sides = side + sides;
  });
  return reached ? sides : '?';
}

/**
 * Do the side letters of `steps` (bottom-up) equal the path of the node [lo, lo + width) in a tree
 * of `size` leaves (`exact`), or end with it (extra leading steps allowed)? Same answer as
 * comparing against expectedSides, without building strings.
 */
export function sidesMatch(
  steps: readonly { side: string }[],
  lo: number,
  width: number,
  size: number,
  exact: boolean,
): boolean {
  // The walk is top-down and steps are bottom-up: compare from the last step backwards.
  let k = steps.length;
  const reached = walkToNode(lo, width, size, (side) => k > 0 && steps[--k]!.side === side);
  return reached && (!exact || k === 0);
}

/**
 * Could `steps` (bottom-up) be the path of the perfect node [lo, lo + width) in a tree (RFC 6962
 * shape) of some size of at least `minSize` leaves? Climbing, a node whose index at its level is
 * odd is a right child, whose sibling (always there) is on its left: an `l:` step. An even one is
 * a left child: an `r:` step while a right sibling exists. On the tree's right edge there is none:
 * the node is lifted without a step, and every step above is an `l:`; lifting there means the
 * tree ends at the node's end, which must not be before `minSize`. The path ends at the root,
 * with no right child left to climb out of, and the root must reach `minSize` leaves.
 */
export function pathFitsNode(steps: readonly { side: string }[], lo: number, width: number, minSize: number): boolean {
  let i = lo / width;
  let span = width;
  let rightEdge = false;
  for (const { side } of steps) {
    if (side === 'r') {
      if (rightEdge || i % 2 === 1) return false;
      i /= 2;
      span *= 2;
      continue;
    }
    if (i % 2 === 0) {
      // An `l:` above a left child: it was lifted to the first right child above it, so no leaf
      // lies past its end.
      if (i === 0 || (!rightEdge && (i + 1) * span < minSize)) return false;
      rightEdge = true;
      while (i % 2 === 0) {
        i /= 2;
        span *= 2;
      }
    }
    i = (i - 1) / 2;
    span *= 2;
  }
  return i === 0 && span >= minSize;
}

/**
 * An append-only in-memory tree that keeps every complete perfect subtree node, so any root,
 * path or proof costs O(log n) hashes at most. Used by clients, tests and benchmarks.
 */
export class MemoryTree implements NodeSource {
  private readonly levels: Uint8Array[][] = [[]];

  get size(): number {
    return this.levels[0]!.length;
  }

  append(leaf: Uint8Array): number {
    const index = this.size;
    this.levels[0]!.push(leaf);
    // Complete every perfect subtree that this leaf closes.
    let level = 0;
    let i = index;
    while (i % 2 === 1) {
      const nodes = this.levels[level]!;
      const parent = hashPair(nodes[i - 1]!, nodes[i]!);
      level++;
      i = (i - 1) / 2;
      (this.levels[level] ??= []).push(parent);
    }
    return index;
  }

  node(level: number, index: number): Uint8Array {
    const hash = this.levels[level]?.[index];
    if (!hash) throw new RangeError(`no complete node at level ${level}, index ${index}`);
    return hash;
  }

  root(size = this.size): Uint8Array {
    return treeRoot(this, size);
  }
}
