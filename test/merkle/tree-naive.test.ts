// Cross-checks the tree maths (src/merkle/tree.ts, which reads precomputed perfect-subtree nodes)
// against a naive recursive implementation written here from the definitions alone: RFC 6962's
// MTH / PATH recursion over an array of leaf hashes with sha256(left || right) interior nodes, and
// the audit API's consistency proof. The naive side hashes with @noble/hashes over a fresh
// concatenation, so it also checks the module's specialised 64-byte SHA-256.
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  MemoryTree,
  bytesToHex,
  consistencyProof,
  formatConsistencyItem,
  formatMembershipProof,
  membershipPath,
  subtreeRoot,
  treeRoot,
} from '../../src/merkle/index.js';

const LEAVES = 20_000;
const encoder = new TextEncoder();
const leaves = Array.from({ length: LEAVES }, (_, i) => sha256(encoder.encode(`naive leaf ${i}`)));
const tree = new MemoryTree();
for (const leaf of leaves) tree.append(leaf);

/** Largest power of two strictly below n, by doubling. */
function largestPowerBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function concatHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const joined = new Uint8Array(64);
  joined.set(left);
  joined.set(right, 32);
  return sha256(joined);
}

// MTH(D[lo:hi]); memoised by range (a pure function of the fixed leaves) so the exhaustive loops stay cheap.
const mthMemo = new Map<string, Uint8Array>();
function mth(lo: number, hi: number): Uint8Array {
  if (hi - lo === 1) return leaves[lo]!;
  const key = `${lo}:${hi}`;
  let h = mthMemo.get(key);
  if (!h) {
    const k = largestPowerBelow(hi - lo);
    h = concatHash(mth(lo, lo + k), mth(lo + k, hi));
    mthMemo.set(key, h);
  }
  return h;
}

/** RFC 6962 PATH(m, D[lo:hi]) as "side:hex" strings, bottom-up (the recursion appends on the way out). */
function naivePath(m: number, lo: number, hi: number): string[] {
  const n = hi - lo;
  if (n === 1) return [];
  const k = largestPowerBelow(n);
  return m < k
    ? [...naivePath(m, lo, lo + k), `r:${bytesToHex(mth(lo + k, hi))}`]
    : [...naivePath(m - k, lo + k, hi), `l:${bytesToHex(mth(lo, lo + k))}`];
}

/**
 * The audit API's construction: decompose [0, m) into aligned perfect blocks left to right; for each block in
 * reverse order emit "x:" + its root + the membership path of its first leaf in the n-leaf tree
 * with the first log2(block size) steps removed.
 */
function naiveConsistency(m: number, n: number): string[] {
  const blocks: Array<[number, number]> = [];
  let lo = 0;
  while (lo < m) {
    // The largest block that starts at lo, is aligned to its size, and stays inside [0, m).
    let width = 1;
    while (lo % (width * 2) === 0 && lo + width * 2 <= m) width *= 2;
    blocks.push([lo, width]);
    lo += width;
  }
  return blocks.reverse().map(([start, width]) => {
    const path = naivePath(start, 0, n).slice(Math.log2(width));
    return [`x:${bytesToHex(mth(start, start + width))}`, ...path].join(',');
  });
}

const SMALL = 100;

test(`roots of every size up to ${SMALL} and every aligned subtree match the naive MTH`, () => {
  const mismatches: string[] = [];
  for (let n = 1; n <= SMALL; n++) {
    if (bytesToHex(treeRoot(tree, n)) !== bytesToHex(mth(0, n))) mismatches.push(`root ${n}`);
    if (bytesToHex(tree.root(n)) !== bytesToHex(mth(0, n))) mismatches.push(`MemoryTree.root ${n}`);
  }
  // Every range that is a node of some left-balanced tree: [lo, hi) reachable by the split rule.
  const visit = (lo: number, hi: number): void => {
    if (bytesToHex(subtreeRoot(tree, lo, hi)) !== bytesToHex(mth(lo, hi))) mismatches.push(`subtree [${lo}, ${hi})`);
    if (hi - lo > 1) {
      const k = largestPowerBelow(hi - lo);
      visit(lo, lo + k);
      visit(lo + k, hi);
    }
  };
  for (let n = 1; n <= SMALL; n++) visit(0, n);
  expect(mismatches).toEqual([]);
});

test(`every membership path for every size up to ${SMALL} equals the naive RFC 6962 path`, () => {
  const mismatches: string[] = [];
  for (let n = 1; n <= SMALL; n++) {
    for (let i = 0; i < n; i++) {
      if (formatMembershipProof(membershipPath(tree, i, n)) !== naivePath(i, 0, n).join(',')) mismatches.push(`leaf ${i} of ${n}`);
    }
  }
  expect(mismatches).toEqual([]);
});

test(`every consistency proof m -> n for n up to ${SMALL} equals the proof built from the definition`, () => {
  const mismatches: string[] = [];
  for (let n = 2; n <= SMALL; n++) {
    for (let m = 1; m < n; m++) {
      const actual = consistencyProof(tree, m, n).map(formatConsistencyItem);
      const expected = naiveConsistency(m, n);
      if (actual.join('|') !== expected.join('|')) mismatches.push(`${m} -> ${n}`);
    }
  }
  expect(mismatches).toEqual([]);
});

// Sizes biased towards powers of two and their neighbours, where the split rule has its edge cases.
const sizeArb = fc.oneof(
  fc.integer({ min: SMALL + 1, max: LEAVES }),
  fc.tuple(fc.integer({ min: 7, max: 14 }), fc.integer({ min: -2, max: 2 })).map(([e, d]) => 2 ** e + d),
);

test('random larger trees: root, a path and a consistency proof match the naive versions', () => {
  fc.assert(
    fc.property(sizeArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, a, b) => {
      const i = Math.floor(a * n);
      const m = 1 + Math.floor(b * (n - 1));
      expect(bytesToHex(treeRoot(tree, n))).toBe(bytesToHex(mth(0, n)));
      expect(formatMembershipProof(membershipPath(tree, i, n))).toBe(naivePath(i, 0, n).join(','));
      expect(consistencyProof(tree, m, n).map(formatConsistencyItem)).toEqual(naiveConsistency(m, n));
    }),
    { numRuns: 300 },
  );
});

test('tree functions reject sizes and indices outside the tree', () => {
  expect(() => membershipPath(tree, 5, 5)).toThrow(RangeError);
  expect(() => membershipPath(tree, -1, 5)).toThrow(RangeError);
  expect(() => membershipPath(tree, 0, 0)).toThrow(RangeError);
  expect(() => consistencyProof(tree, 0, 5)).toThrow(RangeError);
  expect(() => consistencyProof(tree, 6, 5)).toThrow(RangeError);
  expect(() => tree.node(0, LEAVES)).toThrow(RangeError);
  // A node that does not exist yet (the perfect subtree is incomplete) is never fabricated.
  expect(() => tree.node(5, Math.floor(LEAVES / 32))).toThrow(RangeError);
});
