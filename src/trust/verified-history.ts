// The gateway's verified history: the published roots it has proven, each one consistent with all
// before it, starting from an anchor. A root that an answer offers is only a claim until it equals
// a root of the same size here or is proven to extend them (root-prover.ts); a claim of a size held
// here with another hash is proof that the upstream serves two histories.
//
// Roots are kept sparse (a few per publication the gateway saw, not one per size) and bounded; the
// anchor and the newest root always stay. Each root may carry its last leaf (hash and arrival
// time): with it, one membership path of that leaf in a newer tree proves the newer root extends
// this one (src/merkle/extension.ts), so the history grows by one request, not one per size.

export interface LastLeaf {
  /** The leaf's value in the tree (the event hash), hex. */
  hash: string;
  /** The event's received_at exactly as stored, to find it again by a search from that time. */
  receivedAt: string;
}

export interface VerifiedRoot {
  size: number;
  rootHash: string;
  lastLeaf?: LastLeaf | undefined;
}

/** How the history got its first root. */
export type AnchorKind = 'state-file' | 'empty-log' | 'trust-on-first-use' | 'full-audit';

interface HistorySnapshot {
  treeName: string | undefined;
  anchor: AnchorKind | undefined;
  /** The root the chain starts from (null for an empty-log anchor until the first root). */
  first: VerifiedRoot | null;
  latest: VerifiedRoot | null;
  /** Why the upstream is known to have served another history (sticky), else null. */
  contradiction: string | null;
}

const DEFAULT_MAX_ROOTS = 20_000;

export class VerifiedHistory {
  private readonly roots = new Map<number, VerifiedRoot>();
  private treeName: string | undefined;
  private anchorKind: AnchorKind | undefined;
  private first: VerifiedRoot | undefined;
  private newest: VerifiedRoot | undefined;
  private contradictionReason: string | null = null;
  private heldReason: string | null = null;
  private readonly listeners = new Set<(event: 'extended' | 'contradiction') => void>();

  constructor(private readonly maxRoots = DEFAULT_MAX_ROOTS) {}

  get anchored(): boolean {
    return this.anchorKind !== undefined;
  }

  get anchor(): AnchorKind | undefined {
    return this.anchorKind;
  }

  get tree(): string | undefined {
    return this.treeName;
  }

  get contradiction(): string | null {
    return this.contradictionReason;
  }

  /**
   * Why no new anchor may be taken (trust on first use, a clean full audit), else null: the
   * history was contradicted, or what it was loaded from was refused. Anchoring then would start
   * a new chain from whatever the upstream shows now, and save it over the evidence.
   */
  get anchoringHeld(): string | null {
    return this.heldReason ?? this.contradictionReason;
  }

  /** Holds anchoring for `reason` (see anchoringHeld) for the life of this history. */
  holdAnchoring(reason: string): void {
    this.heldReason ??= reason;
  }

  /** Called after the history grows or is contradicted (the monitor persists and alarms). */
  onChange(listener: (event: 'extended' | 'contradiction') => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts the chain. `root` undefined anchors at an empty log: nothing was published when the
   * gateway first looked, so the first root it sees covers only events logged while it watched.
   */
  anchorAt(kind: AnchorKind, treeName: string | undefined, root: VerifiedRoot | undefined): void {
    if (this.anchoringHeld !== null) throw new Error(`the verified history cannot be anchored again: ${this.anchoringHeld}`);
    this.roots.clear();
    this.anchorKind = kind;
    this.treeName = treeName;
    this.first = undefined;
    this.newest = undefined;
    if (root) this.put(root);
    this.emit('extended');
  }

  get(size: number): VerifiedRoot | undefined {
    return this.roots.get(size);
  }

  latest(): VerifiedRoot | undefined {
    return this.newest;
  }

  earliest(): VerifiedRoot | undefined {
    return this.first;
  }

  /** The largest held root of at most `size` that knows its last leaf. */
  withLastLeafAtMost(size: number): VerifiedRoot | undefined {
    let best: VerifiedRoot | undefined;
    for (const root of this.roots.values()) {
      if (root.lastLeaf && root.size <= size && (!best || root.size > best.size)) best = root;
    }
    return best;
  }

  /** The largest held root of at most `size`. */
  atMost(size: number): VerifiedRoot | undefined {
    if (this.newest && this.newest.size <= size) return this.newest;
    let best: VerifiedRoot | undefined;
    for (const root of this.roots.values()) if (root.size <= size && (!best || root.size > best.size)) best = root;
    return best;
  }

  /** The smallest held root larger than `size`. */
  above(size: number): VerifiedRoot | undefined {
    let best: VerifiedRoot | undefined;
    for (const root of this.roots.values()) if (root.size > size && (!best || root.size < best.size)) best = root;
    return best;
  }

  /**
   * Adds a root the caller has proven consistent with this history (its tree name checked). A
   * root already held keeps its hash; a last leaf learned later is added to it. Two roots of one
   * size, each proven to extend this history, mean the upstream answered from two histories
   * (proofs that raced, each from answers of one of them): a contradiction, and thrown.
   */
  record(root: VerifiedRoot, treeName: string | undefined): void {
    if (!this.anchored) throw new Error('the verified history has no anchor');
    this.treeName ??= treeName;
    const held = this.roots.get(root.size);
    if (held) {
      if (held.rootHash !== root.rootHash) {
        const reason = `root(${root.size}) was proven as ${root.rootHash}, but the gateway verified ${held.rootHash} for that size: the audit service serves another history`;
        this.contradict(reason);
        throw new Error(reason);
      }
      if (!held.lastLeaf && root.lastLeaf) held.lastLeaf = root.lastLeaf;
      return;
    }
    const grew = !this.newest || root.size > this.newest.size;
    this.put(root);
    if (grew) this.emit('extended');
  }

  /** The upstream served something that contradicts this history (sticky). */
  contradict(reason: string): void {
    if (this.contradictionReason !== null) return;
    this.contradictionReason = reason;
    this.emit('contradiction');
  }

  snapshot(): HistorySnapshot {
    return {
      treeName: this.treeName,
      anchor: this.anchorKind,
      first: this.first ?? null,
      latest: this.newest ?? null,
      contradiction: this.contradictionReason,
    };
  }

  private put(root: VerifiedRoot): void {
    const copy = { ...root };
    this.roots.set(copy.size, copy);
    if (!this.first || copy.size < this.first.size) this.first = copy;
    if (!this.newest || copy.size > this.newest.size) this.newest = copy;
    if (this.roots.size > this.maxRoots) {
      // Forget the oldest roots in the middle; the anchor and the newest are what proofs start from.
      for (const size of this.roots.keys()) {
        if (this.roots.size <= this.maxRoots) break;
        if (size !== this.first.size && size !== this.newest.size) this.roots.delete(size);
      }
    }
  }

  private emit(event: 'extended' | 'contradiction'): void {
    for (const listener of this.listeners) listener(event);
  }
}
