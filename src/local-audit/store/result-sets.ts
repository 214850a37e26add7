// Search result sets (`pas_…`): a stable snapshot of the matching leaf indexes, in result order,
// with the tree sizes at search time, so paging through v1/results returns the same events and
// proofs however many events arrive meanwhile. Sets expire and are purged.
//
// A set is one row of `search_results`: its leaf indexes are one BLOB (store/leaf-list.ts), and
// its id names the row (store/set-ids.ts: the row number encrypted, plus random characters that
// must match), so creating a set appends to the table with no index to update (a random-id
// primary key would insert into an index at a random place per search), and reading one is a
// rowid lookup.
//
// Searches create their sets through `createBatched` (store/group-commit.ts): the sets asked for
// during one turn of the event loop are written in one transaction right after it: a commit per
// search would write its own WAL frames (the table's and the expiry index's pages) for
// checkpoints to copy back, which costs more than all of a search's reads.
import { timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Db } from './database.js';
import { GroupCommit } from './group-commit.js';
import { decodeLeafList, encodeLeafList } from './leaf-list.js';
import { SetIds } from './set-ids.js';

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
  /**
   * The search's `verbose`: v1/results has no verbose of its own, so every page of the set
   * carries proofs, roots and leaf indexes exactly when the search asked for them.
   */
  verbose: boolean;
  /** Its row in search_results. */
  row: number;
}

export type NewResultSet = Omit<ResultSet, 'count' | 'id' | 'row'>;

interface QueuedSet {
  set: NewResultSet;
  leafIndexes: readonly number[];
}

// `verbose` is null in sets made before the column existed, which were always paged with proofs.
type SetRow = { created_at: string; expires_at_ms: number; tree_size: number; published_size: number; count: number; restriction: string | null; verbose: number | null };

function toResultSet(id: string, row: SetRow, rowNumber: number): ResultSet {
  return {
    id,
    row: rowNumber,
    createdAt: row.created_at,
    expiresAtMs: row.expires_at_ms,
    treeSize: row.tree_size,
    publishedSize: row.published_size,
    count: row.count,
    restriction: row.restriction ?? null,
    verbose: row.verbose !== 0,
  };
}

/** Constant-time comparison of two short ASCII strings. */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class ResultSetStore {
  private readonly insertSet: Database.Statement<[string, string, number, number, number, number, string | null, number, Buffer], { seq: number }>;
  private readonly selectSet: Database.Statement<[number], SetRow & { secret: string }>;
  private readonly selectLeaves: Database.Statement<[number], Buffer>;
  private readonly purgeSets: Database.Statement<[number]>;
  private readonly ids: SetIds;
  private readonly batches: GroupCommit<QueuedSet, ResultSet>;

  constructor(db: Db) {
    this.ids = new SetIds(db);
    const createAll = db.transaction((batch: readonly QueuedSet[]) => batch.map((q) => this.create(q.set, q.leafIndexes)));
    this.batches = new GroupCommit((batch) => createAll.immediate(batch));
    this.insertSet = db.prepare(
      'INSERT INTO search_results (secret, created_at, expires_at_ms, tree_size, published_size, count, restriction, verbose, leaves) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq',
    );
    this.selectSet = db.prepare('SELECT secret, created_at, expires_at_ms, tree_size, published_size, count, restriction, verbose FROM search_results WHERE seq = ?');
    this.selectLeaves = db.prepare<[number], Buffer>('SELECT leaves FROM search_results WHERE seq = ?').pluck();
    this.purgeSets = db.prepare('DELETE FROM search_results WHERE expires_at_ms < ?');
  }

  /** Creates a set holding `leafIndexes` in result order (one row appended); returns it with its id. */
  create(set: NewResultSet, leafIndexes: readonly number[]): ResultSet {
    const secret = this.ids.newSecret();
    const { seq } = this.insertSet.get(secret, set.createdAt, set.expiresAtMs, set.treeSize, set.publishedSize, leafIndexes.length, set.restriction, set.verbose ? 1 : 0, encodeLeafList(leafIndexes))!;
    return { ...set, id: this.ids.format(seq, secret), count: leafIndexes.length, row: seq };
  }

  /**
   * Creates a set as `create` does, in one transaction with every other set asked for during this
   * turn of the event loop (written on setImmediate). Resolves once the set is committed, so an id
   * is never handed out before it is durable; if the transaction fails, every set of the batch is
   * refused with its error.
   */
  createBatched(set: NewResultSet, leafIndexes: readonly number[]): Promise<ResultSet> {
    return this.batches.add({ set, leafIndexes });
  }

  /** Writes the queued sets now (also called when the service closes). */
  flush(): void {
    this.batches.flush();
  }

  /** The set, or undefined when unknown or expired. */
  get(id: string, nowMs = Date.now()): ResultSet | undefined {
    const named = this.ids.parse(id);
    if (!named) return undefined;
    const row = this.selectSet.get(named.row);
    return row && sameText(row.secret, named.secret) && row.expires_at_ms >= nowMs ? toResultSet(id, row, named.row) : undefined;
  }

  /** Leaf indexes at positions [offset, offset + limit) of a set `create` or `get` returned. */
  page(set: ResultSet, offset: number, limit: number): number[] {
    const encoded = this.selectLeaves.get(set.row);
    return encoded === undefined ? [] : decodeLeafList(encoded, offset, limit);
  }

  /** Every leaf index of the set, in order (for downloads). */
  all(set: ResultSet): number[] {
    const encoded = this.selectLeaves.get(set.row);
    return encoded === undefined ? [] : decodeLeafList(encoded);
  }

  purgeExpired(nowMs = Date.now()): number {
    return this.purgeSets.run(nowMs).changes;
  }
}
