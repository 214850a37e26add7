// A verified search page through the REST client, done the way bench:gateway's like-with-like row
// does it ("REST + verify, roots cached, sig. verdicts memoised"): v1/search (verbose) through
// src/audit-client, the published roots the page needs (src/merkle rootSizesNeeded) from v1/root,
// cached across calls (a published root never changes) and frozen as the gateway keeps them, then
// src/merkle verifyPage with every proof required, the node:crypto Ed25519 check the gateway uses
// behind the same memo the gateway keeps (exact inputs -> verdict), and the page root held against
// the roots this side has seen (the first one of each size trusted), as the gateway holds it
// against its verified history.
import { hash as digestOf } from 'node:crypto';
import type { AuditClient } from '../../src/audit-client/index.js';
import { verifySignatureNative } from '../../src/crypto/native-ed25519.js';
import { sha256HexNative } from '../../src/crypto/native-sha256.js';
import { canonicalParsedJson, keepableRootRecord, rootSizesNeeded, verifyPage, type PageEvent, type SignatureInput, type Verification } from '../../src/merkle/index.js';
import type { PublishedRoot } from '../../src/wire/index.js';

/**
 * What an honest event's checks [hash, membership, consistency, signature] must be: hash and
 * membership PASS; consistency PASS when published (NONE before); signature PASS when signed (NONE
 * when not). Anything else, including NONE where a proof should have been checked, is wrong.
 */
export function expectedPageChecks(published: boolean, signed: boolean): [string, string, string, string] {
  return ['PASS', 'PASS', published ? 'PASS' : 'NONE', signed ? 'PASS' : 'NONE'];
}

export function pageChecksAre(actual: readonly unknown[], published: boolean, signed: boolean): boolean {
  return expectedPageChecks(published, signed).every((want, i) => actual[i] === want);
}

export interface VerifiedRestPage {
  hashes: string[];
  /** Per event: [hash, membership, consistency, signature] statuses. */
  checks: Array<[string, string, string, string]>;
  published: boolean[];
  signed: boolean[];
}

export interface RestPageVerifier {
  search(query: string, limit: number): Promise<VerifiedRestPage>;
}

export interface RestPageOptions {
  /** Keep published roots across calls (default true); false fetches them on every call. */
  cacheRoots?: boolean;
  /** Memoise signature verdicts by exact inputs, as the gateway does (default true). */
  memoiseSignatures?: boolean;
}

export function createRestPageVerifier(client: AuditClient, options: RestPageOptions = {}): RestPageVerifier {
  const cacheRoots = options.cacheRoots ?? true;
  const memoise = options.memoiseSignatures ?? true;
  const cachedRoots = new Map<number, PublishedRoot>();
  const verdicts = new Map<string, Verification>();
  const memoisedSignature = (input: SignatureInput): Verification => {
    const key = digestOf('sha256', JSON.stringify([input.signature, input.publicKey, canonicalParsedJson(input.event)]), 'base64');
    let verdict = verdicts.get(key);
    if (!verdict) verdicts.set(key, (verdict = verifySignatureNative(input)));
    return verdict;
  };
  // Kept roots are keepable records, as the gateway's cache keeps them, so verifyPage keeps their
  // pair verdicts from page to page on this side too (src/merkle/page.ts).
  const kept = (root: PublishedRoot): PublishedRoot => (cacheRoots ? keepableRootRecord(root) : root);
  const seenRoots = new Map<number, string>();
  const pageRootTrust = (root: PublishedRoot | undefined): Verification => {
    if (!root) return { status: 'NONE', reason: 'no root' };
    const known = seenRoots.get(root.size);
    if (known === undefined) seenRoots.set(root.size, root.root_hash);
    return known === undefined || known === root.root_hash ? { status: 'PASS' } : { status: 'FAIL', reason: 'another history' };
  };
  return {
    async search(query, limit) {
      const { result } = await client.search({ query, limit, verbose: true });
      const events = result.events as unknown as PageEvent[];
      const roots = cacheRoots ? cachedRoots : new Map<number, PublishedRoot>();
      const sizes = rootSizesNeeded(events).filter((s) => !roots.has(s));
      await Promise.all(sizes.map(async (size) => roots.set(size, kept((await client.root({ tree_size: size })).result.data))));
      const verified = verifyPage(
        events,
        { ...(result.root ? { root: result.root } : {}), ...(result.unpublished_root ? { unpublished_root: result.unpublished_root } : {}) },
        {
          publishedRoot: (size) => roots.get(size),
          oneEventPerLeaf: true,
          verifySignature: memoise ? memoisedSignature : verifySignatureNative,
          sha256Hex: sha256HexNative,
          proofsRequested: true,
          pageRootTrust: pageRootTrust(result.root),
        },
      );
      return {
        hashes: result.events.map((e) => e.hash),
        checks: verified.map((v) => [v.hash.status, v.membership.status, v.consistency.status, v.signature.status]),
        published: result.events.map((e) => e.published === true),
        signed: result.events.map((e) => e.envelope.signature !== undefined),
      };
    },
  };
}
