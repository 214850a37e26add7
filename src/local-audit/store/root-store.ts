// Published roots (what the publisher recorded, and when) and every root hash the service has
// handed out, so a later `prev_root` can be resolved to its tree size.
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { Db } from './database.js';

export interface PublishedRecord {
  size: number;
  root_hash: string;
  published_at: string;
  /**
   * The consistency proof from size - 1 (JSON array of proof strings), recorded with the root as
   * the cloud service publishes it; null for size 1 and for roots published before it was kept.
   */
  consistency_proof: string | null;
}

export class RootStore {
  private readonly latestSizeStmt: Database.Statement<[], number | null>;
  private readonly coveringStmt: Database.Statement<[number], PublishedRecord>;
  private readonly insertPublished: Database.Statement<[number, string, string, string | null]>;
  private readonly rememberStmt: Database.Statement<[string, number]>;
  private readonly lookupStmt: Database.Statement<[string], { size: number }>;

  constructor(private readonly db: Db) {
    // max() on the primary key reads one b-tree entry, not the row (with its stored proof).
    this.latestSizeStmt = db.prepare<[], number | null>('SELECT max(size) FROM published_roots').pluck();
    this.coveringStmt = db.prepare('SELECT size, root_hash, published_at, consistency_proof FROM published_roots WHERE size >= ? ORDER BY size ASC LIMIT 1');
    this.insertPublished = db.prepare('INSERT OR IGNORE INTO published_roots (size, root_hash, published_at, consistency_proof) VALUES (?, ?, ?, ?)');
    this.rememberStmt = db.prepare('INSERT OR IGNORE INTO known_roots (root_hash, size) VALUES (?, ?)');
    this.lookupStmt = db.prepare('SELECT size FROM known_roots WHERE root_hash = ?');
  }

  /** The tree's name (64 hex digits), made once per data directory. */
  treeName(): string {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'tree_name'`).get() as { value: string } | undefined;
    if (row) return row.value;
    const name = randomBytes(32).toString('hex');
    this.db.prepare(`INSERT INTO meta (key, value) VALUES ('tree_name', ?)`).run(name);
    return name;
  }

  /** Size of the latest published root; 0 before the first. */
  latestSize(): number {
    return this.latestSizeStmt.get() ?? 0;
  }

  /** The first publication that covered `size` (its time is when that size became published). */
  covering(size: number): PublishedRecord | undefined {
    return this.coveringStmt.get(size);
  }

  publish(record: PublishedRecord): void {
    this.insertPublished.run(record.size, record.root_hash, record.published_at, record.consistency_proof);
    this.remember(record.root_hash, record.size);
  }

  remember(rootHash: string, size: number): void {
    this.rememberStmt.run(rootHash, size);
  }

  sizeOf(rootHash: string): number | undefined {
    return this.lookupStmt.get(rootHash.toLowerCase())?.size;
  }
}
