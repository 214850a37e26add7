// The matches of recent searches, kept by a search worker so that the same search over a grown log
// only has to look at the leaves added since. Committed leaves never change, so the matches of a
// query below tree size S are still its matches below S once the log has grown; only the leaves
// from S on are new. The one exception is the file changing under the service (another writer, a
// rolled-back append): the store's generation rises then, and entries of an older one are not used.
//
// Bounded by entries and by leaves held in all, least recently used first out.

export interface CachedMatches {
  /** The tree size the matches were found below. */
  treeSize: number;
  /** The matching leaf indexes in result order (at most max_results of them). Never mutated. */
  leaves: readonly number[];
}

interface Entry extends CachedMatches {
  generation: number;
}

export class MatchCache {
  private readonly entries = new Map<string, Entry>();
  private leavesHeld = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxLeaves: number,
  ) {}

  /** The matches kept for `key` in this generation of the store, if any. */
  get(key: string, generation: number): CachedMatches | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.generation !== generation) {
      this.delete(key, entry);
      return undefined;
    }
    // Map order is insertion order: re-inserting makes it the most recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Keeps `leaves` as the matches of `key` below `treeSize`, unless newer ones are kept already. */
  set(key: string, generation: number, treeSize: number, leaves: readonly number[]): void {
    if (leaves.length > this.maxLeaves) return;
    const old = this.entries.get(key);
    if (old) {
      if (old.generation === generation && old.treeSize >= treeSize) return;
      this.delete(key, old);
    }
    this.entries.set(key, { generation, treeSize, leaves });
    this.leavesHeld += leaves.length;
    for (const [oldestKey, oldest] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.leavesHeld <= this.maxLeaves) break;
      this.delete(oldestKey, oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private delete(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.leavesHeld -= entry.leaves.length;
  }
}
