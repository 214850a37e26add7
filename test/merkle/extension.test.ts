// The leaf trick: the path of leaf m - 1 in the tree of size n proves root(m) is a prefix of root(n).
// Checked against MemoryTree for every pair of small sizes, and against deliberate mutations
// (index off by one, sizes swapped or doubled, a flipped bit, roots swapped) that must all fail.
import {
  MemoryTree,
  bytesToHex,
  formatMembershipProof,
  membershipPath,
  overallVerdict,
  pathRoots,
  sha256HexOfString,
  verifyExtension,
  type ExtensionInput,
} from '../../src/merkle/index.js';

const N = 70;
const tree = new MemoryTree();
const leaves: string[] = [];
for (let i = 0; i < N; i++) {
  const leaf = sha256HexOfString(`leaf ${i}`);
  leaves.push(leaf);
  tree.append(Uint8Array.from(Buffer.from(leaf, 'hex')));
}
const root = (size: number): string => bytesToHex(tree.root(size));
const path = (index: number, size: number): string => formatMembershipProof(membershipPath(tree, index, size));

function extension(m: number, n: number): ExtensionInput {
  return { oldSize: m, oldRootHash: root(m), lastLeafHash: leaves[m - 1]!, proof: path(m - 1, n), newSize: n, newRootHash: root(n), oneEventPerLeaf: true };
}

test('for every 1 <= m <= n <= 70 the path of leaf m-1 in tree n proves root n extends root m', () => {
  for (let n = 1; n <= N; n++) {
    for (let m = 1; m <= n; m++) {
      const result = verifyExtension(extension(m, n));
      if (result.status !== 'PASS') throw new Error(`${m} -> ${n}: ${result.reason}`);
    }
  }
});

test('pathRoots gives root n and root k+1 for every leaf k', () => {
  for (let n = 1; n <= 40; n++) {
    for (let k = 0; k < n; k++) {
      const r = pathRoots({ hash: leaves[k]!, proof: path(k, n), leafIndex: k, treeSize: n, oneEventPerLeaf: true });
      expect(r.ok && bytesToHex(r.root) === root(n) && bytesToHex(r.prefixRoot) === root(k + 1)).toBe(true);
    }
  }
});

const mutations: Array<[string, (e: ExtensionInput) => ExtensionInput]> = [
  ['old size + 1', (e) => ({ ...e, oldSize: e.oldSize + 1 })],
  ['old size - 1', (e) => ({ ...e, oldSize: e.oldSize - 1 })],
  ['new size doubled', (e) => ({ ...e, newSize: e.newSize * 2 })],
  ['roots swapped', (e) => ({ ...e, oldRootHash: e.newRootHash, newRootHash: e.oldRootHash })],
  ['another leaf', (e) => ({ ...e, lastLeafHash: leaves[e.oldSize]! })],
  ['a flipped bit in the old root', (e) => ({ ...e, oldRootHash: flip(e.oldRootHash) })],
  ['a flipped bit in the new root', (e) => ({ ...e, newRootHash: flip(e.newRootHash) })],
  ['a flipped bit in the path', (e) => ({ ...e, proof: (e.proof as string).slice(0, 2) + flip((e.proof as string).slice(2, 66)) + (e.proof as string).slice(66) })],
  ['a step dropped', (e) => ({ ...e, proof: (e.proof as string).split(',').slice(1).join(',') })],
];

function flip(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  bytes[7]! ^= 0x10;
  return bytes.toString('hex');
}

test.each(mutations)('%s: never passes', (_name, mutate) => {
  for (const [m, n] of [[5, 9], [8, 16], [13, 40], [31, 33], [32, 64], [1, 2], [20, 70]] as const) {
    expect(verifyExtension(mutate(extension(m, n))).status).toBe('FAIL');
  }
});

test('a path with a per-batch tree under the leaf (the cloud) folds the inner steps first', () => {
  // Leaf 9 of 23 is itself the root of a 4-event batch; the event's path starts inside it.
  const batch = new MemoryTree();
  const events = [0, 1, 2, 3].map((i) => sha256HexOfString(`batch event ${i}`));
  for (const e of events) batch.append(Uint8Array.from(Buffer.from(e, 'hex')));
  const outer = new MemoryTree();
  for (let i = 0; i < 23; i++) outer.append(i === 9 ? batch.root() : Uint8Array.from(Buffer.from(leaves[i]!, 'hex')));
  const proof = formatMembershipProof([...membershipPath(batch, 2, 4), ...membershipPath(outer, 9, 23)]);
  const input = { oldSize: 10, oldRootHash: bytesToHex(outer.root(10)), lastLeafHash: events[2]!, proof, newSize: 23, newRootHash: bytesToHex(outer.root(23)) };
  expect(verifyExtension({ ...input, oneEventPerLeaf: false }).status).toBe('PASS');
  expect(verifyExtension({ ...input, oneEventPerLeaf: true }).status).toBe('FAIL');
});

test('overallVerdict: any FAIL is FAILED, a required check not PASS is PENDING, else VERIFIED', () => {
  const PASS = { status: 'PASS' } as const;
  const required = ['hash', 'membership', 'consistency'];
  expect(overallVerdict({ hash: PASS, membership: PASS, consistency: PASS, signature: { status: 'NONE', reason: 'unsigned' } }, required)).toEqual({ verdict: 'VERIFIED' });
  expect(overallVerdict({ hash: PASS, membership: PASS, consistency: { status: 'NONE', reason: 'not published yet' }, signature: PASS }, required)).toEqual({
    verdict: 'PENDING',
    reason: 'consistency: not published yet',
  });
  expect(overallVerdict({ hash: PASS, membership: PASS, consistency: { status: 'NONE', reason: 'x' }, signature: { status: 'FAIL', reason: 'bad' } }, required)).toEqual({
    verdict: 'FAILED',
    reason: 'signature: bad',
  });
  expect(overallVerdict({ hash: PASS }, required).verdict).toBe('PENDING');
});
