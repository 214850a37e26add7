// The shapes shared by the full audit's core, its sources and its report.

export type FindingKind =
  /** Leaves with no event: a gap in leaf indexes, or fewer events than a published, verified or stored size. */
  | 'missing'
  /** An event whose envelope no longer hashes to its stored hash, or to the tree's leaf at its index. */
  | 'edited'
  /** An event at the wrong place: the tree's leaf at its index is another event, or its time goes backwards. */
  | 'out-of-place'
  /** A search column that differs from the envelope (it moves the event in or out of searches). */
  | 'search-column'
  /** A root rebuilt from the events that differs from a published or a verified root of that size. */
  | 'root-mismatch';

export const FINDING_KINDS: readonly FindingKind[] = ['missing', 'edited', 'out-of-place', 'search-column', 'root-mismatch'];

export interface Finding {
  kind: FindingKind;
  /** The leaf the finding is about (the first one, for a run of missing leaves). */
  leafIndex?: number;
  /** The tree size the finding is about (root mismatches, sizes the events fall short of). */
  size?: number;
  /** Root mismatches: the published or verified root hash. */
  expected?: string;
  /** Root mismatches: the root rebuilt from the events. */
  computed?: string;
  detail: string;
}

export interface FullAuditReport {
  /** No findings. */
  ok: boolean;
  source: 'embedded' | 'remote';
  /** The data directory or the service's base URL. */
  location: string;
  /**
   * How the leaf order was known: from the events' leaf indexes, or (an export without them)
   * inferred from received_at order.
   */
  leafOrder: 'leaf_index' | 'received_at';
  /** Events read. */
  events: number;
  /** Leaves rebuilt into the tree (every event, unless a missing leaf stopped the rebuild). */
  treeSize: number;
  /** Root of the rebuilt tree (null when it is empty). */
  rootHash: string | null;
  publishedRootsChecked: number;
  /**
   * The largest published root the audit compared and found equal to the root rebuilt from the
   * events, with no published root differing at or below its size; null when none was (an empty
   * log, nothing published, or the first published root compared already differs). The events up
   * to it are the ones that root commits to, so a gateway whose audit passed (ok) can anchor its
   * verified history there. It says nothing about roots above it, nor about verified roots.
   */
  publishedRoot: { size: number; rootHash: string } | null;
  verifiedRootsChecked: number;
  /** The findings, in the order found, at most the cap (default 1000). */
  findings: Finding[];
  /** Findings beyond the cap: counted, not listed. */
  findingsOmitted: number;
  /** Every finding counted by kind (listed or not). */
  findingCounts: Record<FindingKind, number>;
  durationMs: number;
  eventsPerSecond: number;
}

/** A published or verified root: its size and lowercase hex hash. */
export interface RootRecord {
  size: number;
  rootHash: string;
}

/** One event as a source reads it. */
export interface LeafRecord {
  /** The leaf index the source says the event has; absent when it says none (the next one is assumed). */
  leafIndex?: number;
  /** The envelope text as stored (parsed by the audit), or ... */
  envelopeJson?: string;
  /** ... the envelope already parsed. */
  envelope?: unknown;
  /** The hash the source stores or sent for the event: 32 bytes, or hex. */
  storedHash?: Uint8Array | string;
  /** Source-specific data for `AuditSource.checkColumns` (the embedded store's search columns). */
  columns?: readonly unknown[];
  /** The source's own copy of received_at, when it keeps one apart from the envelope. */
  receivedAt?: string;
}

/** A leaf node of the stored tree, when the source has one. */
export interface TreeLeafRecord {
  index: number;
  hash: Uint8Array;
}

/**
 * A chunk of events in leaf order. `treeLeaves`, when the source has a stored tree, holds its leaf
 * nodes for every index from the end of the previous chunk up to this chunk's last event, so
 * leaves whose event is gone are seen too.
 */
export interface LeafChunk {
  leaves: readonly LeafRecord[];
  treeLeaves?: readonly TreeLeafRecord[];
}

/** Where the events and the published roots come from: the core audit does not know which. */
export interface AuditSource {
  readonly kind: 'embedded' | 'remote';
  readonly location: string;
  readonly leafOrder: 'leaf_index' | 'received_at';
  /** How many events to expect (for progress), if known. */
  readonly expectedEvents: number | undefined;
  /** The events, in leaf order, in chunks. */
  chunks(): AsyncIterable<LeafChunk>;
  /** The published roots to compare, smallest size first. */
  publishedRoots(): AsyncIterable<readonly RootRecord[]>;
  /** After the events: the size of the stored tree, when the source keeps one. */
  storedTreeSize?(): number;
  /** The search columns of an event against its envelope: a description of each that differs. */
  checkColumns?(envelope: unknown, record: LeafRecord): string[] | undefined;
  close(): Promise<void>;
}

export interface AuditProgress {
  /** Events read so far. */
  events: number;
  /** Events the source expects to hand out, if it knows. */
  expected: number | undefined;
  /** Since the first chunk was asked for. */
  elapsedMs: number;
}
