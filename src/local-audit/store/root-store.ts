// Published roots (what the publisher recorded, and when) and every root hash the service has
// handed out, so a later `prev_root` can be resolved to its tree size.
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { commitDurably, type Db } from './database.js';

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

/** Newest published records kept in memory: about 8 minutes of publications at the default 2 s. */
const RECENT_RECORDS = 256;

export class RootStore {
  /**
   * Every request asks for the latest published size, and a verifier asks v1/root for each size
   * its page shows, nearly all of them recent: both are answered from here instead of a statement
   * each (two or three per v1/root). Filled on first use; `reload` drops it when another
   * connection wrote to the database.
   */
  private recent: { records: PublishedRecord[]; olderSize: number } | undefined;
  private readonly coveringStmt: Database.Statement<[number], PublishedRecord>;
  private readonly newestStmt: Database.Statement<[number], PublishedRecord>;
  private readonly insertPublished: Database.Statement<[number, string, string, string | null]>;
  private readonly rememberStmt: Database.Statement<[string, number]>;
  private readonly lookupStmt: Database.Statement<[string], { size: number }>;

  constructor(private readonly db: Db) {
    this.coveringStmt = db.prepare('SELECT size, root_hash, published_at, consistency_proof FROM published_roots WHERE size >= ? ORDER BY size ASC LIMIT 1');
    this.newestStmt = db.prepare('SELECT size, root_hash, published_at, consistency_proof FROM published_roots ORDER BY size DESC LIMIT ?');
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

  /** The newest records, ascending, and the size of the newest one not among them (0: none). */
  private newest(): { records: PublishedRecord[]; olderSize: number } {
    if (this.recent) return this.recent;
    // Shared with every caller of covering(): frozen, so none can change what the next one reads.
    const rows = this.newestStmt.all(RECENT_RECORDS + 1).reverse().map((row) => Object.freeze(row));
    const older = rows.length > RECENT_RECORDS ? rows.shift()! : undefined;
    return (this.recent = { records: rows, olderSize: older?.size ?? 0 });
  }

  /** Forgets what is kept in memory (another connection may have written the table). */
  reload(): void {
    this.recent = undefined;
  }

  /** Size of the latest published root; 0 before the first. */
  latestSize(): number {
    // Memory keeps every record when there are no more than it holds, so no records means none.
    return this.newest().records.at(-1)?.size ?? 0;
  }

  /** The first publication that covered `size` (its time is when that size became published). */
  covering(size: number): PublishedRecord | undefined {
    const { records, olderSize } = this.newest();
    if (size <= olderSize) return this.coveringStmt.get(size);
    // The records are in size order: the first at or above `size`, by bisection.
    let low = 0;
    let high = records.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (records[mid]!.size < size) low = mid + 1;
      else high = mid;
    }
    return records[low];
  }

  /**
   * Records a publication (and remembers its root) in one commit that is on disk before it
   * returns, so before the root can be served (database.ts, commitDurably).
   */
  publish(record: PublishedRecord): void {
    const stored = commitDurably(this.db, () => {
      const inserted = this.insertPublished.run(record.size, record.root_hash, record.published_at, record.consistency_proof).changes === 1;
      this.remember(record.root_hash, record.size);
      return inserted;
    });
    const recent = this.recent;
    if (recent) {
      // A record that was already there, or one older than the newest kept, means the table is not
      // what memory holds: read it again when next asked.
      const newest = recent.records.at(-1)?.size ?? recent.olderSize;
      if (!stored || record.size <= newest) this.recent = undefined;
      else {
        recent.records.push(Object.freeze({ ...record }));
        if (recent.records.length > RECENT_RECORDS) recent.olderSize = recent.records.shift()!.size;
      }
    }
  }

  remember(rootHash: string, size: number): void {
    this.rememberStmt.run(rootHash, size);
  }

  sizeOf(rootHash: string): number | undefined {
    return this.lookupStmt.get(rootHash.toLowerCase())?.size;
  }
}
