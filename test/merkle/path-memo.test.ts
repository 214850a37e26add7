// PathRootsMemo: a path's roots are reused only for the exact input they were derived from, so a
// proof, leaf, index, size or mode that differs from the kept one is derived again and judged on
// its own; failing paths are never kept, and the memo never holds more than its limit.
import { MemoryTree, PathRootsMemo, bytesToHex, formatMembershipProof, hashPair, membershipPath, pathRoots, sha256HexOfString, type PathRootsInput } from '../../src/merkle/index.js';

const N = 40;
const tree = new MemoryTree();
const leaves = Array.from({ length: N }, (_, i) => sha256HexOfString(`leaf ${i}`));
for (const leaf of leaves) tree.append(Uint8Array.from(Buffer.from(leaf, 'hex')));
const path = (index: number, size: number): string => formatMembershipProof(membershipPath(tree, index, size));
const input = (index: number, size: number): PathRootsInput => ({ hash: leaves[index]!, proof: path(index, size), leafIndex: index, treeSize: size, oneEventPerLeaf: true });

/** hashPair, counting its calls: zero calls means the result was not derived again. */
function countingHasher(): { hash: (l: Uint8Array, r: Uint8Array) => Uint8Array; calls: () => number } {
  let calls = 0;
  return {
    hash: (l, r) => {
      calls++;
      return hashPair(l, r);
    },
    calls: () => calls,
  };
}

/** Flips the lowest bit of the first digest of a proof ("l:<hex>,..."). */
function flipFirstStep(proof: string): string {
  const digit = parseInt(proof[2]!, 16) ^ 1;
  return proof.slice(0, 2) + digit.toString(16) + proof.slice(3);
}

const described = (r: ReturnType<typeof pathRoots>): string => (r.ok ? `${bytesToHex(r.root)} ${bytesToHex(r.prefixRoot)}` : `fails: ${r.reason}`);

test('the same input again gets the kept result without hashing; it is what pathRoots gives', () => {
  const memo = new PathRootsMemo(16);
  const hasher = countingHasher();
  const first = memo.derive(input(12, 33), hasher.hash);
  const hashed = hasher.calls();
  expect(hashed).toBeGreaterThan(0);
  expect(described(first)).toBe(described(pathRoots(input(12, 33))));
  expect(first.ok && bytesToHex(first.root)).toBe(bytesToHex(tree.root(33)));
  // A fresh object with equal fields (as the next page's JSON gives) finds the kept result.
  const again = memo.derive(input(12, 33), hasher.hash);
  expect(again).toBe(first);
  expect(hasher.calls()).toBe(hashed);
  expect(Object.isFrozen(first)).toBe(true);
});

test('a tampered proof for a kept leaf is derived again and fails as pathRoots fails it', () => {
  const memo = new PathRootsMemo(16);
  const honest = memo.derive(input(12, 33), hashPair);
  expect(honest.ok).toBe(true);
  const tampered = { ...input(12, 33), proof: flipFirstStep(path(12, 33)) };
  const judged = memo.derive(tampered, hashPair);
  expect(described(judged)).toBe(described(pathRoots(tampered)));
  // It leads somewhere else: not the tree's root, so membership fails on it.
  expect(judged.ok && bytesToHex(judged.root)).not.toBe(bytesToHex(tree.root(33)));
  // The honest proof is still judged on its own afterwards.
  expect(described(memo.derive(input(12, 33), hashPair))).toBe(described(honest));
});

test.each([
  ['another leaf index', (i: PathRootsInput) => ({ ...i, leafIndex: i.leafIndex + 1 })],
  ['another tree size', (i: PathRootsInput) => ({ ...i, treeSize: i.treeSize + 1 })],
  ['the other mode', (i: PathRootsInput) => ({ ...i, oneEventPerLeaf: !i.oneEventPerLeaf })],
  ['a shorter proof', (i: PathRootsInput) => ({ ...i, proof: (i.proof as string).split(',').slice(1).join(',') })],
])('the kept result is not given for %s: that input is derived and judged on its own', (_name, change) => {
  const memo = new PathRootsMemo(16);
  const kept = memo.derive(input(12, 33), hashPair);
  const other = change(input(12, 33));
  const judged = memo.derive(other, hashPair);
  expect(judged).not.toBe(kept);
  expect(described(judged)).toBe(described(pathRoots(other)));
});

test('the same leaf in a larger tree replaces the kept path: one path per leaf', () => {
  const memo = new PathRootsMemo(16);
  memo.derive(input(5, 20), hashPair);
  const grown = memo.derive(input(5, 40), hashPair);
  expect(grown.ok && bytesToHex(grown.root)).toBe(bytesToHex(tree.root(40)));
  expect(memo.size).toBe(1);
  const hasher = countingHasher();
  expect(memo.derive(input(5, 40), hasher.hash)).toBe(grown);
  expect(hasher.calls()).toBe(0);
});

test('paths that fail are not kept', () => {
  const memo = new PathRootsMemo(16);
  const wrongShape = { ...input(3, 20), leafIndex: 25 };
  expect(memo.derive(wrongShape, hashPair).ok).toBe(false);
  expect(memo.derive({ ...input(3, 20), hash: 'not hex' }, hashPair).ok).toBe(false);
  expect(memo.size).toBe(0);
});

test('parsed steps bypass the memo', () => {
  const memo = new PathRootsMemo(16);
  const steps = membershipPath(tree, 7, 30).map((s) => ({ side: s.side, hash: s.hash }));
  const r = memo.derive({ ...input(7, 30), proof: steps }, hashPair);
  expect(r.ok && bytesToHex(r.root)).toBe(bytesToHex(tree.root(30)));
  expect(memo.size).toBe(0);
});

test('at most `limit` paths are kept, the oldest forgotten first', () => {
  const memo = new PathRootsMemo(4);
  const kept = [0, 1, 2, 3].map((i) => memo.derive(input(i, 30), hashPair));
  memo.derive(input(4, 30), hashPair);
  expect(memo.size).toBe(4);
  // Leaf 1 is still kept; leaf 0, the oldest, was forgotten and is derived again.
  const hasher = countingHasher();
  expect(memo.derive(input(1, 30), hasher.hash)).toBe(kept[1]);
  expect(hasher.calls()).toBe(0);
  const rederived = memo.derive(input(0, 30), hasher.hash);
  expect(rederived).not.toBe(kept[0]);
  expect(described(rederived)).toBe(described(kept[0]!));
  expect(hasher.calls()).toBeGreaterThan(0);
  expect(memo.size).toBe(4);
});

test('the limit must be a positive integer', () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new PathRootsMemo(bad)).toThrow(RangeError);
});
