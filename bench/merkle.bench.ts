// Merkle module benchmark (`npm run bench:merkle`). Prints figures and whether each target is met;
// asserts nothing (a page that does not verify stops it).
//  (a) sha256 of 64 bytes per second: @noble/hashes (what src/merkle uses), node:crypto, and the
//      module's own hashPair (a specialised 64-byte SHA-256), with hashPair's speed-up over noble.
//  (b) 20-step membership verifications per second, against the rate of 20 raw 64-byte sha256s
//      with @noble/hashes (target: >= 50%), and against 20 calls of hashPair, which shows the
//      parsing overhead.
//  (c) verifyPage on 100 events of a 2^20-leaf tree, every event published, with the published
//      roots its consistency check needs (target: p50 <= 10 ms for the unsigned page, which is
//      the hashes and proofs alone); signed too, with the module's pure-JS verifier and with
//      src/crypto/native-ed25519.ts passed through `verifySignature` as the gateway does.
//  (d) one event's signature check: the pure-JS verifier against src/crypto/native-ed25519.ts.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { verifySignatureNative } from '../src/crypto/native-ed25519.js';
import {
  MemoryTree,
  bytesToHex,
  consistencyProof,
  foldPath,
  formatConsistencyItem,
  hashPair,
  formatMembershipProof,
  hashEnvelope,
  hashEnvelopeBytes,
  membershipPath,
  signEvent,
  verifyMembership,
  verifyPage,
  verifySignature,
  type PageEvent,
  type ProofStep,
  type RootLike,
} from '../src/merkle/index.js';
import { median, rate, timings, verdict } from './support/measure.js';

// ---------------------------------------------------------------------------------------------
// Formatting

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  return `p50 ${median(ms).toFixed(2)} ms, mean ${mean.toFixed(2)} ms, min ${sorted[0]!.toFixed(2)} ms (${ms.length} runs)`;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

// Anything a benchmark computes is folded in here so the JIT cannot drop the work.
let sink = 0;
/** Target lines, printed again together at the end. */
const targets: string[] = [];

// ---------------------------------------------------------------------------------------------
// (a) raw sha256 of 64 bytes

const block = new Uint8Array(64).map((_, i) => i * 7);
const nobleRate = rate(() => {
  sink ^= sha256(block)[0]!;
});
const nodeRate = rate(() => {
  sink ^= createHash('sha256').update(block).digest()[0]!;
});
const left = block.subarray(0, 32);
const right = block.subarray(32);
const pairRate = rate(() => {
  sink ^= hashPair(left, right)[0]!;
});
console.log('(a) sha256 of 64 bytes');
console.log(`    @noble/hashes:                  ${fmt(nobleRate)} /s (${(1e6 / nobleRate).toFixed(3)} us each)`);
console.log(`    node:crypto:                    ${fmt(nodeRate)} /s (${(1e6 / nodeRate).toFixed(3)} us each)`);
console.log(`    hashPair (src/merkle, 64-byte): ${fmt(pairRate)} /s (${(1e6 / pairRate).toFixed(3)} us each), ${(pairRate / nobleRate).toFixed(1)}x @noble/hashes`);

// ---------------------------------------------------------------------------------------------
// (b) one 20-step membership verification

const randomDigest = (seed: number): Uint8Array => sha256(new TextEncoder().encode(`digest ${seed}`));
const leaf = randomDigest(0);
const steps: ProofStep[] = Array.from({ length: 20 }, (_, i) => ({ side: i % 3 === 0 ? 'l' : 'r', hash: randomDigest(i + 1) }));
const membershipInput = {
  hash: bytesToHex(leaf),
  proof: formatMembershipProof(steps),
  rootHash: bytesToHex(foldPath(leaf, steps)),
};
if (verifyMembership(membershipInput).status !== 'PASS') throw new Error('benchmark proof does not verify');
const membershipRate = rate(() => {
  sink ^= verifyMembership(membershipInput).status.length;
});
const raw20Rate = nobleRate / 20;
console.log('(b) verifyMembership, 20-step proof (hex strings in, PASS out)');
console.log(`    ${fmt(membershipRate)} /s vs ${fmt(raw20Rate)} /s for 20 raw 64-byte sha256 calls`);
const membershipRatio = membershipRate / raw20Rate;
const membershipTarget = `membership rate / 20 raw sha256 = ${(membershipRatio * 100).toFixed(1)}% (target >= 50%: ${verdict(membershipRatio >= 0.5)})`;
targets.push(membershipTarget);
console.log(`    ${membershipTarget}`);
console.log(`    vs 20 hashPair calls (${fmt(pairRate / 20)} /s): ${((membershipRate / (pairRate / 20)) * 100).toFixed(1)}% (the rest is parsing and checks)`);

// ---------------------------------------------------------------------------------------------
// (c) a 100-event page of a 2^20-leaf tree

const TREE_SIZE = 2 ** 20;
const PAGE = 100;
const { privateKey } = generateKeyPairSync('ed25519');
const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function envelopeFor(i: number, signed: boolean): PageEvent['envelope'] {
  const event = { message: `user ${i} logged in`, actor: `user-${i % 97}`, action: 'login', status: 'ok', source: 'bench' };
  const received_at = new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString().replace('Z', '000Z');
  return signed ? { event, received_at, ...signEvent(event, privatePem) } : { event, received_at };
}

// 100 leaf indices spread across the tree (odd offsets so they are not all block-aligned).
const pageLeaves = Array.from({ length: PAGE }, (_, k) => Math.floor((k * TREE_SIZE) / PAGE) + ((k * 7919) % 1024));
const pageSet = new Map(pageLeaves.map((leafIndex, k) => [leafIndex, k]));
const unsignedEnvelopes = pageLeaves.map((leafIndex) => envelopeFor(leafIndex, false));
const signedEnvelopes = pageLeaves.map((leafIndex) => envelopeFor(leafIndex, true));

