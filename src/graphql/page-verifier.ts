// Verifies one page of search results, once, when the first event's `verification` is asked for.
// Every verdict is held against the gateway's verified history: the page's root must be one of its
// roots or be proven to extend them first (src/trust/root-prover.ts), each published root the
// consistency checks use must be the prefix of that root which the event's own path proves, and
// everything the gateway asked for (hashes, proofs, roots, leaf indexes, the published flag) is
// required: withheld is FAIL. Roots come from the cross-request cache or the request's DataLoader;
// one of a size the verified history holds is used only when it is the proven root (another is a
// contradiction, and FAIL for the events that need it); the others are the upstream's claims, held
// to the page's proven root by the checks. Then src/merkle's verifyPage runs over the whole page so
// work shared between events is done once. Signature verdicts are memoised by their exact inputs
// across requests.
import { hash as digestOf } from 'node:crypto';
import type { PublishedRoot, SearchEvent, UnpublishedRoot } from '../wire/index.js';
import { verifySignatureNative } from '../crypto/native-ed25519.js';
import { sha256HexNative } from '../crypto/native-sha256.js';
import {
  canonicalParsedJson,
  fail,
  none,
  overallVerdict,
  rootSizesNeeded,
  verifyPage,
  type EventVerification,
  type PageEvent,
  type SignatureInput,
  type Verdict,
  type Verification,
} from '../merkle/index.js';
import { applyKeyTrust } from '../trust/trusted-keys.js';
import type { GraphQLContext } from './context.js';
import { rootKey } from './loaders.js';
import { inSpan, verdictCounts } from './spans.js';

const SIGNATURE_VERDICTS = 10_000;
const signatureVerdicts = new Map<string, Verification>();

/**
 * Ed25519 checks are most of a page's verification, and the same events come back page after
 * page. A verdict is a pure function of (canonical event, signature, public key) — the exact
 * inputs verifySignatureNative checks — so it is kept under the sha256 of an unambiguous
 * encoding of those inputs (a JSON array, so no two input triples share a key), never under
 * anything the upstream merely claims such as the event hash, and reused across requests
 * (bounded, oldest forgotten first). Whether the key is trusted is decided after, per tenant.
 */
function verifySignatureCached(input: SignatureInput): Verification {
  if (typeof input.signature !== 'string' || typeof input.publicKey !== 'string') return verifySignatureNative(input);
  let canonical: string;
  try {
    canonical = canonicalParsedJson(input.event);
  } catch {
    return verifySignatureNative(input);
  }
  const key = digestOf('sha256', JSON.stringify([input.signature, input.publicKey, canonical]), 'base64');
  const known = signatureVerdicts.get(key);
  if (known) return known;
  const verdict = verifySignatureNative(input);
  if (signatureVerdicts.size >= SIGNATURE_VERDICTS) signatureVerdicts.delete(signatureVerdicts.keys().next().value!);
  signatureVerdicts.set(key, verdict);
  return verdict;
}

/** One event's checks, the witness's word on its root, and the overall verdict. */
export interface GatewayEventVerification extends EventVerification {
  witness: Verification;
  verdict: Verdict;
  verdictReason: string | undefined;
}

const NOT_PUBLISHED: Verification = Object.freeze(none('the event is not published yet'));
const NO_WITNESS: Verification = Object.freeze(none('no witness is configured'));

/** What a page's published root needs before its events can be judged. */
interface RootFacts {
  trust: Verification;
  witness: Verification;
  witnessRequired: boolean;
}

export class PageVerifier {
  private result: GatewayEventVerification[] | Promise<GatewayEventVerification[]> | undefined;

  constructor(
    readonly events: readonly SearchEvent[],
    readonly root: PublishedRoot | undefined,
    readonly unpublishedRoot: UnpublishedRoot | undefined,
    private readonly ctx: GraphQLContext,
  ) {}

