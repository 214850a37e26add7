// The audit log itself: appends envelopes, publishes roots, and builds every root and proof the
// endpoints serve, all with src/merkle's tree maths over the SQLite tree.
import {
  bytesToHex,
  consistencyProof,
  formatConsistencyProof,
  formatMembershipProof,
  membershipPath,
} from '../merkle/index.js';
import type { AuditSchema } from './audit-schema.js';
import { keepClockAfter, microTimestamp } from './core/clock.js';
import type { Db } from './store/database.js';
import { GroupCommit } from './store/group-commit.js';
import { EventStore, type AppendedEvent, type StoredEnvelope } from './store/event-store.js';
import { PageProofs } from './store/page-proofs.js';
import { RootStore, type PublishedRecord } from './store/root-store.js';
import { sqliteTransactions } from './store/transactions.js';
import type { PublishedRoot, UnpublishedRoot } from '../wire/index.js';

export type { PublishedRoot, UnpublishedRoot };

interface QueuedAppend {
  /** Builds the envelopes when the batch is written (received_at is stamped then). */
  make: () => StoredEnvelope[];
  /** The request's answer, built inside the batch's transaction once its events are appended. */
  answer: (appended: AppendedEvent[]) => unknown;
}

export class AuditLog {
  readonly events: EventStore;
  readonly roots: RootStore;
  readonly treeName: string;
  /** Base URL for the `url` of published roots (set once the server knows its address). */
  publicUrl = '';
  private lastRemembered = '';
  // A published root never changes once it exists: the latest one asked for is kept, as every
  // search between two publications asks again.
  private lastPublished: { root: PublishedRoot; publicUrl: string } | undefined;
  private readonly appends: GroupCommit<QueuedAppend, unknown>;

  constructor(
    readonly db: Db,
    readonly schema: AuditSchema,
  ) {
    this.events = new EventStore(db, schema);
    const last = this.events.arrival.lastReceivedAt;
    if (last !== undefined) keepClockAfter(last);
    this.roots = new RootStore(db);
    this.treeName = this.roots.treeName();
    const writeBatch = sqliteTransactions(db).write((batch: readonly QueuedAppend[]) => {
      const made = batch.map((q) => q.make());
      const appended = this.append(made.flat());
      let at = 0;
      return batch.map((q, i) => {
        const own = appended.slice(at, at + made[i]!.length);
        at += own.length;
        return q.answer(own);
      });
    });
    // The whole batch rolled back: the in-memory state must match the file again.
    this.appends = new GroupCommit(writeBatch, () => this.resync());
  }

  get size(): number {
    return this.events.size;
  }

  /**
   * Brings the in-memory state up to date with the database when something else wrote to it
   * (the service keeps the tree's frontier and its recent and upper nodes in memory). Every
   * request, append and publication starts with it; it costs one PRAGMA when nothing changed.
   */
  syncWithDisk(): void {
    if (this.events.changedElsewhere()) this.resync();
  }

  /**
   * Re-reads every piece of in-memory state from the database: the tree's frontier, size and kept
   * nodes, the arrival order, and the remembered and published roots. Called after anything else
   * wrote to the file and after every rolled-back transaction that may have changed that state
   * (an append, a group commit, a job), so memory never describes writes that did not commit.
   */
  resync(): void {
    this.lastRemembered = '';
    this.lastPublished = undefined;
    try {
      this.events.reload();
      this.roots.reload();
    } catch (err) {
      // Nothing may be appended, answered or published from what is left: syncWithDisk reads it
      // all again first.
      this.events.markStale();
      throw err;
    }
  }

  append(envelopes: readonly StoredEnvelope[]): AppendedEvent[] {
    this.syncWithDisk();
    try {
      return this.events.appendBatch(envelopes);
    } catch (err) {
      this.resync();
      throw err;
    }
  }

