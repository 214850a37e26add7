// The tree nodes one page of search results needs, read together. A page's membership proofs
// share most of their nodes, and its leaves are usually close together (results in time order),
// so the lower levels' siblings are read as one index range per level instead of one lookup each;
// anything else falls through to the store once and is remembered for the rest of the page.
import type { NodeSource } from '../../merkle/index.js';
import type { TreeStore } from './tree-store.js';

/** A level's sibling range is read in one go only when it is at most this many times the page. */
const MAX_SPREAD = 4;

export class PageNodes implements NodeSource {
  private readonly seen = new Map<number, Uint8Array>();

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
      if (last - first + 1 > MAX_SPREAD * leafIndexes.length) continue;
      for (const [idx, hash] of tree.range(level, first, last)) this.seen.set(key(level, idx), hash);
    }
  }

  node(level: number, index: number): Uint8Array {
    const k = key(level, index);
    let hash = this.seen.get(k);
    if (!hash) {
      hash = this.tree.node(level, index);
      this.seen.set(k, hash);
    }
    return hash;
  }
}

/** One exact number per node: level < 64, and index < 2^46 for any tree SQLite can hold. */
function key(level: number, index: number): number {
  return index * 64 + level;
}
