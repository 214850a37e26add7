// Every change to an honest proof, root or hash must turn PASS into FAIL, with a reason, and no
// input — however malformed or large — may make a verifier throw. Exhaustive single-bit flips and
// structural edits for a handful of chosen proofs, then fast-check mutations across many sizes.
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  MemoryTree,
  bytesToHex,
  consistencyProof,
  formatConsistencyItem,
  formatMembershipProof,
  membershipPath,
  verifyConsistency,
  verifyMembership,
  type ConsistencyInput,
  type MembershipInput,
  type Verification,
} from '../../src/merkle/index.js';
import { flipBit } from '../support/digest-bits.js';

const MAX = 300;
const encoder = new TextEncoder();
const tree = new MemoryTree();
for (let i = 0; i < MAX; i++) tree.append(sha256(encoder.encode(`mutation leaf ${i}`)));
const leafHex = Array.from({ length: MAX }, (_, i) => bytesToHex(tree.node(0, i)));
const rootHex = Array.from({ length: MAX + 1 }, (_, n) => (n === 0 ? '' : bytesToHex(tree.root(n))));

const membershipProof = (i: number, n: number): string => formatMembershipProof(membershipPath(tree, i, n));
const consistencyItems = (m: number, n: number): string[] => consistencyProof(tree, m, n).map(formatConsistencyItem);

