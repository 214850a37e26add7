// Verifies every event of one search page against the page's roots, sharing work between events:
// each published root's consistency check runs once per page, and interior hashes computed for
// one consistency proof are reused by every other proof of the page that needs the same pair.
import type { PathRoots } from './extension.js';
import { bytesEqual, bytesToHex, digestFromHex } from './hex.js';
import { PairCache } from './pair-cache.js';
import { PathRootsMemo } from './path-memo.js';
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
  /** Replaces the pure-JS SHA-256 of the event hash check (a server can pass a native one). */
  sha256Hex?: (text: string) => string;
  /**
   * Every hash, proof, root, leaf index and published flag was asked for (a verbose search): one
   * that is absent was withheld, which is a FAIL naming it, not "nothing to verify".
   */
  proofsRequested?: boolean;
  /**
   * Whether `roots.root` is part of the caller's verified history: PASS (equal to, or proven to
   * extend, roots it has verified), FAIL (contradicts them) or NONE with the reason it is not
   * proven yet. Part of every published event's consistency verdict when given.
   */
  pageRootTrust?: Verification;
  /** The verdict for a published root of `size` that `publishedRoot` could not supply (default NONE). */
  missingRoot?: (size: number) => Verification;
  /**
   * Called when the published root of `size` is not the prefix of the page's root that an event's
   * path proves (`provenHex`). With a PASS `pageRootTrust` that prefix is proven, so the published
   * root is proven false, not merely unproven: the caller may forget it and fetch again.
   */
  onPrefixMismatch?: (size: number, published: RootLike, provenHex: string) => void;
}

/**
 * The published-root sizes the consistency checks of a page need: for each published leaf index
 * L, root L + 1 (the prefix of the page's root that the event's path proves) and, for L > 0, root
 * L (proven into root L + 1 by the latter's one-step consistency proof).
 */
