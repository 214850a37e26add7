// The embedded service's data directory as an audit source: its SQLite file opened read-only
// (store/leaf-stream.ts), events in leaf order with the stored tree's leaves beside them, and the
// published roots from the same read transaction.
//
// The published roots come from the file, not from v1/root: they are then from the same snapshot
// as the events (a root published while the audit runs cannot be compared with a tree that lacks
// its newest events), the audit works whether or not the service is running, and v1/root of the
// local service would only read this same table. What that cannot show — an insider who rewrote
// the events, the tree and the published roots together — is what the verified roots are for.
import { resolve } from 'node:path';
import { LeafSnapshot, searchColumnHolds } from '../local-audit/store/leaf-stream.js';
import { searchColumnValue } from '../local-audit/store/search-columns.js';
import type { AuditSource, LeafChunk, LeafRecord, RootRecord } from './types.js';

/**
 * Events per chunk. Small on purpose: a chunk is alive while it is processed, and whatever is alive
 * at a young-generation GC gets promoted to the old one, which then grows until a full GC. Smaller
 * chunks keep the peak RSS of a full audit low and its rate up (`npm run bench:audit-verify`
 * prints both).
 */
const EMBEDDED_CHUNK = 512;
const ROOTS_CHUNK = 1024;

export function openEmbeddedSource(dataDir: string, chunkSize = EMBEDDED_CHUNK): AuditSource {
  const location = resolve(dataDir);
  const snapshot = LeafSnapshot.open(location);
  const fields = snapshot.fields;
  const expectedEvents = snapshot.eventsEnd();

  async function* chunks(): AsyncGenerator<LeafChunk> {
    // From below any index: a row moved to a negative leaf index must be read (and reported) too.
    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const rows = snapshot.eventsAfterLeaf(after, chunkSize);
      if (rows.length === 0) return;
      const last = rows[rows.length - 1]!.leafIndex;
      // The tree's leaves from just after the previous chunk: leaves whose event is gone included.
      const treeLeaves = snapshot.treeLeaves(after + 1, last);
      const leaves = new Array<LeafRecord>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        leaves[i] = { leafIndex: row.leafIndex, envelopeJson: row.envelopeJson, storedHash: row.hash, columns: row.columns, receivedAt: row.receivedAt };
      }
      after = last;
      yield { leaves, treeLeaves };
    }
  }

  async function* publishedRoots(): AsyncGenerator<RootRecord[]> {
    let above = 0;
    for (;;) {
      const roots = snapshot.publishedRootsAbove(above, ROOTS_CHUNK);
      if (roots.length === 0) return;
      above = roots[roots.length - 1]!.size;
      yield roots;
    }
  }

  const checkColumns = (envelope: unknown, record: LeafRecord): string[] | undefined => {
    const { event, received_at } = envelope as { event?: unknown; received_at?: unknown };
    const diffs: string[] = [];
    if (record.receivedAt !== undefined && record.receivedAt !== received_at) {
      diffs.push(`column received_at is ${JSON.stringify(record.receivedAt)}, the envelope says ${JSON.stringify(received_at)}`);
    }
    const values = (event !== null && typeof event === 'object' ? event : {}) as Record<string, unknown>;
    const columns = record.columns ?? [];
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      const expected = searchColumnValue(field, values[field.id]);
      const actual = columns[i] ?? null;
      if (!searchColumnHolds(actual, expected)) {
        diffs.push(`column f_${field.id} is ${JSON.stringify(actual)}, the envelope says ${JSON.stringify(expected)}`);
      }
    }
    return diffs.length > 0 ? diffs : undefined;
  };

  return {
    kind: 'embedded',
    location,
    leafOrder: 'leaf_index',
    expectedEvents,
    chunks,
    publishedRoots,
    storedTreeSize: () => snapshot.storedTreeSize(),
    checkColumns,
    close: async () => snapshot.close(),
  };
}
