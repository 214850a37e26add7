// Search result sets (`pas_…`): a stable snapshot of the matching leaf indexes, in result order,
// with the tree sizes at search time, so paging through v1/results returns the same events and
// proofs however many events arrive meanwhile. Sets expire and are purged.
//
// The leaf indexes of a set are one BLOB (packed little-endian float64s, exact for every integer
// below 2^53): creating a set is one row write instead of one per result (a 400-result search
// spent more on those inserts than on the query), and a page reads only its slice of the blob.
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

const BYTES_PER_LEAF = 8;
/** More leaves than any set holds, small enough that its byte length is an exact integer. */
const ALL_LEAVES = Math.floor(Number.MAX_SAFE_INTEGER / BYTES_PER_LEAF);

/** Leaf indexes as stored in `result_sets.leaves`. */
export function packLeaves(leafIndexes: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(leafIndexes.length * BYTES_PER_LEAF);
  leafIndexes.forEach((leaf, i) => out.writeDoubleLE(leaf, i * BYTES_PER_LEAF));
  return out;
}

export function unpackLeaves(packed: Uint8Array): number[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const out: number[] = new Array<number>(Math.floor(packed.byteLength / BYTES_PER_LEAF));
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * BYTES_PER_LEAF, true);
  return out;
}

export class ResultSetStore {
  private readonly insertSet: Database.Statement<[string, string, number, number, number, number, string | null, Buffer]>;
  private readonly selectSet: Database.Statement<[string], Record<string, unknown>>;
  /** substr() on a BLOB counts bytes from 1: the page's slice only. */
  private readonly selectSlice: Database.Statement<[number, number, string], { slice: Buffer | null }>;
  private readonly purgeStmt: Database.Statement<[number]>;

  constructor(db: Db) {
    this.insertSet = db.prepare(
      'INSERT INTO result_sets (id, created_at, expires_at_ms, tree_size, published_size, count, restriction, leaves) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.selectSet = db.prepare('SELECT id, created_at, expires_at_ms, tree_size, published_size, count, restriction FROM result_sets WHERE id = ?');
    this.selectSlice = db.prepare('SELECT substr(leaves, ?, ?) AS slice FROM result_sets WHERE id = ?');
    this.purgeStmt = db.prepare('DELETE FROM result_sets WHERE expires_at_ms < ?');
  }

  /** Creates a set holding `leafIndexes` in result order (one row, one statement). */
  create(set: Omit<ResultSet, 'count'>, leafIndexes: readonly number[]): ResultSet {
    this.insertSet.run(set.id, set.createdAt, set.expiresAtMs, set.treeSize, set.publishedSize, leafIndexes.length, set.restriction, packLeaves(leafIndexes));
    return { ...set, count: leafIndexes.length };
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
    const bytes = Math.min(limit, ALL_LEAVES) * BYTES_PER_LEAF;
    const slice = this.selectSlice.get(offset * BYTES_PER_LEAF + 1, bytes, id)?.slice;
    return slice ? unpackLeaves(slice) : [];
  }

  /** Every leaf index of the set, in order (for downloads). */
  all(id: string): number[] {
    return this.page(id, 0, ALL_LEAVES);
  }

  purgeExpired(nowMs = Date.now()): number {
    return this.purgeStmt.run(nowMs).changes;
  }
}
