// Events as stored: the envelope JSON exactly as hashed, its hash, and one column per schema field
// for search. Appends go through `appendBatch`, one transaction per request, so a batch is never
// interleaved with another and an acknowledged batch is durable.
import type Database from 'better-sqlite3';
import { hash as digestOf } from 'node:crypto';
import { bytesToHex, canonicalParsedJson } from '../../merkle/index.js';
import type { AuditSchema, SchemaField } from '../audit-schema.js';
import { fieldColumn, type Db } from './database.js';
import { ArrivalOrder } from './arrival-order.js';
import { searchColumnValue } from './search-columns.js';
import { StatementCache } from './statement-cache.js';
import { TreeStore } from './tree-store.js';

export interface StoredEnvelope {
  event: Record<string, unknown>;
  received_at: string;
  signature?: string;
  public_key?: string;
}

export interface AppendedEvent {
  leafIndex: number;
  hash: string;
  envelope: StoredEnvelope;
}

interface StoredEventText {
  leafIndex: number;
  /** sha256 of envelopeJson, lowercase hex. */
  hash: string;
  /** The envelope JSON text exactly as stored (what the hash covers). */
  envelopeJson: string;
}

export interface StoredEvent extends StoredEventText {
  envelope: StoredEnvelope;
}

export class EventStore {
  readonly tree: TreeStore;
  /** Whether received_at rises with leaf index (lets searches walk the table in leaf order). */
  readonly arrival: ArrivalOrder;
  private readonly insertEvent: Database.Statement<unknown[]>;
  private readonly fields: SchemaField[];
  private readonly pageStatements: StatementCache;
  private reloads = 0;

  constructor(
    private readonly db: Db,
    schema: AuditSchema,
  ) {
    this.tree = new TreeStore(db);
    this.arrival = new ArrivalOrder(db, this.tree.size);
    this.pageStatements = new StatementCache(db, 32);
    this.fields = schema.fields;
    const cols = this.fields.map((f) => `"${fieldColumn(f.id)}"`).join(', ');
    const marks = this.fields.map(() => '?').join(', ');
    this.insertEvent = db.prepare(`INSERT INTO events (leaf_index, received_at, hash, envelope, ${cols}) VALUES (?, ?, ?, ?, ${marks})`);
  }

  get size(): number {
    return this.tree.size;
  }

  /**
   * Appends envelopes as consecutive leaves in one transaction; returns them with their hashes.
   * When it throws, the transaction has rolled back but the in-memory state has not: the caller
   * resyncs (AuditLog.resync).
   */
  appendBatch(envelopes: readonly StoredEnvelope[]): AppendedEvent[] {
    const run = this.db.transaction((batch: readonly StoredEnvelope[]) => {
      const first = this.tree.size;
      const leaves: Uint8Array[] = [];
      const out: AppendedEvent[] = [];
      batch.forEach((envelope, i) => {
        // The stored text is the canonical JSON, and the event hash is its sha256 (the same bytes
        // hashEnvelope in src/merkle computes). On the ingest path, the canonical JSON of values
        // JSON.parse made (the events of a request, around them strings) and node:crypto's
        // one-shot digest (no Hash object per event) are simply faster.
        const json = canonicalParsedJson(envelope);
        const hash = new Uint8Array(digestOf('sha256', json, 'buffer'));
        const values = this.fields.map((f) => searchColumnValue(f, envelope.event[f.id]));
        this.insertEvent.run(first + i, envelope.received_at, hash, json, ...values);
        leaves.push(hash);
        out.push({ leafIndex: first + i, hash: bytesToHex(hash), envelope });
      });
      this.tree.append(leaves);
      this.arrival.append(batch.map((e) => e.received_at), this.tree.size);
      return out;
    });
    return run.immediate(envelopes);
  }

  /**
   * Rises each time the in-memory state is re-read from the file (another connection wrote, a
   * transaction rolled back): what was derived from the events before may no longer hold.
   */
  get generation(): number {
    return this.reloads;
  }

  /** Re-reads the in-memory state (tree frontier and size, kept nodes, arrival order) from the file. */
  reload(): void {
    this.reloads++;
    try {
      this.tree.reload();
      this.arrival.reload();
    } catch (err) {
      // Half read: stale until read again in full.
      this.tree.markStale();
      throw err;
    }
  }

  /** The in-memory state may not be what the file holds (a resync failed after it): read it again first. */
  markStale(): void {
    this.tree.markStale();
  }

  /** Whether another connection has written to the database since this one last looked. */
  changedElsewhere(): boolean {
    return this.tree.changedElsewhere();
  }

  get(leafIndex: number): StoredEvent | undefined {
    return this.getMany([leafIndex])[0];
  }

  /** Events by leaf index, in the order asked (missing ones left out). */
  getMany(leafIndexes: readonly number[]): StoredEvent[] {
    return this.getManyText(leafIndexes).map((e) => ({ ...e, envelope: JSON.parse(e.envelopeJson) as StoredEnvelope }));
  }

  /**
   * Events by leaf index with the envelope as its stored text only, in the order asked (missing
   * ones left out): what a search page splices into its answer, without parsing each envelope.
   */
  getManyText(leafIndexes: readonly number[]): StoredEventText[] {
    if (leafIndexes.length === 0) return [];
    // One statement per page length (pages are mostly the same few lengths). The hash comes as hex
    // text: a Buffer per row cost more than the row lookups.
    const rows = this.pageStatements
      .get(`SELECT leaf_index, lower(hex(hash)), envelope FROM events WHERE leaf_index IN (${leafIndexes.map(() => '?').join(',')})`)
      .raw()
      .all(...leafIndexes) as Array<[number, string, string]>;
    const byLeaf = new Map(rows.map(([leafIndex, hash, envelopeJson]) => [leafIndex, { leafIndex, hash, envelopeJson }]));
    const out: StoredEventText[] = [];
    for (const leaf of leafIndexes) {
      const event = byLeaf.get(leaf);
      if (event) out.push(event);
    }
    return out;
  }
}
