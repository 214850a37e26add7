// Exhaustive round trips for small trees: every proof the tree maths generates for every size up
// to 300 must verify. One 300-leaf MemoryTree serves every size, since the tree functions take
// the size and only read complete perfect subtrees, which never change as the tree grows.
import { sha256 } from '@noble/hashes/sha2.js';
import {
  MemoryTree,
  bytesToHex,
  consistencyProof,
  formatConsistencyItem,
  formatConsistencyProof,
  formatMembershipProof,
  membershipPath,
  expectedSides,
  pathFitsNode,
  perfectBlocks,
  verifyConsistency,
  verifyMembership,
} from '../../src/merkle/index.js';

const MAX = 300;
const encoder = new TextEncoder();
const leaves = Array.from({ length: MAX }, (_, i) => sha256(encoder.encode(`leaf ${i}`)));
const tree = new MemoryTree();
for (const leaf of leaves) tree.append(leaf);
const leafHex = leaves.map(bytesToHex);
/** rootHex[n] is the root of the first n leaves. */
const rootHex = Array.from({ length: MAX + 1 }, (_, n) => (n === 0 ? '' : bytesToHex(tree.root(n))));

const popcount = (n: number): number => n.toString(2).replaceAll('0', '').length;

test('the roots of all sizes are distinct (so a proof against the wrong size cannot pass by accident)', () => {
  expect(new Set(rootHex.slice(1)).size).toBe(MAX);
  expect(rootHex[1]).toBe(leafHex[0]);
});

// Split by new size so a failure names a range and each test stays short.
const ranges: Array<[number, number]> = [
  [2, 150],
  [151, 220],
  [221, 265],
  [266, MAX],
];

