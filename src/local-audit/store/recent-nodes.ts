// The lower tree nodes over the most recent leaves, kept in memory as they are appended.
//
// Searches answer newest first by default, so a first page's membership proofs mostly need the
// nodes over the last few thousand leaves, and every unpublished root needs the right edge. Those
// nodes are immutable once written (the tree only grows), so a copy can never go stale: one ring
// per level holds the last `leaves >> level` nodes of that level, a slot checked by its index.
// A node is kept as the bytes appended (or the hex read at start-up) and converted once, when
// first read the other way (proofs are hex; roots hash bytes).
import { bytesToHex, digestFromHex } from '../../merkle/index.js';

class LevelRing {
  readonly indexes: Float64Array;
  readonly hashes: Array<Uint8Array | undefined>;
  readonly hexes: Array<string | undefined>;

  constructor(readonly capacity: number) {
    this.indexes = new Float64Array(capacity).fill(-1);
    this.hashes = new Array<Uint8Array | undefined>(capacity);
    this.hexes = new Array<string | undefined>(capacity);
  }

  slot(index: number): number {
    return index % this.capacity;
  }
}

export class RecentNodes {
  private readonly rings: LevelRing[];

  /** Nodes of levels [0, levels) over the last `leaves` leaves (a power of two). */
  constructor(
    readonly levels: number,
    leaves: number,
  ) {
    this.rings = Array.from({ length: levels }, (_, level) => new LevelRing(Math.max(1, leaves >> level)));
  }

  /** Lowest index of `level` that a tree of `size` leaves keeps here. */
  firstKept(level: number, size: number): number {
    return Math.max(0, Math.floor(size / 2 ** level) - this.rings[level]!.capacity);
  }

  add(level: number, index: number, hash: Uint8Array | undefined, hex?: string): void {
    const ring = this.rings[level];
    if (!ring) return;
    const slot = ring.slot(index);
    ring.indexes[slot] = index;
    ring.hashes[slot] = hash;
    ring.hexes[slot] = hex;
  }

  /** The ring and slot holding node (level, index), or undefined when it is not kept. */
  private held(level: number, index: number): { ring: LevelRing; slot: number } | undefined {
    const ring = this.rings[level];
    if (!ring) return undefined;
    const slot = ring.slot(index);
    return ring.indexes[slot] === index ? { ring, slot } : undefined;
  }

  hash(level: number, index: number): Uint8Array | undefined {
    const at = this.held(level, index);
    if (!at) return undefined;
    return (at.ring.hashes[at.slot] ??= digestFromHex(at.ring.hexes[at.slot]!) ?? undefined);
  }

  hex(level: number, index: number): string | undefined {
    const at = this.held(level, index);
    if (!at) return undefined;
    return (at.ring.hexes[at.slot] ??= bytesToHex(at.ring.hashes[at.slot]!));
  }

  /**
   * The nodes of `level` with index in [first, last] that exist in a tree of `size` leaves, as
   * [index, hex], when every one of them is kept here; undefined when any must be read from disk.
   */
  range(level: number, first: number, last: number, size: number): Array<[number, string]> | undefined {
    if (level >= this.levels || first < this.firstKept(level, size)) return undefined;
    const end = Math.min(last, Math.floor(size / 2 ** level) - 1);
    const out: Array<[number, string]> = [];
    for (let index = first; index <= end; index++) {
      const hex = this.hex(level, index);
      if (hex === undefined) return undefined;
      out.push([index, hex]);
    }
    return out;
  }

  clear(): void {
    for (const ring of this.rings) {
      ring.indexes.fill(-1);
      ring.hashes.fill(undefined);
      ring.hexes.fill(undefined);
    }
  }
}
