// The Merkle tree on SQLite: every complete perfect subtree node is stored once (level, idx), so
// the root and any proof for any size cost O(log n) lookups (plus the right edge). The right-most
// node of each level (the "frontier") is kept in memory so an append hashes only what it closes.
import { bytesToHex, hashPair, nodeKey, treeRoot, type NodeSource } from '../../merkle/index.js';
import type { Db } from './database.js';
import type Database from 'better-sqlite3';
import { RecentNodes } from './recent-nodes.js';

/** Leaves whose lower nodes stay in memory (store/recent-nodes.ts): ~3 MB. */
const RECENT_LEAVES = 8192;

export class TreeStore implements NodeSource {
  private readonly selectNode: Database.Statement<[number, number], Buffer>;
  private readonly selectRangeHex: Database.Statement<[number, number, number], [number, string]>;
  private readonly selectNodeHex: Database.Statement<[number, number], string>;
  private readonly selectSomeHex: Database.Statement<[number, string], [number, string]>;
  private readonly insertNode: Database.Statement<[number, number, Uint8Array]>;
  private readonly insertRun: Database.Statement<[{ level: number; first: number; last: number; hashes: Uint8Array }]>;
  private readonly dataVersion: Database.Statement<[], number>;
  /** data_version when the in-memory state was last read from disk. */
  private loadedVersion: number;
  /** frontier[level] = hash of node (level, floor(size / 2^level) - 1), when that node exists. */
  private frontier: Uint8Array[] = [];
  private treeSize: number;
  // Upper-level nodes are few and read by every proof: keep them in memory, by nodeKey(level, idx).
  private readonly cache = new Map<number, Uint8Array>();
  private static readonly CACHE_MIN_LEVEL = 6;
  /** The levels below CACHE_MIN_LEVEL over the most recent leaves. */
  private readonly recent: RecentNodes;
  /** The root asked for last (every search between two appends asks for the same one). */
  private lastRoot: { size: number; hash: Uint8Array } | undefined;

  /** `recentLeaves`: how many of the last leaves keep their lower nodes in memory (a power of two). */
  constructor(
    private readonly db: Db,
    recentLeaves = RECENT_LEAVES,
  ) {
    this.recent = new RecentNodes(TreeStore.CACHE_MIN_LEVEL, recentLeaves);
    // pluck/raw: the hash Buffer (a Uint8Array, freshly allocated) without a row object around it.
    this.selectNode = db.prepare<[number, number], Buffer>('SELECT hash FROM nodes WHERE level = ? AND idx = ?').pluck();
    // Proofs are hex on the wire: reading hex text skips a Buffer per node (allocating those cost
    // more than the index reads themselves).
    this.selectRangeHex = db.prepare<[number, number, number], [number, string]>('SELECT idx, lower(hex(hash)) FROM nodes WHERE level = ? AND idx BETWEEN ? AND ?').raw();
    this.selectNodeHex = db.prepare<[number, number], string>('SELECT lower(hex(hash)) FROM nodes WHERE level = ? AND idx = ?').pluck();
    this.selectSomeHex = db
      .prepare<[number, string], [number, string]>('SELECT idx, lower(hex(hash)) FROM nodes WHERE level = ? AND idx IN (SELECT value FROM json_each(?))')
      .raw();
    this.insertNode = db.prepare('INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)');
    // The new nodes of one level in one statement, their hashes as one blob that SQLite cuts into
    // 32-byte rows: the index is then written level after level, in order, instead of hopping
    // between levels node by node, and three values are bound per level instead of per node.
    this.insertRun = db.prepare(
      'WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < @last) ' +
        'INSERT INTO nodes (level, idx, hash) SELECT @level, @first + i, substr(@hashes, i * 32 + 1, 32) FROM n',
    );
    // Changes only when another connection commits (this connection's own commits leave it).
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.loadedVersion = this.dataVersion.get()!;
    const row = db.prepare('SELECT COUNT(*) AS n FROM nodes WHERE level = 0').get() as { n: number };
    this.treeSize = row.n;
    this.loadFrontier();
    this.loadRecent();
  }

  get size(): number {
    return this.treeSize;
  }

  private loadFrontier(): void {
    this.frontier = [];
    for (let level = 0; 2 ** level <= this.treeSize; level++) {
      const count = Math.floor(this.treeSize / 2 ** level);
      this.frontier[level] = this.node(level, count - 1);
    }
  }

  /** The recent nodes from disk (at start-up and after a rollback; appends keep them after). */
  private loadRecent(): void {
    this.recent.clear();
    for (let level = 0; level < TreeStore.CACHE_MIN_LEVEL; level++) {
      const count = Math.floor(this.treeSize / 2 ** level);
      if (count === 0) break;
      for (const [idx, hex] of this.selectRangeHex.all(level, this.recent.firstKept(level, this.treeSize), count - 1)) {
        this.recent.add(level, idx, undefined, hex);
      }
    }
  }