/** Runs a check and describes it if it threw or did not FAIL with a reason; null if it failed properly. */
function notAFail(label: string, check: () => Verification): string | null {
  let result: Verification;
  try {
    result = check();
  } catch (err) {
    return `${label}: threw ${String(err)}`;
  }
  if (result.status !== 'FAIL') return `${label}: ${result.status}`;
  if (typeof result.reason !== 'string' || result.reason.length === 0) return `${label}: FAIL without a reason`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Membership proofs

interface MembershipCase {
  i: number;
  n: number;
  hash: string;
  steps: string[];
  root: string;
}

const membershipCase = (i: number, n: number): MembershipCase => ({
  i,
  n,
  hash: leafHex[i]!,
  steps: membershipProof(i, n).split(','),
  root: rootHex[n]!,
});

/** Every single-change variant of a membership check (label, input). */
function* membershipMutations(c: MembershipCase): Generator<[string, MembershipInput]> {
  const base = { hash: c.hash, proof: c.steps.join(','), rootHash: c.root };
  const withSteps = (steps: string[]) => ({ ...base, proof: steps.join(',') });
  for (let k = 0; k < c.steps.length; k++) {
    const step = c.steps[k]!;
    for (let bit = 0; bit < 256; bit++) {
      yield [`step ${k} bit ${bit}`, withSteps(c.steps.with(k, `${step[0]}:${flipBit(step.slice(2), bit)}`))];
    }
    yield [`step ${k} side flipped`, withSteps(c.steps.with(k, `${step[0] === 'l' ? 'r' : 'l'}${step.slice(1)}`))];
    yield [`step ${k} dropped`, withSteps(c.steps.toSpliced(k, 1))];
    yield [`step ${k} duplicated`, withSteps(c.steps.toSpliced(k, 0, step))];
    if (k + 1 < c.steps.length) {
      yield [`steps ${k} and ${k + 1} swapped`, withSteps(c.steps.toSpliced(k, 2, c.steps[k + 1]!, step))];
    }
  }
  if (c.steps.length > 1) yield ['steps reversed', withSteps(c.steps.toReversed())];
  for (let bit = 0; bit < 256; bit++) {
    yield [`root bit ${bit}`, { ...base, rootHash: flipBit(c.root, bit) }];
    yield [`leaf hash bit ${bit}`, { ...base, hash: flipBit(c.hash, bit) }];
  }
  for (let cut = 0; cut < base.proof.length; cut++) yield [`truncated to ${cut} chars`, { ...base, proof: base.proof.slice(0, cut) }];
  for (let n2 = 1; n2 <= MAX; n2++) if (n2 !== c.n) yield [`root of size ${n2}`, { ...base, rootHash: rootHex[n2] }];
}

// Proofs at the edges of the split rule: smallest tree, power-of-two sizes and their neighbours,
// first and last leaves.
const chosenMembership: Array<[number, number]> = [
  [0, 2],
  [1, 2],
  [5, 13],
  [127, 128],
  [128, 129],
  [0, 257],
  [200, 300],
  [299, 300],
];

describe.each(chosenMembership)('membership proof of leaf %i in a tree of %i', (i, n) => {
  const c = membershipCase(i, n);

  test('the honest proof passes (plain, exact position, suffix position)', () => {
    const input = { hash: c.hash, proof: c.steps.join(','), rootHash: c.root };
    expect(verifyMembership(input).status).toBe('PASS');
    expect(verifyMembership({ ...input, position: { leafIndex: i, treeSize: n, oneEventPerLeaf: true } }).status).toBe('PASS');
    expect(verifyMembership({ ...input, position: { leafIndex: i, treeSize: n } }).status).toBe('PASS');
  });

  test('every bit flip, side flip, dropped/duplicated/swapped step, truncation and wrong root fails', () => {
    const problems: string[] = [];
    let count = 0;
    for (const [label, input] of membershipMutations(c)) {
      count++;
      const plain = notAFail(label, () => verifyMembership(input));
      if (plain) problems.push(plain);
      const exact = notAFail(`${label} (exact)`, () =>
        verifyMembership({ ...input, position: { leafIndex: i, treeSize: n, oneEventPerLeaf: true } }),
      );
      if (exact) problems.push(exact);
    }
    expect(problems).toEqual([]);
    expect(count).toBeGreaterThan(c.steps.length * 256 + 512);
  });

  test('the honest proof with any other leaf index fails the position check (exact and suffix)', () => {
    const input = { hash: c.hash, proof: c.steps.join(','), rootHash: c.root };
    const others = new Set<number>();
    for (let j = 0; j < n; j++) if (j !== i) others.add(j);
    // Bit flips of the index, mostly out of range (above bit 30, i has the bit clear: flipping adds).
    for (let bit = 0; bit < 53; bit++) others.add(bit < 31 ? i ^ (1 << bit) : i + 2 ** bit);
    for (const bad of [-1, n, n + 1, 2 ** 53, Number.NaN, Infinity, 0.5]) if (bad !== i) others.add(bad);
    const problems: string[] = [];
    for (const j of others) {
      for (const oneEventPerLeaf of [true, false]) {
        const p = notAFail(`leaf index ${j} (exact ${oneEventPerLeaf})`, () =>
          verifyMembership({ ...input, position: { leafIndex: j, treeSize: n, oneEventPerLeaf } }),
        );
        if (p) problems.push(p);
      }
    }
    expect(problems).toEqual([]);
  });
});

test('exact mode rejects a proof with extra leading steps that suffix mode accepts (a per-batch tree under the leaf)', () => {
  // Leaf 3 of a 6-leaf tree is itself the root of a 2-event batch: event hash e, sibling s.
  const e = sha256(encoder.encode('batched event'));
  const s = sha256(encoder.encode('other batched event'));
  const batched = new MemoryTree();
  for (let i = 0; i < 6; i++) batched.append(i === 3 ? sha256(new Uint8Array([...e, ...s])) : tree.node(0, i));
  const proof = [`r:${bytesToHex(s)}`, formatMembershipProof(membershipPath(batched, 3, 6))].join(',');
  const input = { hash: bytesToHex(e), proof, rootHash: bytesToHex(batched.root()) };
  expect(verifyMembership({ ...input, position: { leafIndex: 3, treeSize: 6 } }).status).toBe('PASS');
  expect(verifyMembership({ ...input, position: { leafIndex: 3, treeSize: 6, oneEventPerLeaf: true } }).status).toBe('FAIL');
  expect(verifyMembership({ ...input, position: { leafIndex: 2, treeSize: 6 } }).status).toBe('FAIL');
});

// ---------------------------------------------------------------------------------------------
// Consistency proofs

/** Every single-change variant of a consistency check (label, input without sizes). */
function* consistencyMutations(m: number, n: number): Generator<[string, ConsistencyInput]> {
  const items = consistencyItems(m, n);
  const base = { oldRootHash: rootHex[m], newRootHash: rootHex[n], proof: items };
  for (let k = 0; k < items.length; k++) {
    const parts = items[k]!.split(',');
    const withParts = (p: string[]) => ({ ...base, proof: items.with(k, p.join(',')) });
    for (let bit = 0; bit < 256; bit++) yield [`item ${k} subtree bit ${bit}`, withParts(parts.with(0, `x:${flipBit(parts[0]!.slice(2), bit)}`))];
    for (let s = 1; s < parts.length; s++) {
      const step = parts[s]!;
      for (let bit = 0; bit < 256; bit++) yield [`item ${k} step ${s} bit ${bit}`, withParts(parts.with(s, `${step[0]}:${flipBit(step.slice(2), bit)}`))];
      yield [`item ${k} step ${s} side flipped`, withParts(parts.with(s, `${step[0] === 'l' ? 'r' : 'l'}${step.slice(1)}`))];
      yield [`item ${k} step ${s} dropped`, withParts(parts.toSpliced(s, 1))];
      yield [`item ${k} step ${s} duplicated`, withParts(parts.toSpliced(s, 0, step))];
    }
    for (let cut = 0; cut < items[k]!.length; cut++) yield [`item ${k} truncated to ${cut}`, { ...base, proof: items.with(k, items[k]!.slice(0, cut)) }];
    yield [`item ${k} dropped`, { ...base, proof: items.toSpliced(k, 1) }];
    yield [`item ${k} duplicated`, { ...base, proof: items.toSpliced(k, 0, items[k]!) }];
    if (k + 1 < items.length) yield [`items ${k}, ${k + 1} swapped`, { ...base, proof: items.toSpliced(k, 2, items[k + 1]!, items[k]!) }];
  }
  if (items.length > 1) yield ['items reversed', { ...base, proof: items.toReversed() }];
  for (let bit = 0; bit < 256; bit++) {
    yield [`old root bit ${bit}`, { ...base, oldRootHash: flipBit(base.oldRootHash!, bit) }];
    yield [`new root bit ${bit}`, { ...base, newRootHash: flipBit(base.newRootHash!, bit) }];
  }
  yield ['roots swapped', { ...base, oldRootHash: base.newRootHash, newRootHash: base.oldRootHash }];
  if (items.length > 1) yield ['proof truncated to its first item', { ...base, proof: items.slice(0, 1) }];
  yield ['empty proof', { ...base, proof: [] }];
  // The proof of a neighbouring size pair, against these roots.
  if (m + 1 < n) yield ['proof for m + 1', { ...base, proof: consistencyItems(m + 1, n) }];
  if (m > 1) yield ['proof for m - 1', { ...base, proof: consistencyItems(m - 1, n) }];
  if (n < MAX) yield ['proof for n + 1', { ...base, proof: consistencyItems(m, n + 1) }];
}

const chosenConsistency: Array<[number, number]> = [
  [1, 2],
  [3, 7],
  [6, 13],
  [64, 300],
  [100, 257],
  [255, 256],
  [256, 257],
  [299, 300],
];

describe.each(chosenConsistency)('consistency proof %i -> %i', (m, n) => {
  const base = { oldRootHash: rootHex[m], newRootHash: rootHex[n], proof: consistencyItems(m, n) };

  test('every bit flip, side flip, edit of items or steps, truncation and root swap fails, without and with sizes', () => {
    expect(verifyConsistency(base).status).toBe('PASS');
    const problems: string[] = [];
    for (const [label, input] of consistencyMutations(m, n)) {
      const plain = notAFail(label, () => verifyConsistency(input));
      if (plain) problems.push(plain);
      const sized = notAFail(`${label} (sizes)`, () => verifyConsistency({ ...input, sizes: { oldSize: m, newSize: n } }));
      if (sized) problems.push(sized);
    }
    expect(problems).toEqual([]);
  });

  test('the honest proof with any other old size fails the shape check', () => {
    const problems: string[] = [];
    const sizes = [...Array.from({ length: n + 2 }, (_, k) => k), -1, 2 ** 53, Number.NaN, 1.5];
    for (const oldSize of sizes) {
      if (oldSize === m) continue;
      const p = notAFail(`old size ${oldSize}`, () => verifyConsistency({ ...base, sizes: { oldSize, newSize: n } }));
      if (p) problems.push(p);
    }
    expect(problems).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Random mutations across many sizes

const MUTATIONS = ['bit', 'side', 'drop', 'duplicate', 'swap', 'truncate', 'char', 'root', 'leaf', 'index'] as const;
// Replacement characters: other hex digits, separators, side letters, case variants of sides, junk.
const CHARS = [...'0123456789abcdefABCDEF', ',', ':', 'l', 'r', 'L', 'R', 'x', 'X', 'g', ' ', '\n', '\u00e9', '\u0161'];

/** Replaces text[at] by c; null when that would not change the meaning (same char or only hex case). */
function replaceChar(text: string, at: number, c: string): string | null {
  const old = text[at]!;
  if (old.toLowerCase() === c.toLowerCase() && /[0-9a-f]/i.test(c) && /[0-9a-f]/i.test(old)) return null;
  if (old === c) return null;
  return text.slice(0, at) + c + text.slice(at + 1);
}

const unit = () => fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const pick = (n: number, u: number): number => Math.floor(u * n);

test('random single mutations of membership proofs fail (sizes 2..300, every leaf)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: MAX }),
      unit(),
      fc.constantFrom(...MUTATIONS),
      unit(),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(...CHARS),
      (n, ui, kind, u, bit, c) => {
        const i = pick(n, ui);
        const steps = membershipProof(i, n).split(',');
        let input: MembershipInput = { hash: leafHex[i], proof: steps.join(','), rootHash: rootHex[n] };
        let leafIndex = i;
        const k = pick(steps.length, u);
        const step = steps[k]!;
        switch (kind) {
          case 'bit':
            input.proof = steps.with(k, `${step[0]}:${flipBit(step.slice(2), bit)}`).join(',');
            break;
          case 'side':
            input.proof = steps.with(k, `${step[0] === 'l' ? 'r' : 'l'}${step.slice(1)}`).join(',');
            break;
          case 'drop':
            input.proof = steps.toSpliced(k, 1).join(',');
            break;
          case 'duplicate':
            input.proof = steps.toSpliced(k, 0, step).join(',');
            break;
          case 'swap': {
            if (steps.length < 2) return;
            const j = (k + 1 + pick(steps.length - 1, u)) % steps.length;
            const swapped = [...steps];
            [swapped[k], swapped[j]] = [swapped[j]!, swapped[k]!];
            input.proof = swapped.join(',');
            break;
          }
          case 'truncate':
            input.proof = input.proof!.slice(0, pick(input.proof!.length, u));
            break;
          case 'char': {
            const replaced = replaceChar(input.proof!, pick(input.proof!.length, u), c);
            if (replaced === null) return;
            input.proof = replaced;
            break;
          }
          case 'root':
            input = { ...input, rootHash: flipBit(rootHex[n]!, bit) };
            break;
          case 'leaf':
            input = { ...input, hash: flipBit(leafHex[i]!, bit) };
            break;
          case 'index':
            leafIndex = i ^ (1 << (bit % 12));
            break;
        }
        if (kind !== 'index') expect(notAFail(kind, () => verifyMembership(input))).toBeNull();
        expect(
          notAFail(`${kind} (exact)`, () => verifyMembership({ ...input, position: { leafIndex, treeSize: n, oneEventPerLeaf: true } })),
        ).toBeNull();
      },
    ),
    { numRuns: 4000 },
  );
});

test('random single mutations of consistency proofs fail, without and with sizes (1 <= m < n <= 300)', () => {
  const KINDS = ['subtree', 'bit', 'side', 'dropStep', 'dropItem', 'duplicateItem', 'swapItems', 'truncate', 'char', 'oldRoot', 'newRoot', 'swapRoots', 'oldSize'] as const;
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: MAX }),
      unit(),
      fc.constantFrom(...KINDS),
      unit(),
      unit(),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(...CHARS),
      (n, um, kind, u1, u2, bit, c) => {
        const m = 1 + pick(n - 1, um);
        const items = consistencyItems(m, n);
        const k = pick(items.length, u1);
        const parts = items[k]!.split(',');
        const s = 1 + pick(parts.length - 1, u2); // a step of item k (m < n: every item has a path)
        const step = parts[s]!;
        const input: ConsistencyInput = { oldRootHash: rootHex[m], newRootHash: rootHex[n], proof: items };
        let oldSize = m;
        const setItem = (p: string[]) => (input.proof = items.with(k, p.join(',')));
        switch (kind) {
          case 'subtree':
            setItem(parts.with(0, `x:${flipBit(parts[0]!.slice(2), bit)}`));
            break;
          case 'bit':
            setItem(parts.with(s, `${step[0]}:${flipBit(step.slice(2), bit)}`));
            break;
          case 'side':
            setItem(parts.with(s, `${step[0] === 'l' ? 'r' : 'l'}${step.slice(1)}`));
            break;
          case 'dropStep':
            setItem(parts.toSpliced(s, 1));
            break;
          case 'dropItem':
            input.proof = items.toSpliced(k, 1);
            break;
          case 'duplicateItem':
            input.proof = items.toSpliced(k, 0, items[k]!);
            break;
          case 'swapItems': {
            if (items.length < 2) return;
            const j = (k + 1 + pick(items.length - 1, u2)) % items.length;
            const swapped = [...items];
            [swapped[k], swapped[j]] = [swapped[j]!, swapped[k]!];
            input.proof = swapped;
            break;
          }
          case 'truncate':
            input.proof = items.with(k, items[k]!.slice(0, pick(items[k]!.length, u2)));
            break;
          case 'char': {
            const replaced = replaceChar(items[k]!, pick(items[k]!.length, u2), c);
            if (replaced === null) return;
            input.proof = items.with(k, replaced);
            break;
          }
          case 'oldRoot':
            input.oldRootHash = flipBit(rootHex[m]!, bit);
            break;
          case 'newRoot':
            input.newRootHash = flipBit(rootHex[n]!, bit);
            break;
          case 'swapRoots':
            [input.oldRootHash, input.newRootHash] = [rootHex[n], rootHex[m]];
            break;
          case 'oldSize':
            oldSize = 1 + ((m + bit) % n); // any size in 1..n other than m
            if (oldSize === m) oldSize = m === 1 ? 2 : m - 1;
            break;
        }
        if (kind !== 'oldSize') expect(notAFail(kind, () => verifyConsistency(input))).toBeNull();
        expect(notAFail(`${kind} (sizes)`, () => verifyConsistency({ ...input, sizes: { oldSize, newSize: n } }))).toBeNull();
      },
    ),
    { numRuns: 4000 },
  );
});

