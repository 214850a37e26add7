// The membership proofs of one page of results, built together. A page's proofs share most of
// their nodes, and its leaves are usually close together (results in time order), so the lower
// levels' siblings are read as one index range per level instead of one lookup each, and every
// node is read (and hex-encoded) once for the whole page. Proofs are hex on the wire, so nodes
// are read as hex; bytes are decoded only to hash a sibling that is not a stored node (the
// right edge of a tree whose size is not a power of two).
import { bytesToHex, digestFromHex, isPerfectRange, nodeKey, perfectNode, siblingRanges, subtreeRoot, type NodeSource } from '../../merkle/index.js';
import type { TreeStore } from './tree-store.js';

/** A level's sibling range is read in one go only when it is at most this many times the page. */
const MAX_SPREAD = 4;

export class PageProofs {
  /** Stored nodes by nodeKey(level, index), as lowercase hex. */
  private readonly nodes = new Map<number, string>();
  /** Roots of siblings that are not stored nodes, by "lo,hi". */
  private readonly computed = new Map<string, string>();
  /** The nodes as bytes, for hashing the roots of siblings that are not stored nodes. */
  private readonly bytes: NodeSource = {
    node: (level, index) => {
      const hex = this.nodeHex(level, index);
      const digest = digestFromHex(hex);
      if (!digest) throw new RangeError(`tree node (${level}, ${index}) is not a 32-byte digest`);
      return digest;
    },
  };

  constructor(
    private readonly tree: TreeStore,
    leafIndexes: readonly number[],
  ) {
    if (leafIndexes.length < 2) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (const leaf of leafIndexes) {
      lo = Math.min(lo, leaf);
      hi = Math.max(hi, leaf);
    }
    for (let level = 0; level < tree.uncachedLevels; level++) {
      // The siblings at this level lie within one node either side of the leaves' ancestors.
      const first = Math.max(0, Math.floor(lo / 2 ** level) - 1);
      const last = Math.floor(hi / 2 ** level) + 1;
      const rows =
        last - first + 1 <= MAX_SPREAD * leafIndexes.length
          ? tree.rangeHex(level, first, last)
          : // Leaves far apart (a selective search): read just each leaf's sibling at this level,
            // still one statement per level instead of a lookup per node and proof.
            tree.someHex(level, [...new Set(leafIndexes.map((leaf) => siblingIndex(Math.floor(leaf / 2 ** level))))]);
      for (const [idx, hex] of rows) this.nodes.set(nodeKey(level, idx), hex);
    }
  }

  /** "l:<hex>,r:<hex>,…" (bottom-up) for `leaf` in the tree of `size` leaves (the audit API's proof formats). */
  membershipProof(leaf: number, size: number): string {
    if (!Number.isSafeInteger(size) || size < 1 || !Number.isSafeInteger(leaf) || leaf < 0 || leaf >= size) {
      throw new RangeError(`index ${leaf} is outside a tree of size ${size}`);
    }
    let out = '';
    for (const step of siblingRanges(leaf, 1, size)) {
      out += `${out === '' ? '' : ','}${step.side}:${this.subtreeHex(step.lo, step.hi)}`;
    }
    return out;
  }

  private subtreeHex(lo: number, hi: number): string {
    if (isPerfectRange(lo, hi)) {
      const { level, index } = perfectNode(lo, hi);
      return this.nodeHex(level, index);
    }
    const k = `${lo},${hi}`;
    let hex = this.computed.get(k);
    if (hex === undefined) {
      hex = bytesToHex(subtreeRoot(this.bytes, lo, hi));
      this.computed.set(k, hex);
    }
    return hex;
  }

  private nodeHex(level: number, index: number): string {
    const k = nodeKey(level, index);
    let hex = this.nodes.get(k);
    if (hex === undefined) {
      hex = this.tree.nodeHex(level, index);
      this.nodes.set(k, hex);
    }
    return hex;
  }
}

/** The other child of the same parent (arithmetic, not `^ 1`: indexes may pass 2^31). */
function siblingIndex(index: number): number {
  return index % 2 === 0 ? index + 1 : index - 1;
}
