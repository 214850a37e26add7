// What the gateway knows about its upstream beyond one request: published roots (immutable, so
// cached across requests), the last root it verified (the next log's prev_root), and whether the
// upstream stores one event per leaf (the local service), which allows exact proof-shape checks.
import type { PublishedRoot } from '../audit-client/wire.js';

export class PublishedRootCache {
  private readonly roots = new Map<string, PublishedRoot>();

  // Bounded by entries: a root with its proof is a few KB, so this stays in the tens of MB.
  constructor(private readonly maxEntries = 10_000) {}

  private key(treeName: string | undefined, size: number): string {
    return `${treeName ?? ''}#${size}`;
  }

  get(size: number, treeName?: string): PublishedRoot | undefined {
    return this.roots.get(this.key(treeName, size)) ?? (treeName ? undefined : this.roots.get(this.key(undefined, size)));
  }

  /**
   * Remembers a root. The first root seen for a size is kept: a published root never changes, so
   * a later, different one is the upstream's claim to be checked against it, never a replacement
   * (otherwise one forged page would poison every later consistency check).
   */
  set(root: PublishedRoot): void {
    for (const key of [this.key(root.tree_name, root.size), this.key(undefined, root.size)]) {
      // Also under "any tree", since v1/root answers for the token's one tree.
      if (this.roots.has(key)) continue;
      if (this.roots.size >= this.maxEntries) this.roots.delete(this.roots.keys().next().value!);
      this.roots.set(key, root);
    }
  }
}

export interface UpstreamState {
  roots: PublishedRootCache;
  /** The upstream keeps one event per leaf (true for the local service; the cloud nests batches). */
  oneEventPerLeaf: boolean;
  /** The last unpublished root hash this gateway verified a log against (the next prev_root). */
  lastVerifiedRoot: string | undefined;
  /** Which tenant started an accepted request (tenant-bound callers may poll only their own). */
  requestTenants: BoundedMap<string, string>;
}

/** A Map that forgets its oldest entries past a size bound. */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    return this.map.get(key);
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, value);
  }
}

export function createUpstreamState(oneEventPerLeaf: boolean): UpstreamState {
  return { roots: new PublishedRootCache(), oneEventPerLeaf, lastVerifiedRoot: undefined, requestTenants: new BoundedMap(100_000) };
}
