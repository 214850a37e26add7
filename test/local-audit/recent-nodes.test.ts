// The tree store answers the lower nodes over its most recent leaves from memory
// (store/recent-nodes.ts). Whatever it serves from there must be exactly the tree: proofs and roots
// are checked against the Merkle module's in-memory tree, for trees smaller and much larger than
// the memory window, after appends, after reopening (the window read back from disk), and after a
// rolled-back append (whose nodes and root must never be served). The nodes on disk are compared
// with the reference tree's one by one.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import fc from 'fast-check';
import { bytesToHex, formatMembershipProof, membershipPath, MemoryTree } from '../../src/merkle/index.js';
import { STANDARD_SCHEMA } from '../../src/local-audit/audit-schema.js';
import { openDatabase, type Db } from '../../src/local-audit/store/database.js';
import { PageProofs } from '../../src/local-audit/store/page-proofs.js';
import { RecentNodes } from '../../src/local-audit/store/recent-nodes.js';
import { TreeStore } from '../../src/local-audit/store/tree-store.js';
import { tempDir } from '../support/local-audit.js';

/** A window much smaller than the trees below, so pages straddle its edge. */
const WINDOW = 16;

const leafHash = (i: number, salt = ''): Uint8Array => new Uint8Array(createHash('sha256').update(`leaf ${i}${salt}`).digest());

function appendAll(db: Db, tree: TreeStore, reference: MemoryTree, count: number): void {
  const leaves = Array.from({ length: count }, (_, i) => leafHash(reference.size + i));
  db.transaction(() => tree.append(leaves))();
  for (const leaf of leaves) reference.append(leaf);
}

/** Proofs and roots of the store, for pages of leaves, against the reference tree. */
function expectSameTree(tree: TreeStore, reference: MemoryTree, runs = 150): void {
  const size = reference.size;
  expect(tree.size).toBe(size);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: size }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 25 }),
      fc.boolean(),
      (proofSize, picks, contiguous) => {
        // A newest-first page ending at proofSize, or leaves scattered over the whole tree.
        const leaves = contiguous
          ? Array.from({ length: Math.min(picks.length, proofSize) }, (_, i) => proofSize - 1 - i)
          : picks.map((p) => p % proofSize);
        const page = new PageProofs(tree, leaves);
        for (const leaf of leaves) {
          expect(page.membershipProof(leaf, proofSize)).toBe(formatMembershipProof(membershipPath(reference, leaf, proofSize)));
        }
        expect(bytesToHex(tree.root(proofSize))).toBe(bytesToHex(reference.root(proofSize)));
      },
    ),
    { numRuns: runs },
  );
}

describe('a tree store with a memory window of the last leaves', () => {
  let file: string;
  let db: Db;
  let tree: TreeStore;
  const reference = new MemoryTree();

  beforeAll(() => {
    file = join(tempDir('recent-nodes-'), 'audit.sqlite');
    db = openDatabase(file, STANDARD_SCHEMA);
    tree = new TreeStore(db, WINDOW);
  });
  afterAll(() => db.close());

  test('a tree smaller than the window, then one growing far past it in uneven batches', () => {
    appendAll(db, tree, reference, 5);
    expectSameTree(tree, reference);
    for (const batch of [1, 2, 7, 16, 33, 100, 3]) appendAll(db, tree, reference, batch);
    expectSameTree(tree, reference);
  });

  test('the nodes on disk are exactly the complete subtrees of the tree, however the appends were cut', () => {
    // Appends store each level's new nodes in one statement: batches that close one node of a
    // level, several, or a run crossing a power of two, and one of 1,025 leaves.
    for (const batch of [1, 1, 2, 5, 64, 1025]) appendAll(db, tree, reference, batch);
    const rows = db.prepare('SELECT level, idx, hash FROM nodes ORDER BY level, idx').raw().all() as Array<[number, number, Buffer]>;
    const expected: Array<[number, number, string]> = [];
    for (let level = 0; 2 ** level <= reference.size; level++) {
      for (let idx = 0; idx < Math.floor(reference.size / 2 ** level); idx++) expected.push([level, idx, bytesToHex(reference.node(level, idx))]);
    }
    expect(rows.map(([level, idx, hash]) => [level, idx, bytesToHex(hash)])).toEqual(expected);
  });

  test('reopened: the window is read back from disk', () => {
    const reopened = new TreeStore(db, WINDOW);
    expectSameTree(reopened, reference);
    // And it keeps up with appends made through it afterwards.
    appendAll(db, reopened, reference, 21);
    expectSameTree(reopened, reference);
    tree = reopened;
  });

  test('a rolled-back append leaves nothing of itself in memory', () => {
    const size = reference.size;
    expect(() =>
      db.transaction(() => {
        tree.append(Array.from({ length: 9 }, (_, i) => leafHash(size + i, ' (rolled back)')));
        tree.root(size + 9); // asked for while it existed
        throw new Error('abort');
      })(),
    ).toThrow('abort');
    tree.reload();
    expect(tree.size).toBe(size);
    // The same positions appended again with other leaves: the rolled-back nodes are never served.
    appendAll(db, tree, reference, 9);
    expect(bytesToHex(tree.root(size + 9))).toBe(bytesToHex(reference.root(size + 9)));
    expectSameTree(tree, reference);
  });
});

