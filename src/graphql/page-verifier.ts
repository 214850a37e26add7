// Verifies one page of search results, once, when the first event's `verification` is asked for:
// takes the published roots the page needs from the cross-request cache or the request's
// DataLoader, then runs src/merkle's verifyPage over the whole page so work shared between events
// is done once. Signature verdicts are memoised by their exact inputs across requests.
import { createHash } from 'node:crypto';
import type { PublishedRoot, SearchEvent, UnpublishedRoot } from '../audit-client/wire.js';
import { verifySignatureNative } from '../crypto/native-ed25519.js';
import { canonicalJson, rootSizesNeeded, verifyPage, type EventVerification, type PageEvent, type RootLike, type SignatureInput, type Verification } from '../merkle/index.js';
import type { GraphQLContext } from './context.js';

const SIGNATURE_VERDICTS = 10_000;
const signatureVerdicts = new Map<string, Verification>();

/**
 * Ed25519 checks are most of a page's verification, and the same events come back page after
 * page. A verdict is a pure function of (canonical event, signature, public key) — the exact
 * inputs verifySignatureNative checks — so it is kept under the sha256 of an unambiguous
 * encoding of those inputs (a JSON array, so no two input triples share a key), never under
 * anything the upstream merely claims such as the event hash, and reused across requests
 * (bounded, oldest forgotten first).
 */
function verifySignatureCached(input: SignatureInput): Verification {
  if (typeof input.signature !== 'string' || typeof input.publicKey !== 'string') return verifySignatureNative(input);
  let canonical: string;
  try {
    canonical = canonicalJson(input.event);
  } catch {
    return verifySignatureNative(input);
  }
  const key = createHash('sha256').update(JSON.stringify([input.signature, input.publicKey, canonical])).digest('base64');
  const known = signatureVerdicts.get(key);
  if (known) return known;
  const verdict = verifySignatureNative(input);
  if (signatureVerdicts.size >= SIGNATURE_VERDICTS) signatureVerdicts.delete(signatureVerdicts.keys().next().value!);
  signatureVerdicts.set(key, verdict);
  return verdict;
}

export class PageVerifier {
  private result: EventVerification[] | Promise<EventVerification[]> | undefined;

  constructor(
    readonly events: readonly SearchEvent[],
    readonly root: PublishedRoot | undefined,
    readonly unpublishedRoot: UnpublishedRoot | undefined,
    private readonly ctx: GraphQLContext,
  ) {}

  /**
   * The event's verdicts. Synchronous when every root the page needs is already cached (a warm
   * page): then no event of the page waits on a promise, and GraphQL completes the page's
   * objects without a promise per object.
   */
  verification(index: number): EventVerification | Promise<EventVerification> {
    this.result ??= this.verifyAll();
    const result = this.result;
    return Array.isArray(result) ? result[index]! : result.then((all) => all[index]!);
  }

  private verifyAll(): EventVerification[] | Promise<EventVerification[]> {
    const pageEvents = this.events as unknown as PageEvent[];
    // Roots already in the cross-request cache are taken from it directly; only the others go
    // through the request's DataLoader (a warm page then needs no loader round at all).
    const bySize = new Map<number, RootLike>();
    const missing: number[] = [];
    for (const size of rootSizesNeeded(pageEvents)) {
      const cached = this.ctx.upstream.roots.get(size);
      if (cached) bySize.set(size, cached);
      else missing.push(size);
    }
    const verify = (): EventVerification[] =>
      verifyPage(
        pageEvents,
        {
          ...(this.root ? { root: this.root } : {}),
          ...(this.unpublishedRoot ? { unpublished_root: this.unpublishedRoot } : {}),
        },
        {
          publishedRoot: (size) => bySize.get(size),
          oneEventPerLeaf: this.ctx.upstream.oneEventPerLeaf,
          verifySignature: verifySignatureCached,
        },
      );
    if (missing.length === 0) return verify();
    return this.ctx.loaders.publishedRoot.loadMany(missing).then((loaded) => {
      loaded.forEach((root, i) => {
        if (root && !(root instanceof Error)) bySize.set(missing[i]!, root);
      });
      return verify();
    });
  }
}