  /**
   * The event's verdicts. Synchronous when every root the page needs is already cached and the
   * page's root is already in the verified history (a warm page): then no event of the page waits
   * on a promise, and GraphQL completes the page's objects without a promise per object.
   */
  verification(index: number): GatewayEventVerification | Promise<GatewayEventVerification> {
    this.result ??= inSpan('audit.verify_page', { 'audit.events': this.events.length }, () => this.verifyAll(), (all) => verdictCounts(all.map((v) => v.verdict)));
    const result = this.result;
    return Array.isArray(result) ? result[index]! : result.then((all) => all[index]!);
  }

  private verifyAll(): GatewayEventVerification[] | Promise<GatewayEventVerification[]> {
    const pageEvents = this.events as unknown as PageEvent[];
    const upstream = this.ctx.upstream;
    const tree = typeof this.root?.tree_name === 'string' ? this.root.tree_name : undefined;
    // Roots already in the cross-request cache are taken from it directly; only the others go
    // through the request's DataLoader (a warm page then needs no loader round at all).
    const bySize = new Map<number, PublishedRoot>();
    const unavailable = new Map<number, Verification>();
    const missing: number[] = [];
    if (tree !== undefined) {
      for (const size of rootSizesNeeded(pageEvents)) {
        const cached = upstream.roots.get(tree, size);
        if (cached) bySize.set(size, cached);
        else missing.push(size);
      }
    }
    const witness = upstream.witness?.enabled ? upstream.witness : undefined;
    const quickTrust = this.root ? upstream.prover.check(this.root) : undefined;
    const verify = (facts: RootFacts): GatewayEventVerification[] | Promise<GatewayEventVerification[]> => {
      const disproven = new Map<number, PublishedRoot>();
      const verdicts = this.judge(pageEvents, bySize, unavailable, facts, disproven);
      if (disproven.size === 0 || tree === undefined) return verdicts;
      this.reportDisproven(disproven.values());
      // A root kept from an earlier answer (a size not in `missing`) and proven false now: this
      // request asks once again, so an earlier lie does not fail events the upstream now answers
      // honestly.
      const stale = [...disproven.keys()].filter((size) => !missing.includes(size));
      return stale.length === 0 ? verdicts : this.judgeAgain(pageEvents, bySize, unavailable, facts, tree, stale);
    };
    if (missing.length === 0 && (!this.root || (quickTrust && !witness))) {
      return verify({ trust: quickTrust ?? none('no published root'), witness: NO_WITNESS, witnessRequired: false });
    }
    return (async () => {
      const [loaded, trust, witnessed] = await Promise.all([
        missing.length === 0 ? [] : this.ctx.loaders.publishedRoot.loadMany(missing.map((size) => rootKey(tree!, size))),
        quickTrust ?? (this.root ? upstream.prover.trust(this.root, this.ctx.signal) : none('no published root')),
        witness && this.root ? witness.check(this.root, this.ctx.signal) : undefined,
      ]);
      takeLoaded(missing, loaded, bySize, unavailable);
      return verify({
        trust,
        witness: witnessed === undefined ? NO_WITNESS : witnessed.status === 'PENDING' ? none(witnessed.reason) : (witnessed),
        witnessRequired: witnessed !== undefined,
      });
    })();
  }

  /**
   * Judges the page again once the roots of `sizes` are fetched afresh (the kept ones were proven
   * false). One more try only: a fresh answer proven false fails the events that need it.
   */
  private async judgeAgain(pageEvents: PageEvent[], bySize: Map<number, PublishedRoot>, unavailable: Map<number, Verification>, facts: RootFacts, tree: string, sizes: number[]): Promise<GatewayEventVerification[]> {
    const loader = this.ctx.loaders.publishedRoot;
    const keys = sizes.map((size) => rootKey(tree, size));
    for (const key of keys) loader.clear(key);
    for (const size of sizes) bySize.delete(size);
    takeLoaded(sizes, await loader.loadMany(keys), bySize, unavailable);
    const disproven = new Map<number, PublishedRoot>();
    const verdicts = this.judge(pageEvents, bySize, unavailable, facts, disproven);
    // The others were reported the first time.
    this.reportDisproven(sizes.flatMap((size) => disproven.get(size) ?? []));
    return verdicts;
  }

