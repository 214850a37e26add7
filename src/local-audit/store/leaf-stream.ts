// Read-only access to a data directory's log for a full audit (src/full-audit): the events in leaf
// order, the stored tree's leaf nodes and the published roots, every read inside one read
// transaction. The service may be writing the same file from another process: in WAL mode a read
// transaction sees one snapshot, so the events, leaves and roots read here belong to the same log
// state however long the audit takes (the service's checkpoints cannot shrink the WAL past the
// snapshot meanwhile; they catch up once it ends).
//
// Reads go in keyset chunks (`WHERE leaf_index > ? ORDER BY leaf_index LIMIT n`): no statement
// stays open between two chunks, so the events, the tree's leaves and the published roots can be
// read interleaved on one connection, and memory holds one chunk at a time.
import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkSchema, type AuditSchema, type SchemaField } from '../audit-schema.js';
import { fieldColumn } from './database.js';

/** The service's SQLite file inside its data directory (service.ts opens the same name). */
const DATABASE_FILE = 'audit.sqlite';

/** One stored event, as the events table holds it. */
interface StoredLeafRow {
  leafIndex: number;
  /** The received_at column (the copy that time-range searches and exports sort and filter by). */
  receivedAt: string;
  /** The events.hash column (32 bytes as stored; another length is itself a finding). */
  hash: Uint8Array;
  /** The envelope text exactly as stored. */
  envelopeJson: string;
  /** The search columns of `LeafSnapshot.fields`, in that order, as SQLite returns them. */
  columns: unknown[];
}

/** A level-0 node of the stored tree: what the service proves membership against. */
interface StoredTreeLeaf {
  index: number;
  hash: Uint8Array;
}

interface StoredPublishedRoot {
  size: number;
  rootHash: string;
}

/** Why a data directory cannot be audited: said in one line. */
class LeafStreamError extends Error {
  override name = 'LeafStreamError';
}

export class LeafSnapshot {
  /** The schema the data directory was created with (its search columns). */
  readonly schema: AuditSchema;
  readonly fields: readonly SchemaField[];
  private readonly eventsAfter: Database.Statement<[number, number], unknown[]>;
  private readonly leavesBetween: Database.Statement<[number, number], [number, Buffer]>;
  private readonly rootsAfter: Database.Statement<[number, number], [number, string]>;
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    schema: AuditSchema,
  ) {
    this.schema = schema;
    this.fields = schema.fields;
    const columns = this.fields.map((f) => `"${fieldColumn(f.id)}"`);
    // Raw rows: an array per row instead of an object with named members, on a path run per event.
    this.eventsAfter = db
      .prepare<[number, number], unknown[]>(
        `SELECT leaf_index, received_at, hash, envelope${columns.map((c) => `, ${c}`).join('')} FROM events WHERE leaf_index > ? ORDER BY leaf_index LIMIT ?`,
      )
      .raw();
    this.leavesBetween = db.prepare<[number, number], [number, Buffer]>('SELECT idx, hash FROM nodes WHERE level = 0 AND idx BETWEEN ? AND ? ORDER BY idx').raw();
    this.rootsAfter = db.prepare<[number, number], [number, string]>('SELECT size, root_hash FROM published_roots WHERE size > ? ORDER BY size LIMIT ?').raw();
  }

  /**
   * Opens `<dataDir>/audit.sqlite` read-only and starts the read transaction. Throws a
   * LeafStreamError naming the problem when there is no readable audit database there.
   */
  static open(dataDir: string): LeafSnapshot {
    const path = join(dataDir, DATABASE_FILE);
    if (!existsSync(dataDir)) throw new LeafStreamError(`the data directory ${dataDir} does not exist`);
    if (!statSync(dataDir).isDirectory()) throw new LeafStreamError(`DATA_DIR ${dataDir} is not a directory`);
    if (!existsSync(path)) throw new LeafStreamError(`no audit database in ${dataDir} (${DATABASE_FILE} is missing)`);
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new LeafStreamError(`cannot open ${path}: ${(err as Error).message}`);
    }
    try {
      db.pragma('busy_timeout = 5000');
      // Deferred: the snapshot is taken by the first read below, and every later read sees it.
      db.exec('BEGIN');
      const stored = db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).pluck().get() as string | undefined;
      if (stored === undefined) throw new LeafStreamError(`${path} holds no audit schema: not an audit database`);
      let schema: AuditSchema;
      try {
        schema = checkSchema(JSON.parse(stored), `${path} schema`);
      } catch (err) {
        throw new LeafStreamError(`${path}: the stored audit schema is unusable (${(err as Error).message})`);
      }
      return new LeafSnapshot(db, schema);
    } catch (err) {
      db.close();
      if (err instanceof LeafStreamError) throw err;
      throw new LeafStreamError(`cannot read ${path}: ${(err as Error).message}`);
    }
  }

  /** The highest stored leaf index plus one (0 for an empty log): the size the events claim. */
  eventsEnd(): number {
    const max = this.db.prepare('SELECT max(leaf_index) FROM events').pluck().get() as number | null;
    return max === null ? 0 : max + 1;
  }

  /** The highest level-0 node plus one: the size of the stored tree (the primary key answers it). */
  storedTreeSize(): number {
    const max = this.db.prepare('SELECT max(idx) FROM nodes WHERE level = 0').pluck().get() as number | null;
    return max === null ? 0 : max + 1;
  }

  /** The next at most `limit` events with a leaf index above `after`, in leaf order. */
  eventsAfterLeaf(after: number, limit: number): StoredLeafRow[] {
    const rows = this.eventsAfter.all(after, limit);
    const out = new Array<StoredLeafRow>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      out[i] = {
        leafIndex: row[0] as number,
        receivedAt: row[1] as string,
        hash: row[2] as Uint8Array,
        envelopeJson: row[3] as string,
        columns: row.slice(4),
      };
    }
    return out;
  }

  /** The stored tree's leaves with index in [first, last], in order (absent ones left out). */
  treeLeaves(first: number, last: number): StoredTreeLeaf[] {
    return this.leavesBetween.all(first, last).map(([index, hash]) => ({ index, hash }));
  }

  /** The next at most `limit` published roots above `size`, smallest first. */
  publishedRootsAbove(size: number, limit: number): StoredPublishedRoot[] {
    return this.rootsAfter.all(size, limit).map(([s, rootHash]) => ({ size: s, rootHash }));
  }

  /** Ends the read transaction and closes the connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.db.inTransaction) this.db.exec('COMMIT');
    } finally {
      this.db.close();
    }
  }
}

/**
 * Does a search column as read back hold `expected`? SQLite's column affinity converts numbers
 * and numeric text into each other on insert (a number into a TEXT column becomes its text), so
 * those compare by value; anything else must be identical.
 */
export function searchColumnHolds(actual: unknown, expected: string | number | null): boolean {
  if (actual === expected) return true;
  if (typeof actual === 'number' && typeof expected === 'string') return expected.trim() !== '' && Number(expected) === actual;
  if (typeof actual === 'string' && typeof expected === 'number') return actual.trim() !== '' && Number(actual) === expected;
  return false;
}
