// Proves that a root the upstream offers belongs to the gateway's verified history, or says why it
// cannot yet (NONE, with the reason) or why it never will (FAIL). A root of a size the history holds
// must be equal; a new size is proven with membership paths (src/merkle/extension.ts):
//
//   One search from the arrival time of a verified root's last leaf returns, in leaf order, every
//   event from about there on, with paths in the upstream's latest root R. The path of leaf x - 1
//   in R, folded through its left siblings, gives root(x). Asking for the leaves just below the
//   verified roots around the claim and below the claim itself (a few one-event v1/results pages)
//   shows that R extends the verified roots and that the claim is R's prefix of its size: the
//   claim is then proven, whatever its distance from the history, in a handful of requests.
//   A claim past what one result set reaches (10,000 events from the verified root it starts at)
//   is reached by stepping stones: roots PATH_HOP sizes apart, each proven the same way as R's
//   prefix and recorded, up to MAX_PATH_HOPS of them per proof. A burst of writes between two
//   searches would otherwise leave every verdict PENDING until the integrity monitor's next check.
//
// This needs leaves in arrival order with one event each (the local service). Against the cloud
// (a per-batch tree under each leaf) the prover chains the one-step consistency proofs v1/root
// offers, within a budget per call. Proofs of the same claim in flight at once are shared.
import type { AuditClient } from '../audit-client/index.js';
import type { PublishedRoot, SearchEvent } from '../wire/index.js';
import { PASS, PairCache, bytesToHex, fail, none, pathRoots, verifyConsistency, type Verification } from '../merkle/index.js';
import { verifyEnvelopeHashNative } from '../crypto/native-sha256.js';
import type { LastLeaf, VerifiedHistory, VerifiedRoot } from './verified-history.js';

interface RootClaim {
  tree_name: string;
  size: number;
  root_hash: string;
  published_at?: string;
}

interface RootProverOptions {
  client: Pick<AuditClient, 'root' | 'search' | 'results'>;
  history: VerifiedHistory;
  /** The upstream stores one event per leaf in arrival order (the local service). */
  oneEventPerLeaf: boolean;
  /** Without an anchor, accept the first root seen as one (INTEGRITY_TRUST_ON_FIRST_USE). */
  trustOnFirstUse: boolean;
  /** Published root by size through the gateway's cache (null: the upstream has none). */
  fetchRoot?: (size: number, signal?: AbortSignal) => Promise<PublishedRoot | null>;
  /** Most one-step proofs one call may chain (default 64). */
  maxChainSteps?: number;
  /** Most stepping stones one path proof may take (default MAX_PATH_HOPS). */
  maxPathHops?: number;
  log?: (line: string) => void;
}

/** A result set holds at most this many events, so one search reaches this far from its start. */
const MAX_RESULTS = 10_000;
/** Sizes between two stepping stones: within one result set's reach of the root before. */
export const PATH_HOP = 9000;
/** Stepping stones one proof takes at most (90,000 sizes); past that, the integrity monitor's checks go on. */
export const MAX_PATH_HOPS = 10;

const HEX64 = /^[0-9a-f]{64}$/;

/** The claim lies past the result set the proof read: prove `stone` first, then try again. */
interface OutOfReach {
  outOfReach: true;
  reason: string;
  stone: number;
}

export class RootProver {
  private readonly inflight = new Map<string, Promise<Verification>>();
  private readonly maxChainSteps: number;
  private readonly maxPathHops: number;
  /** Interior hashes shared by the one-step proofs of a chain: they climb the same right edge. */
  private readonly chainPairs = new PairCache(1024);

  constructor(private readonly options: RootProverOptions) {
    this.maxChainSteps = options.maxChainSteps ?? 64;
    this.maxPathHops = options.maxPathHops ?? MAX_PATH_HOPS;
  }

  get history(): VerifiedHistory {
    return this.options.history;
  }

  /** Is `claim` part of the verified history? Joins a proof of the same claim already running. */
  trust(claim: RootClaim, signal?: AbortSignal): Promise<Verification> {
    const quick = this.check(claim);
    if (quick) return Promise.resolve(quick);
    return this.shared(`${claim.size}:${claim.root_hash}`, () =>
      this.prove(claim, signal).catch((err: unknown) => none(`the root could not be checked against the verified history: ${describe(err)}`)),
    );
  }