describe.each(ranges)('consistency proofs for new sizes %i..%i', (from, to) => {
  test('every m -> n with 1 <= m < n verifies, without and with sizes', () => {
    const failures: string[] = [];
    let checked = 0;
    for (let n = from; n <= to; n++) {
      for (let m = 1; m < n; m++) {
        const items = consistencyProof(tree, m, n);
        // One item per perfect block of the old tree.
        if (items.length !== popcount(m)) failures.push(`${m}->${n}: ${items.length} items`);
        const proof = items.map(formatConsistencyItem);
        // The whole-proof formatter (hex written once per shared hash) says exactly the same.
        const whole = formatConsistencyProof(items);
        if (whole.length !== proof.length || whole.some((text, i) => text !== proof[i])) failures.push(`${m}->${n}: formatConsistencyProof differs`);
        const input = { oldRootHash: rootHex[m], newRootHash: rootHex[n], proof };
        const plain = verifyConsistency(input);
        const sized = verifyConsistency({ ...input, sizes: { oldSize: m, newSize: n } });
        const fromOld = verifyConsistency({ ...input, oldSize: m });
        if (plain.status !== 'PASS') failures.push(`${m}->${n}: ${plain.reason}`);
        if (fromOld.status !== 'PASS') failures.push(`${m}->${n} with the old size only: ${fromOld.reason}`);
        if (sized.status !== 'PASS') failures.push(`${m}->${n} with sizes: ${sized.reason}`);
        checked++;
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(((to - 1) * to) / 2 - ((from - 2) * (from - 1)) / 2);
  });
});

test('every membership path of every leaf of every size up to 300 verifies, without and with the position', () => {
  const failures: string[] = [];
  let checked = 0;
  for (let n = 1; n <= MAX; n++) {
    for (let i = 0; i < n; i++) {
      const steps = membershipPath(tree, i, n);
      const proof = formatMembershipProof(steps);
      const input = { hash: leafHex[i], proof, rootHash: rootHex[n] };
      const plain = verifyMembership(input);
      const exact = verifyMembership({ ...input, position: { leafIndex: i, treeSize: n, oneEventPerLeaf: true } });
      const suffix = verifyMembership({ ...input, position: { leafIndex: i, treeSize: n } });
      for (const [mode, r] of [['plain', plain], ['exact', exact], ['suffix', suffix]] as const) {
        if (r.status !== 'PASS') failures.push(`leaf ${i} of ${n} (${mode}): ${r.reason}`);
      }
      checked++;
    }
  }
  expect(failures).toEqual([]);
  expect(checked).toBe((MAX * (MAX + 1)) / 2);
});

// Jest's expect is slow in hot loops: these collect violations and assert once.
test('a path is at most ceil(log2 n) steps and exactly that for the last leaf of a power-of-two tree', () => {
  const violations: string[] = [];
  for (let n = 1; n <= MAX; n++) {
    const bound = Math.ceil(Math.log2(n));
    for (let i = 0; i < n; i++) {
      const length = membershipPath(tree, i, n).length;
      if (length > bound) violations.push(`leaf ${i} of ${n}: ${length} steps`);
    }
    if ((n & (n - 1)) === 0 && membershipPath(tree, n - 1, n).length !== bound) violations.push(`last leaf of ${n}`);
  }
  expect(violations).toEqual([]);
});

test('perfectBlocks decomposes [0, m) into aligned powers of two, strictly decreasing', () => {
  const violations: string[] = [];
  for (let m = 1; m <= 4096; m++) {
    let lo = 0;
    let previous = Infinity;
    for (const [start, width] of perfectBlocks(m)) {
      const aligned = start === lo && (width & (width - 1)) === 0 && start % width === 0;
      if (!aligned || width >= previous) violations.push(`m=${m}: block [${start}, +${width})`);
      lo += width;
      previous = width;
    }
    if (lo !== m) violations.push(`m=${m}: blocks cover ${lo}`);
  }
  expect(violations).toEqual([]);
});

test('pathFitsNode accepts exactly the paths some tree of at least the old size gives an old block (sizes up to 40, paths up to 8 steps)', () => {
  const mismatches: string[] = [];
  const MAX_STEPS = 8;
  for (let m = 1; m <= 40; m++) {
    for (const [lo, width] of perfectBlocks(m)) {
      // Every path this block has in a tree of m or more leaves, up to trees whose paths are longer than MAX_STEPS.
      const real = new Set<string>();
      for (let n = m; n <= width * 2 ** (MAX_STEPS + 1); n++) {
        const sides = expectedSides(lo, width, n);
        if (sides.length <= MAX_STEPS) real.add(sides);
      }
      for (let length = 0; length <= MAX_STEPS; length++) {
        for (let bits = 0; bits < 2 ** length; bits++) {
          const sides = Array.from({ length }, (_, k) => ((bits >> k) & 1 ? 'l' : 'r')).join('');
          const fits = pathFitsNode([...sides].map((side) => ({ side })), lo, width, m);
          if (fits !== real.has(sides)) mismatches.push(`block ${lo}+${width} of ${m}, "${sides}": some tree has it: ${real.has(sides)}`);
        }
      }
    }
  }
  expect(mismatches).toEqual([]);
});

test('with the old size only, a one-item proof that puts junk before the old tree fails its shape', () => {
  const P = rootHex[4]!;
  const e = leafHex[10]!;
  const Z = leafHex[11]!;
  const forged = bytesToHex(sha256(Uint8Array.from([...Buffer.from(Z, 'hex'), ...sha256(Uint8Array.from([...Buffer.from(P, 'hex'), ...Buffer.from(e, 'hex')]))])));
  const input = { oldRootHash: P, newRootHash: forged, proof: [`x:${P},r:${e},l:${Z}`] };
  expect(verifyConsistency(input).status).toBe('PASS');
  expect(verifyConsistency({ ...input, oldSize: 4 })).toEqual({ status: 'FAIL', reason: 'consistency item 0 cannot be the block of leaves 0..3 in a tree that extends size 4' });
});
