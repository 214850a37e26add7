// What the gateway knows about its upstream beyond one request: published roots (immutable, so
// cached across requests, per tree), the verified history that every verdict is held against and
// the prover that extends it, the last root a verified log chained to, the signing keys it trusts,
// the witness, and whether the upstream stores one event per leaf (the local service), which
// allows exact proof-shape checks.
import { AbortSource, type AuditClient } from '../audit-client/index.js';
import type { PublishedRoot } from '../wire/index.js';
import { fail, keepableRootRecord, type Verification } from '../merkle/index.js';
import { RootProver } from '../trust/root-prover.js';
import type { TrustedKeys } from '../trust/trusted-keys.js';
import { VerifiedHistory } from '../trust/verified-history.js';
import type { RootWitness } from '../trust/witness.js';

/** One upstream fetch of a root, and how many requests still wait for it. */
interface SharedFetch {
  answer: Promise<PublishedRoot | undefined>;
  controller: AbortSource;
  waiting: number;
}

/** The proven roots the cache holds its records against. */
export interface ProvenRoots {
  history: VerifiedHistory;
  /**
   * Reports `root`, of a size `history` holds with another hash, as the contradiction it is (the
   * upstream serves two histories); returns the FAIL naming it.
   */
  contradict(root: PublishedRoot): Verification;
}

/**
 * Published roots by tree and size. Apart from the roots the verified history holds, a kept root is
 * only what the upstream answered first, a claim: the page verifier checks it against the page's
 * proven root, never takes it for proven. A root of a size the history holds must equal the proven
 * one: it is neither kept nor handed out otherwise, whichever was learned first, so one forged
 * answer cannot fail the events that need that size for longer than the request it came in.
 */
export class PublishedRootCache {
  /**
   * Kept roots by tree, then by size: a page looks up about two sizes per event, and a key made of
   * both would be built and hashed on every lookup.
   */
  private readonly byTree = new Map<string, Map<number, PublishedRoot>>();
  /** The kept records in the order they were kept, for forgetting the oldest. */
  private readonly keptOrder = new Set<PublishedRoot>();
  private readonly fetching = new Map<string, SharedFetch>();

  // Bounded by entries: a root with its proof is a few KB, so this stays in the tens of MB.
  constructor(
    private readonly maxEntries = 10_000,
    private readonly proven?: ProvenRoots,
  ) {}

  private key(treeName: string, size: number): string {
    return `${treeName}#${size}`;
  }

  /**
   * The kept root of `size`. One that a root proven since it was kept contradicts is forgotten
   * (and the contradiction reported) instead: the next load fetches the size again.
   */
  get(treeName: string, size: number): PublishedRoot | undefined {
    const kept = this.byTree.get(treeName)?.get(size);
    if (kept && this.differsFromProven(kept)) {
      this.forget(kept);
      this.proven!.contradict(kept);
      return undefined;
    }
    return kept;
  }

  /**
   * Why `root` must not be used: the verified history holds its size with another hash (the
   * contradiction is reported, and a kept record like it forgotten). Undefined when it equals the
   * proven root or its size is not held: then it is a claim, checked like any other.
   */
  conflict(root: PublishedRoot): Verification | undefined {
    if (!this.differsFromProven(root)) return undefined;
    const kept = this.byTree.get(root.tree_name)?.get(root.size);
    if (kept && this.differsFromProven(kept)) this.forget(kept);
    return this.proven!.contradict(root);
  }

  /**
   * Forgets `root`, a claim the page verifier found false (not the prefix of a proven root that an
   * event's path shows), if it is the one kept: the next page fetches that size again rather than
   * failing on an earlier answer.
   */
  forgetFalseClaim(root: PublishedRoot): void {
    if (this.byTree.get(root.tree_name)?.get(root.size) === root) this.forget(root);
  }

  /** The history holds `root`'s size (in its tree, or in any while it knows none) with another hash. */
  private differsFromProven(root: PublishedRoot): boolean {
    const history = this.proven?.history;
    if (!history || (history.tree !== undefined && history.tree !== root.tree_name)) return false;
    const held = history.get(root.size);
    return held !== undefined && (typeof root.root_hash !== 'string' || root.root_hash.toLowerCase() !== held.rootHash);
  }

  private forget(record: PublishedRoot): void {
    this.keptOrder.delete(record);
    const sizes = this.byTree.get(record.tree_name);
    if (sizes?.get(record.size) === record) sizes.delete(record.size);
    if (sizes?.size === 0) this.byTree.delete(record.tree_name);
  }