export function rootSizesNeeded(events: readonly PageEvent[]): number[] {
  const sizes = new Set<number>();
  for (const e of events) {
    if (e && e.published === true && typeof e.leaf_index === 'number' && Number.isSafeInteger(e.leaf_index) && e.leaf_index >= 0) {
      if (e.leaf_index > 0) sizes.add(e.leaf_index);
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

/** A failed one-step consistency check says which published roots it was between. */
function namingPair(leaf: number, verdict: Verification): Verification {
  return verdict.status === 'FAIL' ? fail(`published root(${leaf}) → root(${leaf + 1}): ${verdict.reason ?? 'does not hold'}`) : verdict;
}

/** The verdicts for a page entry that is not an event object at all. */
function notAnEvent(): EventVerification {
  const bad = (): Verification => fail('page entry is not an event object');
  return { hash: bad(), membership: bad(), consistency: bad(), signature: bad() };
}

/**
 * Interior hashes kept from page to page (pair-cache.ts): pages verified one after another share
 * the top of the tree and the right spine their consistency proofs climb, and a cache made per
 * page cost a zeroed 128 KB buffer for each 20-event page, garbage after one use. 8192 slots
 * (512 KB of inputs) hold the distinct pairs of a 1000-event page's proofs near the top. A slot
 * answers only for the exact 64 input bytes it holds, so sharing it between callers can cost a
 * miss, never a wrong hash; verifyPage runs synchronously, so pages never interleave in it.
 */
const sharedPairs = new PairCache(8192);

/**
 * What published events' paths proved, kept from page to page (path-memo.ts): an event shown again
 * comes with the same proof, and deriving its path is about half of a warm page's verification.
 * 4096 paths of a tree of a million leaves (about 1.3 KB each with their proof text) are about
 * 5 MB; a 1000-event page fits four times.
 */
const keptPaths = new PathRootsMemo(4096);

/**
 * Consistency verdicts of published-root pairs, kept from page to page. An event at leaf L is
 * judged with the pair root(L) -> root(L+1), the same pair on every page that shows the event
 * again, and checking its proof (about seven items of about six steps each, parsed from hex and
 * hashed) is most of a warm page's verification. A verdict is kept on the newer record itself,
 * with the older record and the leaf it was reached for, and only for records keepableRootRecord
 * made: their contents cannot have changed since, so the kept verdict is what checking again would
 * give. Any other record is checked every time.
 */
const pairVerdicts = new WeakMap<RootLike, { older: RootLike; leaf: number; verdict: Verification }>();
const unchangeableRecords = new WeakSet<RootLike>();

/**
 * A copy of a published-root record whose consistency verdicts verifyPage may keep from page to
 * page: plain data members (a getter's value is read once, here) and a copy of the proof array,
 * all frozen. For records a caller keeps across pages, such as a cache of published roots, which
 * never change.
 */
export function keepableRootRecord<T extends RootLike>(record: T): T {
  const proof: unknown = record.consistency_proof;
  const copy = Object.freeze({ ...record, ...(Array.isArray(proof) ? { consistency_proof: Object.freeze([...(proof as unknown[])]) } : {}) }) as T;
  unchangeableRecords.add(copy);
  return copy;
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
  const pairHasher = sharedPairs.hash;
  const consistencyByLeaf = new Map<number, Verification>();
  const strict = options.proofsRequested ?? false;
  const absent = (what: string): Verification => (strict ? fail(`${what} was asked for and withheld`) : none(`no ${what}`));
  const missingRoot = (size: number): Verification => options.missingRoot?.(size) ?? none(`published root ${size} is not available`);

  /** Root(leaf) -> root(leaf + 1), from the published roots the caller supplies. */
  const checkPublishedPair = (leaf: number): Verification => {
    const older = options.publishedRoot?.(leaf);
    const newer = options.publishedRoot?.(leaf + 1);
    if (!older) return missingRoot(leaf);
    if (!newer) return missingRoot(leaf + 1);
    if (newer.consistency_proof === undefined || newer.consistency_proof === null) return absent(`consistency proof of published root(${leaf + 1})`);
    const unchangeable = unchangeableRecords.has(older) && unchangeableRecords.has(newer);
    if (unchangeable) {
      const kept = pairVerdicts.get(newer);
      if (kept && kept.older === older && kept.leaf === leaf) return kept.verdict;
    }
    const verdict =
      wrongSize(older, leaf) ??
      wrongSize(newer, leaf + 1) ??
      namingPair(
        leaf,
        verifyConsistency(
          {
            oldRootHash: older.root_hash,
            newRootHash: newer.root_hash,
            proof: newer.consistency_proof,
            sizes: { oldSize: leaf, newSize: leaf + 1 },
          },
          pairHasher,
        ),
      );
    if (unchangeable) pairVerdicts.set(newer, { older, leaf, verdict });
    return verdict;
  };

  /**
   * The published root of size leaf + 1 must be the prefix of the page's root that the event's own
   * path proves: otherwise the published history and the page's tree are two different logs.
   */
  // What a published event's path makes (the page root and the root of its first leaf+1 leaves),
  // worked out once: membership and the prefix check both read it.
  const derivedPaths = new Map<PageEvent, PathRoots | undefined>();
  const derivedPath = (event: PageEvent, root: RootLike, leaf: number): PathRoots | undefined => {
    if (derivedPaths.has(event)) return derivedPaths.get(event);
    const derived =
      typeof event.hash === 'string' && typeof event.membership_proof === 'string'
        ? keptPaths.derive({ hash: event.hash, proof: event.membership_proof, leafIndex: leaf, treeSize: root.size, oneEventPerLeaf: options.oneEventPerLeaf ?? false }, pairHasher)
        : undefined;
    derivedPaths.set(event, derived);
    return derived;
  };
  /** The path leads to the page's root (the membership proof holds). */
  const leadsToRoot = (derived: PathRoots | undefined, root: RootLike): derived is Extract<PathRoots, { ok: true }> => {
    const rootHash = typeof root.root_hash === 'string' ? digestFromHex(root.root_hash) : null;
    return derived !== undefined && derived.ok && rootHash !== null && bytesEqual(derived.root, rootHash);
  };

  const checkPrefix = (event: PageEvent, root: RootLike, leaf: number): Verification | undefined => {
    const derived = derivedPath(event, root, leaf);
    // A path that does not lead to the page's root is membership's failure; it proves nothing here.
    if (!leadsToRoot(derived, root)) return undefined;
    const published = options.publishedRoot?.(leaf + 1);
    if (!published) return missingRoot(leaf + 1);
    const wrong = wrongSize(published, leaf + 1);
    if (wrong) return wrong;
    const claimed = typeof published.root_hash === 'string' ? digestFromHex(published.root_hash) : null;
    if (!claimed || !bytesEqual(claimed, derived.prefixRoot)) {
      options.onPrefixMismatch?.(leaf + 1, published, bytesToHex(derived.prefixRoot));
      return fail(
        `published root(${leaf + 1}) ${String(published.root_hash)} is not the first ${leaf + 1} leaves of the page's root (the event's path makes it ${bytesToHex(derived.prefixRoot)})`,
      );
    }
    return PASS;
  };

  const consistencyFor = (event: PageEvent, root: RootLike | undefined): Verification => {
    if (typeof event.published !== 'boolean') return absent('published flag');
    if (!event.published) return none('event is not published yet');
    const leaf = event.leaf_index;
    if (typeof leaf !== 'number') return absent('leaf index');
    if (!root) return absent('published root');
    const parts: Verification[] = [];
    if (options.pageRootTrust) parts.push(options.pageRootTrust);
    if (leaf > 0) {
      let pair = consistencyByLeaf.get(leaf);
      if (!pair) {
        pair = checkPublishedPair(leaf);
        consistencyByLeaf.set(leaf, pair);
      }
      parts.push(pair);
    }
    const prefix = options.pageRootTrust || strict ? checkPrefix(event, root, leaf) : undefined;
    if (prefix) parts.push(prefix);
    return parts.find((p) => p.status === 'FAIL') ?? parts.find((p) => p.status === 'NONE') ?? PASS;
  };

  const membershipFor = (event: PageEvent, root: RootLike | undefined): Verification => {
    if (typeof event.published !== 'boolean') return absent('published flag');
    if (!event.hash) return absent('event hash');
    if (event.membership_proof === null || event.membership_proof === undefined) return absent('membership proof');
    if (!root) return absent(event.published ? 'published root' : 'unpublished root');
    if (event.published && typeof event.leaf_index !== 'number' && strict) return absent('leaf index');
    const position =
      event.published && typeof event.leaf_index === 'number'
        ? { leafIndex: event.leaf_index, treeSize: root.size, oneEventPerLeaf: options.oneEventPerLeaf ?? false }
        : undefined;
    // A published event's path is derived once for membership and the prefix check; only a path
    // that fails goes through verifyMembership again, for the exact reason.
    if (position && (options.pageRootTrust || strict) && leadsToRoot(derivedPath(event, root, position.leafIndex), root)) return PASS;
    return verifyMembership(
      {
        hash: event.hash,
        proof: event.membership_proof,
        rootHash: root.root_hash,
        ...(position ? { position } : {}),
      },
      pairHasher,
    );
  };

  return events.map((event: PageEvent | null | undefined) => {
    if (event === null || typeof event !== 'object') return notAnEvent();
    const root = event.published === true ? roots.root : event.published === false ? roots.unpublished_root : undefined;
    const envelope = event.envelope;
    return {
      hash: event.hash ? verifyEnvelopeHash(envelope, event.hash, options.sha256Hex) : absent('event hash'),
      membership: guarded(() => membershipFor(event, root)),
      // The callbacks (publishedRoot, verifySignature) are the caller's code: a throw is a FAIL.
      consistency: guarded(() => consistencyFor(event, root)),
      signature: guarded(() =>
        checkSignature({ event: envelope?.event, signature: envelope?.signature, publicKey: envelope?.public_key }),
      ),
    };
  });
}
