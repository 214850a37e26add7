// Verifies every event of one search page against the page's roots, sharing work between events:
// each published root's consistency check runs once per page, and interior hashes computed for
// one consistency proof are reused by every other proof of the page that needs the same pair.
import { PairCache } from './pair-cache.js';
import { PASS, fail, guarded, none, type Verification } from './result.js';
import { verifySignature as verifySignatureDefault, type SignatureInput } from './signature.js';
import { verifyConsistency, verifyEnvelopeHash, verifyMembership } from './verify.js';

export interface PageEnvelope {
  event: Record<string, unknown>;
  received_at?: string;
  signature?: string;
  public_key?: string;
  [key: string]: unknown;
}

/** One event as `v1/search` and `v1/results` return it. */
export interface PageEvent {
  envelope: PageEnvelope;
  hash: string;
  membership_proof?: string;
  published?: boolean;
  leaf_index?: number;
}

export interface RootLike {
  root_hash: string;
  size: number;
  consistency_proof?: string[];
}

export interface PageRoots {
  /** Latest published root: published events prove membership against it. */
  root?: RootLike;
  /** Current unpublished root: unpublished events prove membership against it. */
  unpublished_root?: RootLike;
}

export interface EventVerification {
  hash: Verification;
  membership: Verification;
  consistency: Verification;
  signature: Verification;
}

export interface VerifyPageOptions {
  /** Published root of a given size, if known (the caller fetches the sizes `rootSizesNeeded` names). */
  publishedRoot?: (size: number) => RootLike | undefined;
  /** The upstream stores one event per leaf (the local service): proofs must match leaf_index exactly. */
  oneEventPerLeaf?: boolean;
  /** Replaces the pure-JS Ed25519 check (a server can pass a native one). */
  verifySignature?: (input: SignatureInput) => Verification;
}

/** The published-root sizes the consistency checks of a page need: L and L+1 for each leaf_index L > 0. */
export function rootSizesNeeded(events: readonly PageEvent[]): number[] {
  const sizes = new Set<number>();
  for (const e of events) {
    if (e.published && typeof e.leaf_index === 'number' && e.leaf_index > 0) {
      sizes.add(e.leaf_index);
      sizes.add(e.leaf_index + 1);
    }
  }
  return [...sizes].sort((a, b) => a - b);
}

/** A record for a published root must be for the size asked for (when it states one). */
function wrongSize(record: RootLike, size: number): Verification | null {
  return typeof record.size === 'number' && record.size !== size
    ? fail(`the published root record for size ${size} says size ${record.size}`)
    : null;
}

/** The verdicts for a page entry that is not an event object at all. */
function notAnEvent(): EventVerification {
  const bad = (): Verification => fail('page entry is not an event object');
  return { hash: bad(), membership: bad(), consistency: bad(), signature: bad() };
}

/**
 * Checks every event of a page. Upstream data is untrusted: a malformed entry, root record or a
 * throwing callback gives FAIL verdicts with reasons, never an exception (only a non-array
 * `events` is a programming error and throws a TypeError).
 */
export function verifyPage(events: readonly PageEvent[], roots: PageRoots, options: VerifyPageOptions = {}): EventVerification[] {
  if (!Array.isArray(events)) throw new TypeError('verifyPage: events must be an array');
  roots ??= {};
  const checkSignature = options.verifySignature ?? verifySignatureDefault;
  // Sized to the page: 64 slots per event covers its proofs' distinct pairs, up to 4096 (256 KB).
  const pairHasher = new PairCache(Math.min(4096, Math.max(64, events.length * 64))).hash;
  const consistencyByLeaf = new Map<number, Verification>();

  /** Root(leaf) -> root(leaf + 1), from the published roots the caller supplies. */
  const checkPublishedPair = (leaf: number): Verification => {
    const older = options.publishedRoot?.(leaf);
    const newer = options.publishedRoot?.(leaf + 1);
    if (!older || !newer) return none(`published roots ${leaf} and ${leaf + 1} are not available`);
    return (
      wrongSize(older, leaf) ??
      wrongSize(newer, leaf + 1) ??
      verifyConsistency(
        {
          oldRootHash: older.root_hash,
          newRootHash: newer.root_hash,
          proof: newer.consistency_proof,
          sizes: { oldSize: leaf, newSize: leaf + 1 },
        },
        pairHasher,
      )
    );
  };

  const consistencyFor = (event: PageEvent): Verification => {
    if (!event.published) return none('event is not published yet');
    const leaf = event.leaf_index;
    if (typeof leaf !== 'number') return none('published event has no leaf index');
    if (leaf === 0) return PASS;
    let result = consistencyByLeaf.get(leaf);
    if (!result) {
      result = checkPublishedPair(leaf);
      consistencyByLeaf.set(leaf, result);
    }
    return result;
  };

  return events.map((event: PageEvent | null | undefined) => {
    if (event === null || typeof event !== 'object') return notAnEvent();
    const root = event.published ? roots.root : roots.unpublished_root;
    const position =
      event.published && root && typeof event.leaf_index === 'number'
        ? { leafIndex: event.leaf_index, treeSize: root.size, oneEventPerLeaf: options.oneEventPerLeaf ?? false }
        : undefined;
    const envelope = event.envelope;
    return {
      hash: verifyEnvelopeHash(envelope, event.hash),
      membership: verifyMembership(
        {
          hash: event.hash,
          proof: event.membership_proof,
          rootHash: root?.root_hash,
          ...(position ? { position } : {}),
        },
        pairHasher,
      ),
      // The callbacks (publishedRoot, verifySignature) are the caller's code: a throw is a FAIL.
      consistency: guarded(() => consistencyFor(event)),
      signature: guarded(() =>
        checkSignature({ event: envelope?.event, signature: envelope?.signature, publicKey: envelope?.public_key }),
      ),
    };
  });
}
