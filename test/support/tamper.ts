// Tampering with a local audit service's SQLite file the way an insider with the database could:
// events are changed in place and everything derived from them (the event hash, every stored tree
// node above it, every published root and its stored one-step consistency proof) is recomputed,
// so the result is a tree that is consistent with itself but tells another history. Only a
// verifier that remembers roots it verified before (or trusts only some signing keys) can tell.
//
// Works on a live service's file too: the service re-reads its in-memory tree when another
// connection has committed (AuditLog.syncWithDisk), so the next request serves the tampered file.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex, canonicalJson, consistencyProof, formatConsistencyItem, hashPair, treeRoot, type NodeSource } from '../../src/merkle/index.js';
import type { AuditSchema } from '../../src/local-audit/index.js';
import { fieldColumn, ftsFieldIds } from '../../src/local-audit/store/database.js';
import { indexedPrefix, trigramIndexPath } from '../../src/local-audit/store/trigram-index-file.js';

export type Db = Database.Database;

/** A stored envelope as parsed from the events table; a mutation changes it in place. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StoredEnvelope = { event: Record<string, any>; received_at: string; signature?: string; public_key?: string; [key: string]: unknown };

export type EnvelopeMutation = (envelope: StoredEnvelope, leaf: number) => void;

export const REWRITTEN_MESSAGE = 'this is not what was logged';

/** The default insider edit: the event says something else. */
export const changeMessage: EnvelopeMutation = (envelope) => {
  envelope.event.message = REWRITTEN_MESSAGE;
};

/** The audit service's file inside a data directory. */
export function auditDbPath(dataDir: string): string {
  return join(dataDir, 'audit.sqlite');
}