/** Builds the 2^20 tree whose page leaves are the given envelopes' hashes. */
function buildTree(envelopes: PageEvent['envelope'][]): { tree: MemoryTree; ms: number } {
  const start = performance.now();
  const tree = new MemoryTree();
  const filler = new Uint8Array(8);
  const view = new DataView(filler.buffer);
  for (let i = 0; i < TREE_SIZE; i++) {
    const k = pageSet.get(i);
    if (k !== undefined) {
      tree.append(hashEnvelopeBytes(envelopes[k]));
    } else {
      view.setFloat64(0, i);
      tree.append(sha256(filler));
    }
  }
  return { tree, ms: performance.now() - start };
}

interface PageFixture {
  events: PageEvent[];
  root: RootLike;
  publishedRoot: (size: number) => RootLike | undefined;
}

function pageFixture(tree: MemoryTree, envelopes: PageEvent['envelope'][]): PageFixture {
  const published = new Map<number, RootLike>();
  const rootOf = (size: number): RootLike => {
    let r = published.get(size);
    if (!r) {
      r = {
        root_hash: bytesToHex(tree.root(size)),
        size,
        ...(size > 1 ? { consistency_proof: consistencyProof(tree, size - 1, size).map(formatConsistencyItem) } : {}),
      };
      published.set(size, r);
    }
    return r;
  };
  const events = pageLeaves.map((leafIndex, k) => ({
    envelope: envelopes[k]!,
    hash: hashEnvelope(envelopes[k]),
    membership_proof: formatMembershipProof(membershipPath(tree, leafIndex, TREE_SIZE)),
    published: true,
    leaf_index: leafIndex,
  }));
  for (const leafIndex of pageLeaves) {
    if (leafIndex > 0) {
      rootOf(leafIndex);
      rootOf(leafIndex + 1);
    }
  }
  return { events, root: rootOf(TREE_SIZE), publishedRoot: (size) => published.get(size) };
}

function checkAllPass(results: ReturnType<typeof verifyPage>, signed: boolean): void {
  for (const [i, r] of results.entries()) {
    const expectedSig = signed ? 'PASS' : 'NONE';
    if (r.hash.status !== 'PASS' || r.membership.status !== 'PASS' || r.consistency.status !== 'PASS' || r.signature.status !== expectedSig) {
      throw new Error(`page event ${i} did not verify: ${JSON.stringify(r)}`);
    }
  }
}

console.log(`(c) verifyPage, ${PAGE} published events of a 2^20-leaf tree`);
for (const signed of [false, true]) {
  const envelopes = signed ? signedEnvelopes : unsignedEnvelopes;
  const { tree, ms } = buildTree(envelopes);
  const fixture = pageFixture(tree, envelopes);
  const roots = { root: fixture.root };
  const options = { publishedRoot: fixture.publishedRoot, oneEventPerLeaf: true };
  if (!signed) console.log(`    (tree of ${fmt(TREE_SIZE)} leaves built in ${(ms / 1000).toFixed(1)} s)`);
  const avgSteps = fixture.events.reduce((a, e) => a + e.membership_proof!.split(',').length, 0) / PAGE;
  const avgItems =
    pageLeaves.reduce((a, l) => a + (fixture.publishedRoot(l + 1)?.consistency_proof?.length ?? 0), 0) / PAGE;
  if (!signed) console.log(`    membership steps per event ${avgSteps.toFixed(1)}, consistency items per event ${avgItems.toFixed(1)}`);

  checkAllPass(verifyPage(fixture.events, roots, options), signed);
  const label = signed ? 'signed, pure-JS ed25519 ' : 'unsigned                ';
  const runs = timings(() => void (sink ^= verifyPage(fixture.events, roots, options).length), signed ? 10 : 30);
  console.log(`    ${label} ${summary(runs)}`);
  if (!signed) targets.push(`verifyPage, ${PAGE} unsigned events: p50 ${median(runs).toFixed(2)} ms (target <= 10 ms: ${verdict(median(runs) <= 10)})`);
  if (signed) {
    const nativeOptions = { ...options, verifySignature: verifySignatureNative };
    checkAllPass(verifyPage(fixture.events, roots, nativeOptions), signed);
    const nativeRuns = timings(() => void (sink ^= verifyPage(fixture.events, roots, nativeOptions).length), 30);
    console.log(`    signed, native-ed25519   ${summary(nativeRuns)}`);
  }
}
// (d) context for the signed figures: one Ed25519 verification, pure JS vs src/crypto/native-ed25519.ts.
{
  const e = signedEnvelopes[0]!;
  const input = { event: e.event, signature: e.signature as string, publicKey: e.public_key as string };
  if (verifySignature(input).status !== 'PASS' || verifySignatureNative(input).status !== 'PASS') throw new Error('benchmark signature does not verify');
  const pureSig = rate(() => void (sink ^= verifySignature(input).status.length), 500);
  const nativeSig = rate(() => void (sink ^= verifySignatureNative(input).status.length), 500);
  console.log('(d) one event signature check (canonical JSON + Ed25519 verify)');
  console.log(`    src/merkle verifySignature (@noble/curves): ${fmt(pureSig)} /s (${(1000 / pureSig).toFixed(3)} ms each)`);
  console.log(`    src/crypto/native-ed25519 (node:crypto):    ${fmt(nativeSig)} /s (${(1000 / nativeSig).toFixed(3)} ms each), ${(nativeSig / pureSig).toFixed(1)}x the pure-JS one`);
}
console.log('summary:');
for (const t of targets) console.log(`  target: ${t}`);
console.log(`(sink ${sink & 1})`);