  /**
   * The root of `size` in `treeName`: from the cache, else from `fetch`, whose answer is kept.
   * Right after a publication every client's next page shows newly published events, and
   * neighbouring leaves of different callers need the same sizes: one fetch of a size serves
   * every request that asks for it while it runs. It is stopped only when all of them have gone
   * (their signals aborted), so one caller leaving never fails another's page. Resolves with the
   * upstream's answer as it is, which may be of another size or tree, or contradict a proven root
   * (then it is not kept): the caller checks, with `conflict` for the last.
   */
  load(treeName: string, size: number, fetch: (signal: AbortSignal) => Promise<PublishedRoot | undefined>, signal?: AbortSignal): Promise<PublishedRoot | undefined> {
    const cached = this.get(treeName, size);
    if (cached) return Promise.resolve(cached);
    const key = this.key(treeName, size);
    if (signal?.aborted) return Promise.reject(signal.reason);
    let shared = this.fetching.get(key);
    if (!shared) {
      const controller = new AbortSource();
      const answer: Promise<PublishedRoot | undefined> = fetch(controller.signal)
        .then((root) => {
          this.set(root);
          return root;
        })
        .finally(() => {
          if (this.fetching.get(key)?.answer === answer) this.fetching.delete(key);
        });
      // Every waiter may have gone before it settles: its failure is then nobody's to handle.
      answer.catch(() => undefined);
      shared = { answer, controller, waiting: 0 };
      this.fetching.set(key, shared);
    }
    const joined = shared;
    joined.waiting++;
    if (!signal) return joined.answer;
    return new Promise((resolve, reject) => {
      const leave = (): void => {
        if (--joined.waiting === 0) {
          // A request that comes after this starts its own fetch instead of joining a stopped one.
          if (this.fetching.get(key) === joined) this.fetching.delete(key);
          joined.controller.abort(signal.reason);
        }
        reject(signal.reason);
      };
      signal.addEventListener('abort', leave, { once: true });
      joined.answer.finally(() => signal.removeEventListener('abort', leave)).then(resolve, reject);
    });
  }

  /**
   * Remembers a root under its own tree. A root that contradicts the proven one of its size is
   * reported and not kept. Otherwise the first root seen for a size is kept: a published root never
   * changes, so a later, different one is the upstream's claim to be checked against it, never a
   * replacement (a forged first one lasts only until the history proves that size: see `get`).
   */
  set(root: PublishedRoot | undefined): void {
    if (typeof root?.tree_name !== 'string' || !Number.isSafeInteger(root.size)) return;
    if (this.conflict(root)) return;
    if (this.get(root.tree_name, root.size)) return;
    if (this.keptOrder.size >= this.maxEntries) this.forget(this.keptOrder.values().next().value!);
    let sizes = this.byTree.get(root.tree_name);
    if (!sizes) this.byTree.set(root.tree_name, (sizes = new Map<number, PublishedRoot>()));
    // A frozen copy, proof included: nothing can change it, so verifyPage keeps the verdicts of
    // its consistency pairs from page to page.
    const record = keepableRootRecord(root);
    sizes.set(record.size, record);
    this.keptOrder.add(record);
  }
}

/** Fetches the published root of `size` from the upstream (for PublishedRootCache.load). */
export function rootFetch(client: Pick<AuditClient, 'root'>, size: number): (signal?: AbortSignal) => Promise<PublishedRoot> {
  return async (signal) => (await client.root({ tree_size: size }, signal ? { signal } : {})).result.data;
}

/** A root that verified logs chained, every link proven. */
export interface ChainedRoot {
  rootHash: string;
  /** The chain starts at a root of the verified history (else only at an earlier log's root). */
  anchored: boolean;
  /** Its size, when known (a root of the verified history): the consistency proof's shape is checked. */
  size?: number;
}

export interface UpstreamState {
  roots: PublishedRootCache;
  /** The published roots the gateway has proven, from its anchor. */
  history: VerifiedHistory;
  /** Proves offered roots against `history`. */
  prover: RootProver;
  /** The upstream keeps one event per leaf (true for the local service; the cloud nests batches). */
  oneEventPerLeaf: boolean;
  /** The last unpublished root a verified log proved: the next verified log's prev_root while the verified history has no root. */
  lastVerifiedRoot: ChainedRoot | undefined;
  /** The keys allowed to sign events, when the operator listed them. */
  trustedKeys: TrustedKeys | undefined;
  /** The independent copy of published roots, when one is configured. */
  witness: RootWitness | undefined;
}

export interface UpstreamStateOptions {
  client: Pick<AuditClient, 'root' | 'search' | 'results'>;
  oneEventPerLeaf: boolean;
  /** Without a persisted anchor, accept the first root seen (INTEGRITY_TRUST_ON_FIRST_USE). */
  trustOnFirstUse?: boolean;
  /** A history to share (the integrity monitor's); a fresh one when absent. */
  history?: VerifiedHistory;
  trustedKeys?: TrustedKeys | undefined;
  witness?: RootWitness | undefined;
  log?: (line: string) => void;
}

export function createUpstreamState(options: UpstreamStateOptions): UpstreamState {
  const history = options.history ?? new VerifiedHistory();
  // The prover's check reports a root of a held size with another hash as the contradiction.
  const roots: PublishedRootCache = new PublishedRootCache(undefined, {
    history,
    contradict: (root): Verification => prover.check(root) ?? fail(`root(${root.size}) differs from the root the gateway verified for that size`),
  });
  const prover: RootProver = new RootProver({
    client: options.client,
    history,
    oneEventPerLeaf: options.oneEventPerLeaf,
    trustOnFirstUse: options.trustOnFirstUse ?? false,
    fetchRoot: async (size, signal) => {
      const fetch = rootFetch(options.client, size);
      const tree = history.tree;
      if (tree === undefined) {
        const root = await fetch(signal);
        roots.set(root);
        return root;
      }
      return (await roots.load(tree, size, fetch, signal)) ?? null;
    },
    ...(options.log ? { log: options.log } : {}),
  });
  return {
    roots,
    history,
    prover,
    oneEventPerLeaf: options.oneEventPerLeaf,
    lastVerifiedRoot: undefined,
    trustedKeys: options.trustedKeys,
    witness: options.witness,
  };
}
