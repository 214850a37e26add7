// The full audit itself, independent of where the events come from: every event's hash is
// recomputed from its envelope, the tree is rebuilt leaf by leaf, and each root it passes through
// is compared with every published and verified root of that size. What it finds, by leaf index:
//
// - missing: a gap in the leaf indexes, or fewer events than a published, verified or stored size.
//   The rebuild stops at the first missing leaf (no root past it can be recomputed without it);
//   the events after it are still checked one by one.
// - edited: the envelope no longer hashes to its stored hash, or to the stored tree's leaf.
// - out-of-place: the stored tree's leaf at index i is the event stored at another index, an
//   event sits beyond the stored tree, or received_at goes backwards along the leaves.
// - search-column: a column searches read differs from the envelope (the source decides).
// - root-mismatch: a rebuilt root differs from a published or verified one of the same size.
//
// Memory is bounded: one chunk of events, the tree's O(log n) frontier, one buffered batch of
// published roots, and at most PENDING_LIMIT leaf/tree disagreements kept until the end to tell a
// moved event (its hash is another index's tree leaf) from an edited one.
import { envelopeHash, textHash } from './leaf-hash.js';
import { DEFAULT_MAX_FINDINGS, FindingLog } from './findings.js';
import { StreamingTree } from './stream-tree.js';
import type { AuditProgress, AuditSource, Finding, FullAuditReport, LeafChunk, LeafRecord, RootRecord } from './types.js';

export interface AuditCoreOptions {
  /** Roots the gateway verified before (integrity state): each is compared like a published one. */
  verifiedRoots?: readonly RootRecord[];
  /** Findings listed in the report (the rest are counted). Default 1000. */
  maxFindings?: number;
  signal?: AbortSignal;
  /** Called after each chunk of events. */
  onProgress?: (progress: AuditProgress) => void;
  /** performance.now() when the audit began, if before this call (opening a remote source takes an export). */
  startedAt?: number;
}

/** Leaf/tree disagreements kept for the end-of-run classification; past it they are "edited". */
const PENDING_LIMIT = 10_000;
/** Longest stretch of synchronous work before the event loop gets a turn (in-process callers). */
const YIELD_EVERY_MS = 50;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