  /** The proof running under `key`, or `run` started under it: one proof however many wait for it. */
  private shared(key: string, run: () => Promise<Verification>): Promise<Verification> {
    let running = this.inflight.get(key);
    if (!running) {
      running = run().finally(() => this.inflight.delete(key));
      this.inflight.set(key, running);
    }
    return running;
  }

  /** The answer when no request is needed: held sizes, malformed claims, no anchor. */
  check(claim: RootClaim): Verification | undefined {
    const history = this.options.history;
    if (!claim || typeof claim.root_hash !== 'string' || !HEX64.test(claim.root_hash.toLowerCase()) || !Number.isSafeInteger(claim.size) || claim.size < 1) {
      return fail('the root is malformed');
    }
    if (history.tree !== undefined && claim.tree_name !== history.tree) {
      return fail(`root(${claim.size}) is of tree "${claim.tree_name}", the verified history of tree "${history.tree}"`);
    }
    if (!history.anchored) {
      if (history.anchoringHeld !== null) return none(`the verified history cannot be anchored: ${history.anchoringHeld}`);
      if (this.options.trustOnFirstUse) {
        history.anchorAt('trust-on-first-use', claim.tree_name, { size: claim.size, rootHash: claim.root_hash.toLowerCase() });
        this.options.log?.(`audit-gateway: verified history anchored at root(${claim.size}) ${claim.root_hash} (trust on first use)`);
        return PASS;
      }
      return none('the gateway has no verified history yet (integrity UNANCHORED): run npm run audit:verify, or set INTEGRITY_TRUST_ON_FIRST_USE=true');
    }
    const held = history.get(claim.size);
    if (held) return held.rootHash === claim.root_hash.toLowerCase() ? PASS : this.contradiction(claim, held);
    if (!history.latest() && history.anchor === 'empty-log') {
      // Anchored at an empty log: the first root covers only events logged while the gateway watched.
      history.record({ size: claim.size, rootHash: claim.root_hash.toLowerCase() }, claim.tree_name);
      return PASS;
    }
    return undefined;
  }

  private contradiction(claim: RootClaim, held: VerifiedRoot): Verification {
    const reason = `root(${claim.size}) is ${claim.root_hash}, but the gateway verified ${held.rootHash} for that size: the audit service serves another history`;
    this.options.history.contradict(reason);
    return fail(reason);
  }

  private async prove(claim: RootClaim, signal?: AbortSignal): Promise<Verification> {
    if (this.options.oneEventPerLeaf) return this.proveInSteps(claim, signal);
    return this.proveByChain(claim, signal);
  }

  /** pathProof, through stepping stones when the claim lies past one result set's reach. */
  private async proveInSteps(claim: RootClaim, signal?: AbortSignal): Promise<Verification> {
    let lastStone = 0;
    for (let hops = 0; ; hops++) {
      const proof = await this.pathProof(claim.size, claim.root_hash.toLowerCase(), claim.tree_name, signal);
      if (!('outOfReach' in proof)) return proof;
      // A stone at or past the claim cannot bring the proof's start closer (what lies out of reach
      // is then a verified root far above the claim), nor can one already stepped on.
      if (hops >= this.maxPathHops || proof.stone >= claim.size || proof.stone <= lastStone) return none(proof.reason);
      lastStone = proof.stone;
      const stone = await this.proveStone(proof.stone, claim.tree_name, signal);
      if (stone.status !== 'PASS') return stone;
      // A stone's proof records the upstream's latest root too (the tree its paths lead to): when
      // that is the claim, it is answered.
      const held = this.check(claim);
      if (held) return held;
    }
  }

  /**
   * Proves a stepping stone: root(size) as whatever the upstream's latest root R makes it, with
   * paths from one result set, recorded with its last leaf. Proven once however many proofs (and
   * the integrity monitor's checks) step on it at the same time.
   */
  proveStone(size: number, treeName: string, signal?: AbortSignal): Promise<Verification> {
    if (this.options.history.get(size)?.lastLeaf) return Promise.resolve(PASS);
    return this.shared(`stone:${size}`, () => this.pathProof(size, undefined, treeName, signal).then((proof) => ('outOfReach' in proof ? none(proof.reason) : proof)));
  }

