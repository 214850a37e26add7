// The Merkle tree rebuilt one leaf at a time in O(log n) memory: only the roots of the perfect
// subtrees that make up the leaves so far (one per set bit of the size, largest first), which is
// all a root of the current size needs. Same shape and hashing as src/merkle/tree.ts (RFC 6962
// split, sha256(left || right), no domain separation).
import { hashPair } from '../merkle/index.js';

export class StreamingTree {
  /** Roots of the perfect subtrees covering [0, size), left to right (strictly decreasing sizes). */
  private readonly stack: Uint8Array[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  append(leaf: Uint8Array): void {
    let node = leaf;
    // Each trailing 1 bit of the old size is a perfect subtree of the new leaf's size class: merge.
    for (let n = this.count; n % 2 === 1; n = (n - 1) / 2) node = hashPair(this.stack.pop()!, node);
    this.stack.push(node);
    this.count++;
  }

  /** Root of the leaves so far (undefined while empty): the subtree roots folded right to left. */
  root(): Uint8Array | undefined {
    let i = this.stack.length - 1;
    if (i < 0) return undefined;
    let root = this.stack[i]!;
    while (--i >= 0) root = hashPair(this.stack[i]!, root);
    return root;
  }
}