function sameHash(a: Uint8Array, b: Uint8Array | string): boolean {
  if (typeof b === 'string') return b.length === 64 && hex(a) === b.toLowerCase();
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

const hexOf = (value: Uint8Array | string): string => (typeof value === 'string' ? value.toLowerCase() : hex(value));

interface EventMismatch {
  index: number;
  /** The envelope's hash. */
  leafHex: string;
  /** The stored tree's leaf at `index`, when there is one. */
  nodeHex: string | undefined;
}

export async function auditSource(source: AuditSource, options: AuditCoreOptions = {}): Promise<FullAuditReport> {
  const started = options.startedAt ?? performance.now();
  const findings = new FindingLog(options.maxFindings ?? DEFAULT_MAX_FINDINGS);
  const add = (f: Finding): void => findings.add(f);
  const tree = new StreamingTree();

  // Roots to compare, both ascending by size; published ones arrive in batches as the rebuild needs them.
  const verified = [...(options.verifiedRoots ?? [])].filter((r) => r.size >= 1).sort((a, b) => a.size - b.size);
  let vi = 0;
  const publishedBatches = source.publishedRoots()[Symbol.asyncIterator]();
  let published: RootRecord[] = [];
  let pi = 0;
  let publishedDone = false;
  let publishedChecked = 0;
  let verifiedChecked = 0;
  // The largest published root found equal so far, and the one of the size before it (taken back
  // when another published root of that same size differs), until the first published mismatch.
  let matchedPublished: RootRecord | null = null;
  let matchedBefore: RootRecord | null = null;
  let publishedMismatchSeen = false;

  /** Buffers published roots until one is above `size` (or there are no more). */
  const fillPublished = async (size: number): Promise<void> => {
    if (pi > 0) {
      published = published.slice(pi);
      pi = 0;
    }
    while (!publishedDone && (published.length === 0 || published[published.length - 1]!.size <= size)) {
      const next = await publishedBatches.next();
      if (next.done) publishedDone = true;
      else for (const root of next.value) if (root.size >= 1) published.push(root);
    }
  };

  let nextCheck = Infinity;
  const scheduleNext = (): void => {
    // Sizes already passed (duplicates, or below a missing leaf) are skipped by compareRoots.
    nextCheck = Math.min(published[pi]?.size ?? Infinity, verified[vi]?.size ?? Infinity);
  };

  const compareRoots = (size: number): void => {
    const computed = hex(tree.root()!);
    while (pi < published.length && published[pi]!.size <= size) {
      const root = published[pi++]!;
      if (root.size !== size) continue;
      publishedChecked++;
      if (root.rootHash.toLowerCase() === computed) {
        if (!publishedMismatchSeen && matchedPublished?.size !== size) {
          matchedBefore = matchedPublished;
          matchedPublished = { size, rootHash: computed };
        }
        continue;
      }
      let detail = `the published root of size ${size} is ${root.rootHash}, the events give ${computed}`;
      if (!publishedMismatchSeen) {
        if (matchedPublished?.size === size) matchedPublished = matchedBefore;
        detail += matchedPublished
          ? `; the published root of size ${matchedPublished.size} matched, so the change lies in leaves ${matchedPublished.size}..${size - 1}`
          : `; no smaller published root matched: the change lies in leaves 0..${size - 1}`;
      }
      publishedMismatchSeen = true;
      add({ kind: 'root-mismatch', size, expected: root.rootHash, computed, detail });
    }
    while (vi < verified.length && verified[vi]!.size <= size) {
      const root = verified[vi++]!;
      if (root.size !== size) continue;
      verifiedChecked++;
      if (root.rootHash.toLowerCase() === computed) continue;
      add({
        kind: 'root-mismatch',
        size,
        expected: root.rootHash,
        computed,
        detail: `the gateway verified root ${root.rootHash} for size ${size}, the events give ${computed}: the history up to size ${size} changed since${
          publishedMismatchSeen ? '' : ' (the published roots agree with the events: they were rewritten with them)'
        }`,
      });
    }
    scheduleNext();
  };

  // Leaf/tree disagreements, resolved once every leaf has been seen.
  const nodeByHash = new Map<string, number>();
  const mismatches: EventMismatch[] = [];
  const editedAgainstTree = (m: EventMismatch): void => {
    add({
      kind: 'edited',
      leafIndex: m.index,
      detail: `the stored tree's leaf ${m.index} is ${m.nodeHex}, but the event stored there hashes to ${m.leafHex}`,
    });
  };

  let expectedNext = 0;
  let missingFrom: number | undefined; // first missing leaf: the rebuild stopped there
  let events = 0;
  // received_at along the leaves: the last in-order one, the one before it, and its leaf.
  let lastTime: string | undefined;
  let lastTimeLeaf = -1;
  let beforeLastTime: string | undefined;
  // Progress rates count from the first event, not from the export a remote source waited for.
  const streamStarted = performance.now();
  let yieldedAt = streamStarted;

  const checkTime = (index: number, time: string): void => {
    if (lastTime === undefined || time >= lastTime) {
      beforeLastTime = lastTime;
      lastTime = time;
      lastTimeLeaf = index;
      return;
    }
    // Out of order: either this leaf's time is too early, or the previous one's was too late (it
    // is then the odd one out, as this one still follows the leaf before it).
    if (beforeLastTime !== undefined && time >= beforeLastTime) {
      add({
        kind: 'out-of-place',
        leafIndex: lastTimeLeaf,
        detail: `received_at ${lastTime} of leaf ${lastTimeLeaf} is later than ${time} of leaf ${index}, which comes after it`,
      });
      lastTime = time;
      lastTimeLeaf = index;
    } else {
      add({
        kind: 'out-of-place',
        leafIndex: index,
        detail: `received_at ${time} of leaf ${index} is earlier than ${lastTime} of leaf ${lastTimeLeaf}, which comes before it`,
      });
    }
  };

  const processLeaf = (record: LeafRecord, index: number, node: Uint8Array | null | undefined): void => {
    let envelope: unknown = record.envelope;
    let leaf: Buffer;
    if (envelope === undefined) {
      const text = record.envelopeJson ?? '';
      try {
        envelope = JSON.parse(text);
        leaf = envelopeHash(envelope);
      } catch {
        envelope = undefined;
        leaf = textHash(text);
        add({ kind: 'edited', leafIndex: index, detail: `the stored envelope of leaf ${index} is not valid JSON` });
      }
    } else leaf = envelopeHash(envelope);

    const stored = record.storedHash;
    const storedOk = stored === undefined || sameHash(leaf, stored);
    if (!storedOk) {
      add({ kind: 'edited', leafIndex: index, detail: `the envelope of leaf ${index} hashes to ${hex(leaf)}, but its stored hash is ${hexOf(stored)}` });
    }
    // node: undefined = the source keeps no tree; null = it does, without a leaf here.
    if (node !== undefined) {
      const agrees = node !== null && sameHash(leaf, node);
      // A tree leaf equal to a stale stored hash is the edit already reported above.
      const explained = node !== null && !storedOk && sameHash(node, stored);
      if (!agrees && !explained) {
        const m: EventMismatch = { index, leafHex: hex(leaf), nodeHex: node === null ? undefined : hex(node) };
        if (mismatches.length < PENDING_LIMIT) {
          mismatches.push(m);
          if (m.nodeHex !== undefined) nodeByHash.set(m.nodeHex, index);
        } else if (m.nodeHex !== undefined) editedAgainstTree(m);
        else add({ kind: 'edited', leafIndex: index, detail: `the stored tree has no leaf ${index} for the event stored there` });
      }
    }

    if (envelope !== null && typeof envelope === 'object') {
      const time = (envelope as { received_at?: unknown }).received_at;
      if (typeof time === 'string') checkTime(index, time);
      const diffs = source.checkColumns?.(envelope, record);
      if (diffs && diffs.length > 0) add({ kind: 'search-column', leafIndex: index, detail: `leaf ${index}: ${diffs.join('; ')}` });
    }

    if (missingFrom === undefined) {
      tree.append(leaf);
      if (tree.size >= nextCheck) compareRoots(tree.size);
    }
  };

  const processChunk = (chunk: LeafChunk): void => {
    const treeLeaves = chunk.treeLeaves;
    let t = 0;
    for (const record of chunk.leaves) {
      events++;
      const index = record.leafIndex ?? expectedNext;
      let node: Uint8Array | null | undefined;
      if (treeLeaves) {
        // Tree leaves with no event (their event is missing): kept to recognise a moved event.
        while (t < treeLeaves.length && treeLeaves[t]!.index < index) {
          const orphan = treeLeaves[t++]!;
          if (nodeByHash.size < PENDING_LIMIT) nodeByHash.set(hex(orphan.hash), orphan.index);
        }
        node = t < treeLeaves.length && treeLeaves[t]!.index === index ? treeLeaves[t++]!.hash : null;
      }
      if (!Number.isSafeInteger(index) || index < 0) {
        add({ kind: 'out-of-place', detail: `an event is stored with leaf index ${index}, a position no tree has; it is left out of the rebuilt tree` });
        continue;
      }
      if (index < expectedNext) {
        add({ kind: 'out-of-place', leafIndex: index, detail: `leaf ${index} comes again after leaf ${expectedNext - 1}; it is left out of the rebuilt tree` });
        continue;
      }
      if (index > expectedNext) {
        const count = index - expectedNext;
        add({
          kind: 'missing',
          leafIndex: expectedNext,
          detail:
            (count === 1 ? `leaf ${expectedNext} has no event` : `leaves ${expectedNext}..${index - 1} have no event (${count} events)`) +
            (missingFrom === undefined ? `; no root above size ${expectedNext} can be rebuilt without it` : ''),
        });
        missingFrom ??= expectedNext;
      }
      expectedNext = index + 1;
      processLeaf(record, index, node);
    }
  };

  try {
    for await (const chunk of source.chunks()) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('aborted');
      await fillPublished(tree.size + chunk.leaves.length);
      scheduleNext();
      processChunk(chunk);
      options.onProgress?.({ events, expected: source.expectedEvents, elapsedMs: performance.now() - streamStarted });
      if (performance.now() - yieldedAt > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        yieldedAt = performance.now();
      }
    }

    // Whatever size the log claims beyond its last event is missing events.
    const claims: string[] = [];
    let publishedAbove = 0;
    let largestPublished = 0;
    const countAbove = (roots: readonly RootRecord[]): void => {
      for (const { size } of roots) {
        if (size <= tree.size) continue;
        publishedAbove++;
        largestPublished = Math.max(largestPublished, size);
      }
    };
    countAbove(published.slice(pi));
    while (!publishedDone) {
      const next = await publishedBatches.next();
      if (next.done) publishedDone = true;
      else countAbove(next.value);
    }
    const largestVerified = verified.slice(vi).reduce((max, r) => Math.max(max, r.size), 0);
    const storedSize = source.storedTreeSize?.() ?? 0;
    if (largestPublished > expectedNext) claims.push(`a root of size ${largestPublished} was published`);
    if (largestVerified > expectedNext) claims.push(`the gateway verified a root of size ${largestVerified}`);
    if (storedSize > expectedNext) claims.push(`the stored tree has ${storedSize} leaves`);
    const claimed = Math.max(largestPublished, largestVerified, storedSize);
    if (claimed > expectedNext) {
      add({
        kind: 'missing',
        leafIndex: expectedNext,
        size: claimed,
        detail: `the events end at leaf ${expectedNext - 1}, but ${claims.join(', ')}: leaves ${expectedNext}..${claimed - 1} have no event`,
      });
    }
    if (missingFrom !== undefined && publishedAbove + (verified.length - vi) > 0) {
      // Said once, on the finding that stopped the rebuild, rather than as one finding per root.
      const first = findings.listed.find((f) => f.kind === 'missing' && f.leafIndex === missingFrom);
      if (first) first.detail += ` (${publishedAbove} published and ${verified.length - vi} verified roots above it were not compared)`;
    }

    // Leaf/tree disagreements: a moved event is another index's tree leaf; anything else is an edit.
    for (const m of mismatches) {
      const home = nodeByHash.get(m.leafHex);
      if (home !== undefined && home !== m.index) {
        add({ kind: 'out-of-place', leafIndex: m.index, detail: `the event stored at leaf ${m.index} is the stored tree's leaf ${home}` });
      } else if (m.nodeHex !== undefined) editedAgainstTree(m);
      else if (m.index >= storedSize) {
        add({ kind: 'out-of-place', leafIndex: m.index, detail: `leaf ${m.index} lies beyond the stored tree (${storedSize} leaves): an event with no place in it` });
      } else add({ kind: 'edited', leafIndex: m.index, detail: `the stored tree has no leaf ${m.index} for the event stored there` });
    }
  } finally {
    await source.close();
  }

  const durationMs = performance.now() - started;
  const root = tree.root();
  const listed = findings.listed.sort((a, b) => (a.leafIndex ?? Infinity) - (b.leafIndex ?? Infinity) || (a.size ?? 0) - (b.size ?? 0));
  return {
    ok: findings.total === 0,
    source: source.kind,
    location: source.location,
    leafOrder: source.leafOrder,
    events,
    treeSize: tree.size,
    rootHash: root ? hex(root) : null,
    publishedRootsChecked: publishedChecked,
    publishedRoot: matchedPublished,
    verifiedRootsChecked: verifiedChecked,
    findings: listed,
    findingsOmitted: findings.omitted,
    findingCounts: findings.counts,
    durationMs: Math.round(durationMs),
    eventsPerSecond: durationMs > 0 ? Math.round(events / (durationMs / 1000)) : 0,
  };
}