  /**
   * Proves root(size) — equal to `rootHash` when given, else whatever R's prefix is (a stepping
   * stone) — with paths from one result set; records it with its last leaf. Out of that set's
   * reach, says which stone to prove first.
   */
  private async pathProof(size: number, rootHash: string | undefined, treeName: string, signal?: AbortSignal): Promise<Verification | OutOfReach> {
    const history = this.options.history;
    const base = await this.baseFor(size, signal);
    if (!base?.lastLeaf) return none(`no verified root at or below size ${size} whose last leaf is known yet`);
    if (base.size > size) return none(`root(${size}) is older than the verified history's anchor at size ${base.size}`);
    const below = history.atMost(size);
    const above = history.above(size);
    const set = (
      await this.options.client.search(
        { query: '', start: base.lastLeaf.receivedAt, order: 'asc', order_by: 'received_at', limit: 1, max_results: MAX_RESULTS, verbose: true },
        { signal },
      )
    ).result;
    const first = set.events[0];
    if (!first || typeof first.leaf_index !== 'number' || first.leaf_index > base.size - 1) {
      return fail(`a search from the arrival time of leaf ${base.size - 1} did not return that leaf`);
    }
    const start = first.leaf_index;
    const needed = new Set<number>([base.size, size]);
    if (below && below.size > base.size) needed.add(below.size);
    // The verified root above the claim is shown to be R's prefix like the others, unless it is R
    // itself (the upstream's latest root, which the set's pages carry): their paths lead to it
    // then, however far past the set's reach it lies.
    const aboveIsTree = above !== undefined && set.root?.size === above.size && typeof set.root.root_hash === 'string' && set.root.root_hash.toLowerCase() === above.rootHash;
    if (above && !aboveIsTree) needed.add(above.size);
    const reach = start + Math.min(set.count, MAX_RESULTS);
    for (const x of needed) {
      if (x > reach) {
        return { outOfReach: true, reason: `root(${x}) is ${x - start} leaves past the result set that could prove it; the integrity monitor proves it in steps`, stone: base.size + PATH_HOP };
      }
    }
    let tree: { size: number; rootHash: string } | undefined;
    const proven = new Map<number, { rootHash: string; lastLeaf: LastLeaf }>();
    const read = async (x: number): Promise<Verification | undefined> => {
      const page = (await this.options.client.results({ id: set.id, offset: x - 1 - start, limit: 1 }, { signal })).result;
      const event = page.events[0];
      const root = page.root;
      if (!event || event.leaf_index !== x - 1 || event.published !== true) return fail(`the audit service did not return leaf ${x - 1} as published where its result set holds it`);
      // Its arrival time is where the next proof's search starts: it must be the hashed one.
      if (verifyEnvelopeHashNative(event.envelope, event.hash).status !== 'PASS') return fail(`leaf ${x - 1}'s envelope does not hash to its event hash`);
      if (!root || typeof root.root_hash !== 'string' || !Number.isSafeInteger(root.size)) return fail('the audit service withheld the root of a results page');
      if (root.tree_name !== treeName) return fail(`a results page is of tree "${root.tree_name}", not "${treeName}"`);
      if (tree && (tree.size !== root.size || tree.rootHash !== root.root_hash.toLowerCase())) return none('the latest root changed while the proof was read; it is proven on the next try');
      tree ??= { size: root.size, rootHash: root.root_hash.toLowerCase() };
      const roots = leafRoots(event, x - 1, tree.size);
      if (!roots.ok) return fail(`the path of leaf ${x - 1}: ${roots.reason}`);
      if (roots.root !== tree.rootHash) return fail(`the path of leaf ${x - 1} does not lead to the audit service's root(${tree.size})`);
      proven.set(x, { rootHash: roots.prefix, lastLeaf: { hash: event.hash.toLowerCase(), receivedAt: event.envelope.received_at } });
      return undefined;
    };
    // The reads are independent (each checks its page against the first root seen), so they go
    // out together: every search that meets a new root waits for its proof, and under load each
    // upstream call queues for milliseconds. With them, the last leaf of the latest root the
    // search answered with, so the next proof can start from it (the pages carry that root unless
    // one was published meanwhile). The first problem of a needed size, in size order, is the
    // answer, as when they were read in turn; the latest root's read only adds a FAIL.
    const ordered = [...needed].sort((a, b) => a - b);
    const latest = set.root?.size;
    const extra = typeof latest === 'number' && Number.isSafeInteger(latest) && latest > start && latest <= reach && !needed.has(latest) ? [latest] : [];
    const problems = await Promise.all([...ordered, ...extra].map((x) => read(x)));
    const problem = problems.slice(0, ordered.length).find((p) => p !== undefined);
    if (problem) return problem;
    const latestProblem = extra.length > 0 ? problems[ordered.length] : undefined;
    if (latestProblem?.status === 'FAIL') return latestProblem;
    if (aboveIsTree && (tree?.size !== above.size || tree.rootHash !== above.rootHash)) return none('the latest root changed while the proof was read; it is proven on the next try');
    // The latest root's own last leaf, when it was published after the search.
    if (tree && tree.size <= reach && !proven.has(tree.size)) {
      const problem = await read(tree.size);
      if (problem && problem.status === 'FAIL') return problem;
    }
    for (const [x, root] of proven) {
      const held = history.get(x);
      if (held && held.rootHash !== root.rootHash) {
        return this.contradiction({ tree_name: treeName, size: x, root_hash: root.rootHash }, held);
      }
    }
    const claimed = proven.get(size)!;
    if (rootHash !== undefined && claimed.rootHash !== rootHash) {
      const reason = `root(${size}) is ${rootHash}, but the audit service's root(${tree!.size}), which extends the verified history, makes it ${claimed.rootHash}: the audit service serves two histories`;
      history.contradict(reason);
      return fail(reason);
    }
    // R's prefixes are proven to belong to the history only up to the largest verified root R was
    // shown to extend. A verified root above that (R smaller than the latest verified root, or the
    // proof not reaching it) was not compared with R: an upstream could offer an R that keeps the
    // compared roots and rewrites the leaves after them, so nothing above the compared root is
    // recorded then. The claim itself lies at or below `above`, which was compared (or is R).
    const recordable = recordableUpTo(history, proven, tree);
    for (const [x, root] of proven) {
      if (x <= recordable) history.record({ size: x, rootHash: root.rootHash, lastLeaf: root.lastLeaf }, treeName);
    }
    if (tree && !proven.has(tree.size) && tree.size <= recordable) history.record({ size: tree.size, rootHash: tree.rootHash }, treeName);
    return PASS;
  }

