// The module's own fast primitives against references: the specialised 64-byte SHA-256 behind
// hashPair (against @noble/hashes and node:crypto), in-place hex decoding (against Buffer), the
// in-place proof parser (against a parser written here from the wire format), splitPoint, the tree
// walks and node names (against a recursive walk written here), and the page-level pair cache.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  bytesToHex,
  digestFromHex,
  expectedSides,
  hashPair,
  hexToBytesOrNull,
  isPerfectRange,
  nodeKey,
  parseConsistencyItem,
  parseMembershipProof,
  perfectNode,
  siblingRanges,
  splitPoint,
} from '../../src/merkle/index.js';
import { PairCache } from '../../src/merkle/pair-cache.js';
import { sidesMatch } from '../../src/merkle/tree.js';

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nodeSha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

describe('hashPair', () => {
  test('equals sha256(left || right) from @noble/hashes and node:crypto for random digests', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (left, right) => {
        const expected = nodeSha256(concat(left, right));
        expect(bytesToHex(hashPair(left, right))).toBe(expected);
        expect(bytesToHex(sha256(concat(left, right)))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  test('edge inputs: all zero, all 0xff, and inputs that are views into a larger buffer', () => {
    const zero = new Uint8Array(32);
    const ones = new Uint8Array(32).fill(0xff);
    for (const [l, r] of [[zero, zero], [ones, ones], [zero, ones], [ones, zero]] as const) {
      expect(bytesToHex(hashPair(l, r))).toBe(nodeSha256(concat(l, r)));
    }
    const backing = new Uint8Array(100).map((_, i) => i * 13);
    const left = backing.subarray(3, 35);
    const right = backing.subarray(50, 82);
    expect(bytesToHex(hashPair(left, right))).toBe(nodeSha256(concat(left, right)));
    // Known answer: sha256 of 64 zero bytes.
    expect(bytesToHex(hashPair(zero, zero))).toBe('f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb4b');
  });

  test('returns a fresh array each call and leaves its inputs untouched', () => {
    const left = new Uint8Array(32).fill(1);
    const right = new Uint8Array(32).fill(2);
    const a = hashPair(left, right);
    const b = hashPair(left, right);
    expect(a).not.toBe(b);
    expect(a).toEqual(b);
    a[0]! ^= 1;
    expect(hashPair(left, right)).toEqual(b);
    expect(left.every((x) => x === 1) && right.every((x) => x === 2)).toBe(true);
  });

  test('inputs that are not 32 bytes are hashed as their concatenation', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 80 }), (left, right) => {
        expect(bytesToHex(hashPair(left, right))).toBe(nodeSha256(concat(left, right)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('hex decoding', () => {
  test('digestFromHex agrees with Buffer on random digests in lower and upper case', () => {
    fc.assert(
      fc.property(bytes32, fc.boolean(), (digest, upper) => {
        const hex = Buffer.from(digest).toString('hex');
        expect(digestFromHex(upper ? hex.toUpperCase() : hex)).toEqual(digest);
        expect(hexToBytesOrNull(hex)).toEqual(digest);
        expect(bytesToHex(digest)).toBe(hex);
      }),
      { numRuns: 500 },
    );
  });

  test('bytesToHex agrees with Buffer for any length (short, digest-sized and long inputs)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(bytesToHex(bytes)).toBe(Buffer.from(bytes).toString('hex'));
      }),
      { numRuns: 500 },
    );
    expect(bytesToHex(new Uint8Array(0))).toBe('');
  });

  test('one wrong character anywhere makes the digest unreadable', () => {
    const hex = 'ab'.repeat(32);
    // Non-hex ASCII, characters whose low 7 bits alias hex digits, and characters beyond the BMP.
    const bad = ['g', 'G', 'x', ' ', ',', ':', '\u0000', '\u00e1', '\u0130', '\u0161', '\u3030', '\ud83d'];
    for (let i = 0; i < 64; i++) {
      for (const c of bad) {
        const broken = hex.slice(0, i) + c + hex.slice(i + 1);
        expect(digestFromHex(broken)).toBeNull();
        expect(hexToBytesOrNull(broken)).toBeNull();
      }
    }
    expect(digestFromHex(hex.slice(1))).toBeNull();
    expect(digestFromHex(hex + '0')).toBeNull();
    expect(digestFromHex(hex + '00')).toBeNull();
    expect(digestFromHex('')).toBeNull();
    expect(hexToBytesOrNull('abc')).toBeNull();
    expect(digestFromHex(42 as unknown as string)).toBeNull();
  });
});

// A reference parser written from the wire format: comma-separated "l:"/"r:" + exactly 64 hex.
function referenceSteps(text: string): Array<{ side: string; hex: string }> | null {
  if (text === '') return [];
  const out: Array<{ side: string; hex: string }> = [];
  for (const part of text.split(',')) {
    const match = /^([lr]):([0-9a-fA-F]{64})$/.exec(part);
    if (!match) return null;
    out.push({ side: match[1]!, hex: match[2]!.toLowerCase() });
  }
  return out;
}

// Strings close to valid proofs: valid steps, then a few random edits, so both parsers' paths run.
const stepArb = fc.tuple(fc.constantFrom('l', 'r'), bytes32).map(([side, h]) => `${side}:${Buffer.from(h).toString('hex')}`);
const editArb = fc.tuple(fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom('l', 'r', 'L', ':', ',', 'a', 'F', 'g', 'x', ' ', '\u00e1'));
const nearProofArb = fc
  .tuple(fc.array(stepArb, { maxLength: 6 }), fc.array(editArb, { maxLength: 2 }), fc.boolean())
  .map(([steps, edits, upper]) => {
    let text = steps.join(',');
    if (upper) text = text.toUpperCase().replace(/L:/g, 'l:').replace(/R:/g, 'r:');
    for (const [at, kind, c] of edits) {
      const i = text.length === 0 ? 0 : at % (text.length + 1);
      if (kind === 'delete') text = text.slice(0, i) + text.slice(i + 1);
      else if (kind === 'insert') text = text.slice(0, i) + c + text.slice(i);
      else text = text.slice(0, i) + c + text.slice(i + 1);
    }
    return text;
  });

describe('proof parsing', () => {
  test('parseMembershipProof accepts exactly what the reference parser accepts, with the same steps', () => {
    fc.assert(
      fc.property(nearProofArb, (text) => {
        const expected = referenceSteps(text);
        const parsed = parseMembershipProof(text);
        if (expected === null) {
          expect(parsed.ok).toBe(false);
          if (!parsed.ok) expect(parsed.reason).toMatch(/proof step \d+|too long/);
        } else {
          expect(parsed.ok).toBe(true);
          if (parsed.ok) expect(parsed.value.map((s) => ({ side: s.side, hex: bytesToHex(s.hash) }))).toEqual(expected);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test('parseConsistencyItem agrees with the reference on "x:<hex>,<path>"', () => {
    fc.assert(
      fc.property(bytes32, nearProofArb, fc.constantFrom('x:', 'X:', 'l:', 'x'), (subtree, path, prefix) => {
        const item = `${prefix}${Buffer.from(subtree).toString('hex')},${path}`;
        const expectedPath = referenceSteps(path);
        const parsed = parseConsistencyItem(item, 3);
        if (prefix !== 'x:' || expectedPath === null) {
          expect(parsed.ok).toBe(false);
          if (!parsed.ok) expect(parsed.reason).toMatch(/^consistency item 3/);
        } else {
          expect(parsed.ok).toBe(true);
          if (parsed.ok) {
            expect(parsed.value.subtree).toEqual(subtree);
            expect(parsed.value.path.map((s) => ({ side: s.side, hex: bytesToHex(s.hash) }))).toEqual(expectedPath);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('names the first bad step', () => {
    const good = `l:${'11'.repeat(32)}`;
    expect(parseMembershipProof(`${good},${good},q:${'22'.repeat(32)}`)).toEqual({
      ok: false,
      reason: 'proof step 2 has no valid side (expected "l:" or "r:")',
    });
    expect(parseMembershipProof(`${good},r:${'2'.repeat(63)}`)).toEqual({ ok: false, reason: 'proof step 1 is not a 32-byte hex digest' });
    expect(parseConsistencyItem(`x:${'11'.repeat(32)}`, 0)).toEqual({ ok: false, reason: 'consistency item 0 has no path' });
  });
});

describe('shape helpers', () => {
  test('splitPoint is the largest power of two below n, up to 2^53', () => {
    const reference = (n: number): number => {
      let k = 1;
      while (k * 2 < n) k *= 2;
      return k;
    };
    for (let n = 2; n <= 5000; n++) expect(splitPoint(n)).toBe(reference(n));
    for (let e = 2; e <= 52; e++) for (const d of [-1, 0, 1]) expect(splitPoint(2 ** e + d)).toBe(reference(2 ** e + d));
  });

  test('sidesMatch agrees with expectedSides for every node path of small trees', () => {
    const mismatches: string[] = [];
    const sidesOf = (s: string) => [...s].map((side) => ({ side }));
    for (let size = 1; size <= 40; size++) {
      for (let lo = 0; lo < size; lo++) {
        const expected = expectedSides(lo, 1, size);
        // Every string of sides up to length 7 against leaf lo: exact and suffix modes.
        for (let len = 0; len <= 7; len++) {
          for (let bits = 0; bits < 2 ** len; bits++) {
            const s = Array.from({ length: len }, (_, k) => ((bits >> k) & 1 ? 'l' : 'r')).join('');
            if (sidesMatch(sidesOf(s), lo, 1, size, true) !== (s === expected)) mismatches.push(`${s} exact ${lo}/${size}`);
            if (sidesMatch(sidesOf(s), lo, 1, size, false) !== s.endsWith(expected)) mismatches.push(`${s} suffix ${lo}/${size}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  test('siblingRanges, expectedSides and sidesMatch walk the same path for every range of small trees', () => {
    // Reference: the sibling ranges bottom-up, by recursion on [start, end), or undefined when
    // [lo, lo + width) is not a node.
    const reference = (lo: number, width: number, start: number, end: number): Array<[string, number, number]> | undefined => {
      if (end - start <= width) return start === lo && end - start === width ? [] : undefined;
      const k = splitPoint(end - start);
      const rest = lo < start + k ? reference(lo, width, start, start + k) : reference(lo, width, start + k, end);
      const sibling: [string, number, number] = lo < start + k ? ['r', start + k, end] : ['l', start, start + k];
      return rest && [...rest, sibling];
    };
    const problems: string[] = [];
    for (let size = 1; size <= 40; size++) {
      for (let lo = 0; lo < size; lo++) {
        for (let width = 1; lo + width <= size; width++) {
          const expected = reference(lo, width, 0, size);
          const sides = expected?.map(([side]) => side).join('') ?? '?';
          if (expectedSides(lo, width, size) !== sides) problems.push(`expectedSides ${lo}+${width}/${size}`);
          let ranges: Array<[string, number, number]> | undefined;
          try {
            ranges = siblingRanges(lo, width, size).map((r) => [r.side, r.lo, r.hi]);
          } catch {
            ranges = undefined;
          }
          if (JSON.stringify(ranges) !== JSON.stringify(expected)) problems.push(`siblingRanges ${lo}+${width}/${size}`);
          const steps = [...(expected ?? [])].map(([side]) => ({ side }));
          if (sidesMatch(steps, lo, width, size, true) !== (expected !== undefined)) problems.push(`sidesMatch ${lo}+${width}/${size}`);
          if (expected && sidesMatch([{ side: 'l' }, ...steps], lo, width, size, false) !== true) problems.push(`sidesMatch suffix ${lo}+${width}/${size}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('perfectNode names a perfect range, and nodeKey tells every node apart', () => {
    expect(perfectNode(12, 16)).toEqual({ level: 2, index: 3 });
    expect(perfectNode(7, 8)).toEqual({ level: 0, index: 7 });
    const keys = new Set<number>();
    for (let level = 0; level < 8; level++) for (let index = 0; index < 200; index++) keys.add(nodeKey(level, index));
    expect(keys.size).toBe(8 * 200);
    for (let lo = 0; lo < 64; lo++) {
      for (let hi = lo + 1; hi <= 64; hi++) {
        if (!isPerfectRange(lo, hi)) continue;
        const { level, index } = perfectNode(lo, hi);
        expect([index * 2 ** level, (index + 1) * 2 ** level]).toEqual([lo, hi]);
      }
    }
    // Exact for the largest nodes a tree of 2^53 leaves has.
    expect(nodeKey(0, 2 ** 47 - 1)).not.toBe(nodeKey(1, 2 ** 47 - 1));
    expect(nodeKey(63, 2 ** 46)).toBe(2 ** 52 + 63);
  });
});

describe('PairCache', () => {
  test('answers exactly hashPair, including after evictions and for pairs that share a slot', () => {
    const cache = new PairCache(8); // tiny, so slots collide constantly
    fc.assert(
      fc.property(fc.array(fc.tuple(bytes32, bytes32), { minLength: 1, maxLength: 30 }), (pairs) => {
        // Hash each pair twice, interleaved, and pairs differing only in later bytes.
        for (const [l, r] of [...pairs, ...pairs]) {
          expect(cache.hash(l, r)).toEqual(hashPair(l, r));
          const l2 = l.slice();
          l2[20]! ^= 1;
          expect(cache.hash(l2, r)).toEqual(hashPair(l2, r));
          expect(cache.hash(r, l)).toEqual(hashPair(r, l));
        }
      }),
      { numRuns: 100 },
    );
  });
});