// ---------------------------------------------------------------------------------------------
// Malformed and hostile input

describe('malformed input gives FAIL with a reason and never throws', () => {
  const i = 77;
  const n = 200;
  const proof = membershipProof(i, n);
  const good = { hash: leafHex[i], proof, rootHash: rootHex[n] };
  const step0 = proof.split(',')[0]!;
  const rest = proof.slice(step0.length);

  test('membership', () => {
    expect(verifyMembership(good).status).toBe('PASS');
    const cases: Array<[string, Partial<MembershipInput> | Record<string, unknown>]> = [
      ['non-hex step', { proof: `${step0.slice(0, 10)}z${step0.slice(11)}${rest}` }],
      ['odd-length step hex', { proof: `${step0.slice(0, -1)}${rest}` }],
      ['step hex too long', { proof: `${step0}0${rest}` }],
      ['step hex 31 bytes', { proof: `${step0.slice(0, -2)}${rest}` }],
      ['unknown side letter', { proof: `x${step0.slice(1)}${rest}` }],
      ['uppercase side', { proof: `${step0[0]!.toUpperCase()}${step0.slice(1)}${rest}` }],
      ['side without colon', { proof: `${step0[0]}${step0.slice(2)}${rest}` }],
      ['semicolon for colon', { proof: `${step0[0]};${step0.slice(2)}${rest}` }],
      ['leading comma', { proof: `,${proof}` }],
      ['trailing comma', { proof: `${proof},` }],
      ['double comma', { proof: `${step0},${rest}` }],
      ['space after comma', { proof: proof.replace(',', ', ') }],
      ['surrounding whitespace', { proof: ` ${proof}\n` }],
      ['just a comma', { proof: ',' }],
      ['empty proof for a 200-leaf tree', { proof: '' }],
      ['0x-prefixed step', { proof: `${step0.slice(0, 2)}0x${step0.slice(2)}${rest}` }],
      ['non-hex event hash', { hash: `${leafHex[i]!.slice(0, 63)}g` }],
      ['short event hash', { hash: leafHex[i]!.slice(2) }],
      ['long event hash', { hash: `${leafHex[i]}00` }],
      ['non-hex root', { rootHash: `z${rootHex[n]!.slice(1)}` }],
      ['odd-length root', { rootHash: rootHex[n]!.slice(1) }],
      ['10 MB proof string', { proof: `l:${'a'.repeat(10 * 1024 * 1024)}` }],
      ['100k valid-looking steps', { proof: Array.from({ length: 100_000 }, () => step0).join(',') }],
      ['10 MB of commas', { proof: ','.repeat(10 * 1024 * 1024) }],
      ['proof is a number', { proof: 42 }],
      ['proof is an object', { proof: { steps: [] } }],
      ['proof is an array', { proof: proof.split(',') }],
      ['hash is a number', { hash: 42 }],
      ['root is an object', { rootHash: { root: rootHex[n] } }],
      ['leaf index NaN', { position: { leafIndex: Number.NaN, treeSize: n } }],
      ['leaf index negative', { position: { leafIndex: -1, treeSize: n, oneEventPerLeaf: true } }],
      ['leaf index fractional', { position: { leafIndex: 1.5, treeSize: n } }],
      ['tree size 0', { position: { leafIndex: 0, treeSize: 0 } }],
      ['tree size Infinity', { position: { leafIndex: i, treeSize: Infinity } }],
      ['tree size smaller than the index', { position: { leafIndex: i, treeSize: i } }],
      ['tree size as a string', { position: { leafIndex: i, treeSize: String(n) } }],
    ];
    const problems = cases.map(([label, change]) => notAFail(label, () => verifyMembership({ ...good, ...change } as MembershipInput))).filter(Boolean);
    expect(problems).toEqual([]);
  });

  test('membership: missing pieces are NONE, hex case does not matter', () => {
    expect(verifyMembership({ ...good, hash: null }).status).toBe('NONE');
    expect(verifyMembership({ ...good, proof: undefined }).status).toBe('NONE');
    expect(verifyMembership({ ...good, rootHash: '' }).status).toBe('NONE');
    // Upper-case hex digits decode to the same bytes (the side letters stay lower case).
    expect(verifyMembership({ hash: good.hash!.toUpperCase(), proof: proof.toUpperCase().replace(/([LR]):/g, (s) => s.toLowerCase()), rootHash: good.rootHash!.toUpperCase() }).status).toBe('PASS');
  });

  test('consistency', () => {
    const m = 77;
    const items = consistencyItems(m, n);
    const ok = { oldRootHash: rootHex[m], newRootHash: rootHex[n], proof: items };
    expect(verifyConsistency(ok).status).toBe('PASS');
    const first = items[0]!;
    const comma = first.indexOf(',');
    const cases: Array<[string, Record<string, unknown>]> = [
      ['empty list', { proof: [] }],
      ['item without a path', { proof: items.with(0, first.slice(0, comma)) }],
      ['item with only "x:"', { proof: items.with(0, 'x:') }],
      ['empty item', { proof: items.with(0, '') }],
      ['item without "x:"', { proof: items.with(0, first.slice(2)) }],
      ['uppercase "X:"', { proof: items.with(0, `X${first.slice(1)}`) }],
      ['uppercase side in the path', { proof: items.with(0, first.replace(/,([lr]):/, (_s, side: string) => `,${side.toUpperCase()}:`)) }],
      ['unknown side in the path', { proof: items.with(0, first.replace(/,[lr]:/, ',q:')) }],
      ['non-hex subtree', { proof: items.with(0, `x:g${first.slice(3)}`) }],
      ['odd-length subtree', { proof: items.with(0, `x:${first.slice(3)}`) }],
      ['non-hex path step', { proof: items.with(0, `${first.slice(0, -1)}z`) }],
      ['odd-length path step', { proof: items.with(0, first.slice(0, -1)) }],
      ['trailing comma', { proof: items.with(0, `${first},`) }],
      ['item is a number', { proof: [42, ...items.slice(1)] }],
      ['item is null', { proof: [null, ...items.slice(1)] }],
      ['item is an object', { proof: [{ x: first }] }],
      ['proof is a string', { proof: first }],
      ['proof is an object', { proof: { 0: first, length: 1 } }],
      ['100k items', { proof: Array.from({ length: 100_000 }, () => first) }],
      ['10 MB item', { proof: items.with(0, `${first},l:${'a'.repeat(10 * 1024 * 1024)}`) }],
      ['10 MB item without a comma', { proof: items.with(0, `x:${'a'.repeat(10 * 1024 * 1024)}`) }],
      ['non-hex old root', { oldRootHash: `${rootHex[m]!.slice(0, 63)}g` }],
      ['short new root', { newRootHash: rootHex[n]!.slice(0, 62) }],
      ['sizes reversed', { sizes: { oldSize: n, newSize: m } }],
      ['old size 0', { sizes: { oldSize: 0, newSize: n } }],
      ['sizes NaN', { sizes: { oldSize: Number.NaN, newSize: Number.NaN } }],
      ['new size wrong type', { sizes: { oldSize: m, newSize: String(n) } }],
    ];
    const problems = cases.map(([label, change]) => notAFail(label, () => verifyConsistency({ ...ok, ...change } as ConsistencyInput))).filter(Boolean);
    expect(problems).toEqual([]);
    expect(verifyConsistency({ ...ok, proof: null }).status).toBe('NONE');
    expect(verifyConsistency({ ...ok, oldRootHash: undefined }).status).toBe('NONE');
  });
});