  /**
   * The verified root the proof of root(size) starts from: the largest at or below `size` whose
   * last leaf is known (its arrival time is where the proof's search starts). When that one is too
   * far back for one result set to reach `size`, the largest root at or below `size` learns its last
   * leaf first: one recorded without it (the latest root of a results page that lay past the
   * result set, or an anchor from trust on first use), which under a high write rate is the usual
   * case. Below every verified root, the earliest one: the proof then says it is too old.
   */
  private async baseFor(size: number, signal?: AbortSignal): Promise<VerifiedRoot | undefined> {
    const history = this.options.history;
    const base = history.withLastLeafAtMost(size);
    if (base && size - base.size <= MAX_RESULTS / 2) return base;
    const nearest = history.atMost(size) ?? history.earliest();
    if (nearest && !nearest.lastLeaf) await this.findLastLeaf(nearest, signal);
    return history.withLastLeafAtMost(size) ?? history.earliest();
  }

  /**
   * Finds the last leaf of a verified root: the events that arrived before the root was published
   * end with it. Its path must make exactly that root.
   */
  async findLastLeaf(root: VerifiedRoot, signal?: AbortSignal): Promise<void> {
    const published = await this.options.fetchRoot?.(root.size, signal);
    const set = (
      await this.options.client.search(
        { query: '', ...(published?.published_at ? { end: published.published_at } : {}), order: 'desc', order_by: 'received_at', limit: 20, verbose: true },
        { signal },
      )
    ).result;
    const event = set.events.find((e) => e.leaf_index === root.size - 1 && e.published === true);
    if (!event || !set.root || verifyEnvelopeHashNative(event.envelope, event.hash).status !== 'PASS') return;
    const roots = leafRoots(event, root.size - 1, set.root.size);
    if (!roots.ok || roots.root !== set.root.root_hash.toLowerCase()) return;
    if (roots.prefix !== root.rootHash) {
      // The path is the upstream's own, leading to the root it answers with now, and it makes
      // root(size) something other than what was verified: that root does not extend the history.
      this.contradiction({ tree_name: set.root.tree_name, size: root.size, root_hash: roots.prefix }, root);
      return;
    }
    this.options.history.record({ ...root, lastLeaf: { hash: event.hash.toLowerCase(), receivedAt: event.envelope.received_at } }, set.root.tree_name);
  }