  /**
   * Group commit (store/group-commit.ts): appends the envelopes `make` builds in one transaction
   * with every other appendBatched of this turn of the event loop, and resolves with what
   * `answer` makes of them once that transaction has committed, so nothing is acknowledged before
   * it is durable. A commit per single-event request wrote the WAL pages of the events table, its
   * indexes, the trigram index and the tree each time. `make` runs when the batch is written, so
   * received_at is stamped in append order (arrival times keep rising with the leaves whatever
   * else appends meanwhile); `answer` runs in the same transaction, so what it records (a root
   * handed out) shares the commit. If anything in the batch fails, the transaction rolls back and
   * every append of it is refused with that error: none is stored, none acknowledged.
   */
  appendBatched<T>(make: () => StoredEnvelope[], answer: (appended: AppendedEvent[]) => T): Promise<T> {
    return this.appends.add({ make, answer }) as Promise<T>;
  }

  /** Writes the queued appends now (also called when the service closes). */
  flushAppends(): void {
    this.appends.flush();
  }

  rootHash(size: number): string {
    return bytesToHex(this.events.tree.root(size));
  }

  /** The current (unpublished) root, remembered so a later prev_root can name it. */
  unpublishedRoot(size = this.size): UnpublishedRoot | undefined {
    if (size < 1) return undefined;
    const root_hash = this.rootHash(size);
    // Every search between two appends names the same root: record it once, not once per search.
    if (root_hash !== this.lastRemembered) {
      this.roots.remember(root_hash, size);
      this.lastRemembered = root_hash;
    }
    return { tree_name: this.treeName, size, root_hash };
  }

  membershipProof(leafIndex: number, size: number): string {
    return formatMembershipProof(membershipPath(this.events.tree, leafIndex, size));
  }

  /**
   * Membership proofs of several leaves, each against the tree size `sizeOf(leaf)`. The proofs of
   * one page share their upper nodes, so each node is read from the store once for all of them.
   */
  membershipProofs(leafIndexes: readonly number[], sizeOf: (leaf: number) => number): string[] {
    const page = new PageProofs(this.events.tree, leafIndexes);
    return leafIndexes.map((leaf) => page.membershipProof(leaf, sizeOf(leaf)));
  }

  consistencyProof(oldSize: number, newSize: number): string[] {
    return formatConsistencyProof(consistencyProof(this.events.tree, oldSize, newSize));
  }

  latestPublishedSize(): number {
    return this.roots.latestSize();
  }

  /** Records the current size as published (no-op when nothing new was appended). */
  publish(): PublishedRecord | undefined {
    this.syncWithDisk();
    const size = this.size;
    if (size === 0 || size <= this.latestPublishedSize()) return undefined;
    const record: PublishedRecord = {
      size,
      root_hash: this.rootHash(size),
      published_at: microTimestamp(),
      consistency_proof: size > 1 ? JSON.stringify(this.consistencyProof(size - 1, size)) : null,
    };
    this.roots.publish(record);
    return record;
  }

  /** A published root of any size up to the latest published one, with its proof from size-1. */
  publishedRoot(size: number): PublishedRoot | undefined {
    if (!Number.isSafeInteger(size) || size < 1 || size > this.latestPublishedSize()) return undefined;
    if (this.lastPublished?.root.size === size && this.lastPublished.publicUrl === this.publicUrl) return this.lastPublished.root;
    const covering = this.roots.covering(size)!;
    const root: PublishedRoot = {
      tree_name: this.treeName,
      size,
      root_hash: covering.size === size ? covering.root_hash : this.rootHash(size),
      published_at: covering.published_at,
      url: `${this.publicUrl}/roots/${this.treeName}/${size}`,
    };
    if (size > 1) {
      root.consistency_proof =
        covering.size === size && covering.consistency_proof !== null ? (JSON.parse(covering.consistency_proof) as string[]) : this.consistencyProof(size - 1, size);
    }
    // Shared by later calls: frozen, so no caller can change what the next one is given.
    Object.freeze(root.consistency_proof);
    this.lastPublished = { root: Object.freeze(root), publicUrl: this.publicUrl };
    return root;
  }
}