test('a node rewritten by another connection is noticed, and served as it is on disk after a reload', () => {
  const file = join(tempDir('recent-nodes-'), 'audit.sqlite');
  const db = openDatabase(file, STANDARD_SCHEMA);
  try {
    const tree = new TreeStore(db, WINDOW);
    const reference = new MemoryTree();
    appendAll(db, tree, reference, 40);
    expect(tree.changedElsewhere()).toBe(false); // its own commits do not count
    const forged = leafHash(999);
    const other = new Database(file);
    try {
      expect(other.prepare('UPDATE nodes SET hash = ? WHERE level = 0 AND idx = 38').run(forged).changes).toBe(1);
    } finally {
      other.close();
    }
    // Still the kept copy until the change is noticed...
    expect(tree.nodeHex(0, 38)).toBe(bytesToHex(reference.node(0, 38)));
    expect(tree.changedElsewhere()).toBe(true);
    tree.reload();
    expect(tree.changedElsewhere()).toBe(false);
    // ...then what is on disk: the proof of leaf 39 carries the forged sibling.
    expect(tree.nodeHex(0, 38)).toBe(bytesToHex(forged));
    expect(new PageProofs(tree, [39]).membershipProof(39, 40)).toMatch(new RegExp(`^l:${bytesToHex(forged)},`));
  } finally {
    db.close();
  }
});

describe('RecentNodes', () => {
  test('serves only the exact (level, index) it holds, within the window of the given size', () => {
    const recent = new RecentNodes(2, 4);
    const a = leafHash(1);
    recent.add(0, 9, a);
    expect(recent.hash(0, 9)).toBe(a);
    expect(recent.hex(0, 9)).toBe(bytesToHex(a));
    // Index 5 shares 9's slot (capacity 4): not held.
    expect(recent.hash(0, 5)).toBeUndefined();
    expect(recent.hex(0, 13)).toBeUndefined();
    // Levels past the ones it keeps.
    expect(recent.hash(2, 0)).toBeUndefined();
    // A range is answered only when every node in it is held and it lies within the window.
    expect(recent.range(0, 9, 9, 10)).toEqual([[9, bytesToHex(a)]]);
    expect(recent.range(0, 8, 9, 10)).toBeUndefined();
    // Nodes past the tree's end do not exist: left out, as the disk read leaves them out.
    expect(recent.range(0, 9, 11, 10)).toEqual([[9, bytesToHex(a)]]);
    // A tree of 20 leaves keeps level-0 indexes 16..19 only.
    expect(recent.range(0, 9, 9, 20)).toBeUndefined();
    // Held as hex only (read at start-up): bytes decoded on demand.
    recent.add(1, 2, undefined, bytesToHex(a));
    expect(recent.hash(1, 2)).toEqual(a);
    recent.clear();
    expect(recent.hash(0, 9)).toBeUndefined();
  });
});
