// What membership paths proved, kept for the events that come back. A page read again (a search
// run again, paging back, the live tail's re-checks) brings the same events with the same proofs,
// and deriving a path's roots (parsing a dozen hex digests, then folding them) is about half of
// a warm page's verification. pathRoots is a pure function of its input, so a kept result is
// reused only for exactly the input it was derived from. The leaf hash is the key (64 characters
// to hash, where the proof text is a dozen times longer), and the proof text, leaf index, tree
// size and mode must be equal too. A crafted input can at worst push other
// entries out (a miss derives the path again), never get a result derived from other input.
import { pathRoots, type PathRoots, type PathRootsInput } from './extension.js';

interface KeptPath {
  proof: string;
  leafIndex: number;
  treeSize: number;
  oneEventPerLeaf: boolean;
  roots: PathRoots;
}

export class PathRootsMemo {
  private readonly kept = new Map<string, KeptPath>();

  /** Keeps at most `limit` paths; the oldest is forgotten first. */
  constructor(private readonly limit: number) {
    if (!(Number.isSafeInteger(limit) && limit > 0)) throw new RangeError('PathRootsMemo: limit must be a positive integer');
  }

  get size(): number {
    return this.kept.size;
  }

  /**
   * pathRoots(input, hashPairFn), derived once per exact input. The roots of a kept result are
   * shared between callers: they are compared and formatted, never written into. Only paths that
   * hold are kept; a path that fails is derived again each time, for its reason.
   */
  derive(input: PathRootsInput, hashPairFn: (left: Uint8Array, right: Uint8Array) => Uint8Array): PathRoots {
    const { hash, proof } = input;
    if (typeof proof !== 'string') return pathRoots(input, hashPairFn);
    const known = this.kept.get(hash);
    if (
      known !== undefined &&
      known.proof === proof &&
      known.leafIndex === input.leafIndex &&
      known.treeSize === input.treeSize &&
      known.oneEventPerLeaf === input.oneEventPerLeaf
    ) {
      return known.roots;
    }
    const roots = pathRoots(input, hashPairFn);
    if (!roots.ok) return roots;
    // Re-inserted, not updated in place: the Map's order is the order of insertion, so the first
    // key is always the oldest one.
    if (known !== undefined) this.kept.delete(hash);
    else if (this.kept.size >= this.limit) this.kept.delete(this.kept.keys().next().value!);
    this.kept.set(hash, {
      proof,
      leafIndex: input.leafIndex,
      treeSize: input.treeSize,
      oneEventPerLeaf: input.oneEventPerLeaf,
      roots: Object.freeze(roots),
    });
    return roots;
  }
}