/** Opens a service's file for tampering (a second connection beside the running service). */
export function openAuditDb(dataDir: string): Db {
  const db = new Database(auditDbPath(dataDir));
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Runs `edit` on a service's file and closes it again. */
export function withAuditDb<T>(dataDir: string, edit: (db: Db) => T): T {
  const db = openAuditDb(dataDir);
  try {
    return edit(db);
  } finally {
    db.close();
  }
}

/** Hashes of the tree nodes read straight from the service's SQLite file. */
export function dbNodes(db: Db): NodeSource {
  const select = db.prepare('SELECT hash FROM nodes WHERE level = ? AND idx = ?');
  return {
    node(level: number, idx: number): Uint8Array {
      const row = select.get(level, idx) as { hash: Buffer } | undefined;
      if (!row) throw new Error(`no node (${level}, ${idx})`);
      return new Uint8Array(row.hash);
    },
  };
}

/** Number of leaves in the stored tree. */
export function treeSize(db: Db): number {
  return (db.prepare('SELECT count(*) FROM events').pluck().get() as number) ?? 0;
}

/** Rewrites one leaf (by default its message) and recomputes the tree and every published root. */
export function rewriteHistory(db: Db, leaf: number, mutate: EnvelopeMutation = changeMessage): void {
  rewriteLeaves(db, [leaf], mutate);
}

export interface RewrittenLeaf {
  leaf: number;
  oldHash: string;
  newHash: string;
}

/**
 * Applies `mutate` to the stored envelope of each leaf, stores the new canonical envelope and hash
 * (and the searchable columns of event fields that changed), recomputes every stored node above
 * the changed leaves, and recomputes every published root that covers one of them together with
 * its stored proof from size - 1. One transaction: a reader sees the old file or the new one.
 */
export function rewriteLeaves(db: Db, leaves: readonly number[], mutate: EnvelopeMutation): RewrittenLeaf[] {
  const nodes = dbNodes(db);
  const schema = JSON.parse((db.prepare(`SELECT value FROM meta WHERE key = 'schema'`).pluck().get() as string | undefined) ?? '{"fields":[]}') as AuditSchema;
  const readEvent = db.prepare('SELECT envelope, hash FROM events WHERE leaf_index = ?');
  const writeEvent = db.prepare('UPDATE events SET envelope = ?, hash = ? WHERE leaf_index = ?');
  const updateNode = db.prepare('UPDATE nodes SET hash = ? WHERE level = ? AND idx = ?');
  const nodeExists = db.prepare('SELECT 1 FROM nodes WHERE level = ? AND idx = ?');
  const rewritten: RewrittenLeaf[] = [];
  const reindex: IndexRowChange[] = [];
  db.transaction(() => {
    for (const leaf of leaves) {
      const row = readEvent.get(leaf) as { envelope: string; hash: Buffer } | undefined;
      if (!row) throw new Error(`no event at leaf ${leaf}`);
      const envelope = JSON.parse(row.envelope) as StoredEnvelope;
      const before = { ...envelope.event };
      mutate(envelope, leaf);
      const text = canonicalJson(envelope);
      const hash = createHash('sha256').update(text, 'utf8').digest();
      if (writeEvent.run(text, hash, leaf).changes !== 1) throw new Error(`leaf ${leaf} was not rewritten`);
      if (updateNode.run(hash, 0, leaf).changes !== 1) throw new Error(`leaf node ${leaf} was not rewritten`);
      const change = updateFieldColumns(db, schema, leaf, before, envelope.event);
      if (change) reindex.push(change);
      rewritten.push({ leaf, oldHash: bytesToHex(new Uint8Array(row.hash)), newHash: hash.toString('hex') });
    }
    // Every stored node above a changed leaf; a node is stored only once its subtree is complete,
    // so where one is missing, none above it exists either.
    let changed = new Set(leaves);
    for (let level = 1; changed.size > 0; level++) {
      const parents = new Set<number>();
      for (const idx of changed) {
        const parent = idx >> 1;
        if (parents.has(parent) || !nodeExists.get(level, parent)) continue;
        updateNode.run(Buffer.from(hashPair(nodes.node(level - 1, 2 * parent), nodes.node(level - 1, 2 * parent + 1))), level, parent);
        parents.add(parent);
      }
      changed = parents;
    }
    const lowest = Math.min(...leaves);
    const sizes = db.prepare('SELECT size FROM published_roots WHERE size > ? ORDER BY size').pluck().all(lowest) as number[];
    const updateRoot = db.prepare('UPDATE published_roots SET root_hash = ?, consistency_proof = ? WHERE size = ?');
    const remember = db.prepare('INSERT OR IGNORE INTO known_roots (root_hash, size) VALUES (?, ?)');
    for (const size of sizes) {
      // The service records each root with its proof from size - 1: the insider rewrites both.
      const proof = size > 1 ? JSON.stringify(consistencyProof(nodes, size - 1, size).map(formatConsistencyItem)) : null;
      const rootHash = bytesToHex(treeRoot(nodes, size));
      updateRoot.run(rootHash, proof, size);
      // So a later prev_root naming the new root is recognised, as the service would.
      remember.run(rootHash, size);
    }
  })();
  // After the events' commit: the indexer thread reads events only while it holds the index's
  // write lock, so a batch that read the old values has committed before this runs.
  updateTrigramIndex(db, schema, reindex);
  return rewritten;
}

/** A leaf whose indexed (string) fields changed: the values its trigram index row has, and the new ones. */
interface IndexRowChange {
  leaf: number;
  before: unknown[];
  after: unknown[];
}

/**
 * Keeps the searchable copy of changed fields in step; returns the change to the leaf's trigram
 * index row when an indexed field changed.
 */
function updateFieldColumns(db: Db, schema: AuditSchema, leaf: number, before: Record<string, unknown>, after: Record<string, unknown>): IndexRowChange | undefined {
  const changed = schema.fields.filter((f) => canonicalOrNull(before[f.id]) !== canonicalOrNull(after[f.id]));
  if (changed.length === 0) return undefined;
  const fts = ftsFieldIds(schema);
  const ftsValues = (): unknown[] => db.prepare(`SELECT ${fts.map((id) => `"${fieldColumn(id)}"`).join(', ')} FROM events WHERE leaf_index = ?`).raw().get(leaf) as unknown[];
  const ftsTouched = changed.some((f) => fts.includes(f.id));
  const old = ftsTouched ? ftsValues() : [];
  for (const field of changed) {
    const value = after[field.id];
    if (field.type === 'datetime' && value !== undefined) throw new Error(`tamper.ts does not rewrite datetime field ${field.id}`);
    const stored = value === undefined || value === null ? null : typeof value === 'boolean' ? (value ? 1 : 0) : typeof value === 'object' ? canonicalJson(value) : (value as string | number);
    db.prepare(`UPDATE events SET "${fieldColumn(field.id)}" = ? WHERE leaf_index = ?`).run(stored, leaf);
  }
  return ftsTouched ? { leaf, before: old, after: ftsValues() } : undefined;
}

/** Rewrites the trigram index rows of changed leaves the index covers (the indexer takes the others from the events). */
function updateTrigramIndex(db: Db, schema: AuditSchema, changes: readonly IndexRowChange[]): void {
  const path = trigramIndexPath(db.name);
  if (changes.length === 0 || !existsSync(path)) return;
  const index = new Database(path);
  try {
    index.pragma('busy_timeout = 5000');
    const fts = ftsFieldIds(schema);
    const cols = fts.map((id) => `"${fieldColumn(id)}"`).join(', ');
    const marks = fts.map(() => '?').join(', ');
    // A contentless FTS5 row is removed by naming the values it was indexed with.
    const remove = index.prepare(`INSERT INTO events_fts (events_fts, rowid, ${cols}) VALUES ('delete', ?, ${marks})`);
    const insert = index.prepare(`INSERT INTO events_fts (rowid, ${cols}) VALUES (?, ${marks})`);
    index
      .transaction(() => {
        const indexed = indexedPrefix(index).size;
        for (const { leaf, before, after } of changes) {
          if (leaf >= indexed) continue;
          remove.run(leaf, ...before);
          insert.run(leaf, ...after);
        }
      })
      .immediate();
  } finally {
    index.close();
  }
}

function canonicalOrNull(value: unknown): string | null {
  return value === undefined || value === null ? null : canonicalJson(value);
}

/**
 * Copies a (possibly running) service's file into `destDir` with SQLite's online backup API: a
 * consistent snapshot of what is committed (the WAL included), taken through a read-only
 * connection, so the copy is a closed, self-contained file.
 */
export async function snapshotAuditDb(sourceDataDir: string, destDir: string): Promise<string> {
  mkdirSync(destDir, { recursive: true });
  const dest = auditDbPath(destDir);
  const source = new Database(auditDbPath(sourceDataDir), { readonly: true, fileMustExist: true });
  try {
    source.pragma('busy_timeout = 5000');
    await source.backup(dest);
  } finally {
    source.close();
  }
  return dest;
}
