// Search result sets (`pas_…`): a stable snapshot of the matching leaf indexes, in result order,
// with the tree sizes at search time, so paging through v1/results returns the same events and
// proofs however many events arrive meanwhile. Sets expire and are purged.
import type Database from 'better-sqlite3';
import type { Db } from './database.js';

export interface ResultSet {
  id: string;
  createdAt: string;
  expiresAtMs: number;
  /** Tree size at search time: unpublished events prove membership against this root. */
  treeSize: number;
  /** Latest published size at search time: events below it are published. */
  publishedSize: number;
  count: number;
  /** The search_restriction the set was made with (JSON), for assert_search_restriction. */
  restriction: string | null;
}

export class ResultSetStore {
  private readonly insertSet: Database.Statement<[string, string, number, number, number, number, string | null]>;
  private readonly insertItem: Database.Statement<[string, number, number]>;
  private readonly selectSet: Database.Statement<[string], Record<string, unknown>>;
  private readonly selectPage: Database.Statement<[string, number, number], { leaf_index: number }>;
  private readonly purgeStmt: Database.Statement<[number]>;

  constructor(private readonly db: Db) {
    this.insertSet = db.prepare(
      'INSERT INTO result_sets (id, created_at, expires_at_ms, tree_size, published_size, count, restriction) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertItem = db.prepare('INSERT INTO result_items (set_id, pos, leaf_index) VALUES (?, ?, ?)');
    this.selectSet = db.prepare('SELECT * FROM result_sets WHERE id = ?');
    this.selectPage = db.prepare('SELECT leaf_index FROM result_items WHERE set_id = ? AND pos >= ? ORDER BY pos LIMIT ?');
    this.purgeStmt = db.prepare('DELETE FROM result_sets WHERE expires_at_ms < ?');
  }

  /** Creates a set holding `leafIndexes` in result order, in one transaction. */
  create(set: Omit<ResultSet, 'count'>, leafIndexes: readonly number[]): ResultSet {
    const run = this.db.transaction(() => {
      this.insertSet.run(set.id, set.createdAt, set.expiresAtMs, set.treeSize, set.publishedSize, leafIndexes.length, set.restriction);
      leafIndexes.forEach((leaf, pos) => this.insertItem.run(set.id, pos, leaf));
      return { ...set, count: leafIndexes.length };
    });
    return run.immediate();
  }

  /** The set, or undefined when unknown or expired. */
  get(id: string, nowMs = Date.now()): ResultSet | undefined {
    const row = this.selectSet.get(id);
    if (!row || (row.expires_at_ms as number) < nowMs) return undefined;
    return {
      id: row.id as string,
      createdAt: row.created_at as string,
      expiresAtMs: row.expires_at_ms as number,
      treeSize: row.tree_size as number,
      publishedSize: row.published_size as number,
      count: row.count as number,
      restriction: (row.restriction as string | null) ?? null,
    };
  }

  /** Leaf indexes at positions [offset, offset + limit) of the set. */
  page(id: string, offset: number, limit: number): number[] {
    return this.selectPage.all(id, offset, limit).map((r) => r.leaf_index);
  }

  /** Every leaf index of the set, in order (for downloads). */
  all(id: string): number[] {
    return this.page(id, 0, Number.MAX_SAFE_INTEGER);
  }

  purgeExpired(nowMs = Date.now()): number {
    return this.purgeStmt.run(nowMs).changes;
  }
}