  node(level: number, idx: number): Uint8Array {
    if (level < TreeStore.CACHE_MIN_LEVEL) {
      const recent = this.recent.hash(level, idx);
      if (recent) return recent;
    }
    const key = level >= TreeStore.CACHE_MIN_LEVEL ? nodeKey(level, idx) : -1;
    if (key >= 0) {
      const hit = this.cache.get(key);
      if (hit) return hit;
    }
    const hash = this.selectNode.get(level, idx);
    if (!hash) throw new RangeError(`tree node (${level}, ${idx}) is missing`);
    if (key >= 0) this.cache.set(key, hash);
    return hash;
  }

  /** Levels whose nodes are read from SQLite every time (the ones above are kept in memory). */
  get uncachedLevels(): number {
    return TreeStore.CACHE_MIN_LEVEL;
  }

  /**
   * The stored nodes of `level` with index in [first, last] as lowercase hex: from memory when the
   * recent nodes hold them all, else in one statement.
   */
  rangeHex(level: number, first: number, last: number): Array<[number, string]> {
    return this.recent.range(level, first, last, this.treeSize) ?? this.selectRangeHex.all(level, first, last);
  }

  /**
   * The stored nodes of `level` with the given indexes (those that exist) as lowercase hex: those
   * the recent nodes hold from memory, the others in one statement.
   */
  someHex(level: number, indexes: readonly number[]): Array<[number, string]> {
    const out: Array<[number, string]> = [];
    const missing: number[] = [];
    for (const idx of indexes) {
      const hex = this.recent.hex(level, idx);
      if (hex === undefined) missing.push(idx);
      else out.push([idx, hex]);
    }
    return missing.length === 0 ? out : out.concat(this.selectSomeHex.all(level, JSON.stringify(missing)));
  }

  /** One node as lowercase hex: from memory on the cached levels and the recent nodes, else from SQLite. */
  nodeHex(level: number, idx: number): string {
    if (level >= TreeStore.CACHE_MIN_LEVEL) return bytesToHex(this.node(level, idx));
    const hex = this.recent.hex(level, idx) ?? this.selectNodeHex.get(level, idx);
    if (hex === undefined) throw new RangeError(`tree node (${level}, ${idx}) is missing`);
    return hex;
  }

  /**
   * Appends leaves inside the caller's transaction. If the transaction rolls back, call
   * `reload()` so the in-memory frontier matches the database again.
   */
  append(leaves: readonly Uint8Array[]): number {
    const first = this.treeSize;
    // The new nodes of each level have consecutive indexes: collected here, stored per level.
    const added: Uint8Array[][] = [];
    for (const leaf of leaves) {
      let idx = this.treeSize;
      let level = 0;
      let hash = leaf;
      // Keep the node, then close every perfect subtree it completes: its left sibling is the
      // previous right-most node of the same level.
      for (;;) {
        (added[level] ??= []).push(hash);
        this.recent.add(level, idx, hash);
        const left = this.frontier[level];
        this.frontier[level] = hash;
        if (idx % 2 === 0) break;
        hash = hashPair(left!, hash);
        level++;
        idx = (idx - 1) / 2;
      }
      this.treeSize++;
    }
    for (let level = 0; level < added.length; level++) {
      const hashes = added[level]!;
      // A level's new nodes are the last ones of that level now.
      const firstIdx = Math.floor(this.treeSize / 2 ** level) - hashes.length;
      if (hashes.length === 1) {
        this.insertNode.run(level, firstIdx, hashes[0]!);
        continue;
      }
      const joined = Buffer.concat(hashes);
      // Every node is a SHA-256 digest; a node of another length would shift every row after it.
      if (joined.length !== hashes.length * 32) throw new RangeError(`tree nodes of level ${level} are not all 32 bytes`);
      this.insertRun.run({ level, first: firstIdx, last: hashes.length - 1, hashes: joined });
    }
    return first;
  }

  /**
   * Whether another connection (an operator's tool, a test) has committed to the database since
   * the in-memory state was read: then the frontier, sizes and kept nodes may no longer be what is
   * on disk, and the caller reloads.
   */
  changedElsewhere(): boolean {
    return this.dataVersion.get() !== this.loadedVersion;
  }

  reload(): void {
    // The version before the reads (a commit made during them is seen by the next check), recorded
    // once they all succeeded: a reload that fails half-way leaves the state stale, and the next
    // request, append or publication must read it again rather than trust it.
    const version = this.dataVersion.get()!;
    this.markStale();
    const row = this.db.prepare('SELECT COUNT(*) AS n FROM nodes WHERE level = 0').get() as { n: number };
    this.treeSize = row.n;
    this.cache.clear();
    // A rolled-back append may have been asked for the root of a size it reached.
    this.lastRoot = undefined;
    this.loadFrontier();
    this.loadRecent();
    this.loadedVersion = version;
  }

  /** The in-memory state may not be what the file holds: changedElsewhere() says so until a reload succeeds. */
  markStale(): void {
    this.loadedVersion = Number.NaN;
  }

  /** Root of the first `size` leaves (default: all). */
  root(size = this.treeSize): Uint8Array {
    if (size < 1 || size > this.treeSize) throw new RangeError(`no tree of size ${size}`);
    if (this.lastRoot?.size !== size) this.lastRoot = { size, hash: treeRoot(this, size) };
    return this.lastRoot.hash;
  }
}