  /** One-step proofs from v1/root: from the verified root below the claim to it, and on to the one above. */
  private async proveByChain(claim: RootClaim, signal?: AbortSignal): Promise<Verification> {
    const history = this.options.history;
    const below = history.atMost(claim.size);
    const above = history.above(claim.size);
    if (!below) return none(`root(${claim.size}) is older than the verified history's anchor`);
    const end = above?.size ?? claim.size;
    if (end - below.size > this.maxChainSteps) {
      return none(`root(${claim.size}) is ${claim.size - below.size} sizes from the verified history; the integrity monitor chains it`);
    }
    const fetchRoot = this.options.fetchRoot ?? (async (size: number) => (await this.options.client.root({ tree_size: size }, { signal })).result.data);
    const sizes = Array.from({ length: end - below.size }, (_, i) => below.size + 1 + i);
    const roots = await Promise.all(sizes.map((s) => (s === claim.size ? Promise.resolve(claim as PublishedRoot) : fetchRoot(s, signal))));
    let previous = { size: below.size, root_hash: below.rootHash };
    for (const root of roots) {
      if (!root) return fail(`the audit service withheld a published root between sizes ${below.size} and ${end}`);
      const step = verifyConsistency({ oldRootHash: previous.root_hash, newRootHash: root.root_hash, proof: root.consistency_proof, sizes: { oldSize: previous.size, newSize: root.size } }, this.chainPairs.hash);
      if (step.status !== 'PASS') {
        const reason = `root(${previous.size}) -> root(${root.size}): ${step.reason ?? 'no consistency proof'}`;
        history.contradict(reason);
        return fail(reason);
      }
      previous = root;
    }
    if (above && previous.root_hash.toLowerCase() !== above.rootHash) {
      return this.contradiction({ tree_name: claim.tree_name, size: above.size, root_hash: previous.root_hash }, above);
    }
    history.record({ size: claim.size, rootHash: claim.root_hash.toLowerCase() }, claim.tree_name);
    return PASS;
  }
}

function leafRoots(event: SearchEvent, leafIndex: number, treeSize: number): { ok: true; root: string; prefix: string } | { ok: false; reason: string } {
  if (typeof event.hash !== 'string' || typeof event.membership_proof !== 'string') return { ok: false, reason: 'hash or membership proof withheld' };
  const roots = pathRoots({ hash: event.hash, proof: event.membership_proof, leafIndex, treeSize, oneEventPerLeaf: true });
  return roots.ok ? { ok: true, root: bytesToHex(roots.root), prefix: bytesToHex(roots.prefixRoot) } : roots;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * The largest size at which the upstream's latest root R (`tree`) is known to agree with the
 * verified history: every size when R was shown to extend the latest verified root (its prefix of
 * that size read and equal, or R being that root), else the largest verified root R's prefixes
 * matched.
 */
function recordableUpTo(history: VerifiedHistory, proven: ReadonlyMap<number, { rootHash: string }>, tree: { size: number; rootHash: string } | undefined): number {
  let matched = 0;
  for (const [x, root] of proven) {
    if (x > matched && history.get(x)?.rootHash === root.rootHash) matched = x;
  }
  if (tree && tree.size > matched && history.get(tree.size)?.rootHash === tree.rootHash) matched = tree.size;
  const latest = history.latest();
  return latest === undefined || matched >= latest.size ? Number.POSITIVE_INFINITY : matched;
}