  /** Published roots an event's path proved false: forgotten by the cache, and tampering evidence. */
  private reportDisproven(roots: Iterable<PublishedRoot>): void {
    for (const root of roots) {
      this.ctx.upstream.roots.forgetFalseClaim(root);
      this.ctx.integrity?.reportTampering(
        `the audit service's published root(${root.size}) ${String(root.root_hash)} is not the first ${root.size} leaves of the proven root(${this.root!.size}) ${this.root!.root_hash} (an event's path shows it)`,
      );
    }
  }

  /** The page's verdicts. `disproven` receives the published roots an event's path proved false (with a proven page root). */
  private judge(pageEvents: PageEvent[], bySize: Map<number, PublishedRoot>, unavailable: Map<number, Verification>, facts: RootFacts, disproven: Map<number, PublishedRoot>): GatewayEventVerification[] {
    const upstream = this.ctx.upstream;
    // Against the history as it is now: the proofs this page waited for may have recorded sizes
    // since the cache handed their roots out, and the loader's answers are the upstream's as given.
    for (const [size, root] of bySize) {
      const conflict = upstream.roots.conflict(root);
      if (conflict) {
        bySize.delete(size);
        unavailable.set(size, conflict);
      }
    }
    const trusted = upstream.trustedKeys;
    const recordDisproven = (size: number): void => {
      const root = bySize.get(size);
      if (root) disproven.set(size, root);
    };
    const checks = verifyPage(
      pageEvents,
      {
        ...(this.root ? { root: this.root } : {}),
        ...(this.unpublishedRoot ? { unpublished_root: this.unpublishedRoot } : {}),
      },
      {
        publishedRoot: (size) => bySize.get(size),
        missingRoot: (size) => unavailable.get(size) ?? fail(`published root(${size}) was asked for and withheld`),
        oneEventPerLeaf: upstream.oneEventPerLeaf,
        verifySignature: trusted ? (input) => applyKeyTrust(verifySignatureCached(input), { event: input.event, publicKey: input.publicKey }, trusted) : verifySignatureCached,
        sha256Hex: sha256HexNative,
        proofsRequested: true,
        pageRootTrust: facts.trust,
        ...(facts.trust.status === 'PASS' ? { onPrefixMismatch: (size: number) => recordDisproven(size) } : {}),
      },
    );

    return checks.map((c, i) => {
      const published = pageEvents[i]?.published === true;
      const witness = published ? facts.witness : facts.witnessRequired ? NOT_PUBLISHED : NO_WITNESS;
      const required = published && facts.witnessRequired ? REQUIRED_WITH_WITNESS : REQUIRED;
      const outcome = overallVerdict({ hash: c.hash, membership: c.membership, consistency: c.consistency, signature: c.signature, witness }, required);
      return { hash: c.hash, membership: c.membership, consistency: c.consistency, signature: c.signature, witness, verdict: outcome.verdict, verdictReason: outcome.reason };
    });
  }
}

/** Puts the roots a loader answered for `sizes` in `bySize`, and why not in `unavailable`. */
function takeLoaded(sizes: number[], loaded: ReadonlyArray<PublishedRoot | null | Error>, bySize: Map<number, PublishedRoot>, unavailable: Map<number, Verification>): void {
  loaded.forEach((root, i) => {
    const size = sizes[i]!;
    if (root instanceof Error) unavailable.set(size, none(`published root(${size}) could not be fetched: ${root.message}`));
    else if (root) bySize.set(size, root);
    else unavailable.set(size, fail(`published root(${size}) was asked for and withheld`));
  });
}

const REQUIRED = ['hash', 'membership', 'consistency'] as const;
const REQUIRED_WITH_WITNESS = [...REQUIRED, 'witness'] as const;
