// verifyPage over a realistic search page: a 40-event log with one event per leaf, roots published
// up to size 33 (each with its consistency proof from the size before), the rest unpublished.
// Honest data passes every check; each tampering fails exactly the events it touches.
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  MemoryTree,
  bytesToHex,
  consistencyProof,
  digestFromHex,
  formatConsistencyItem,
  formatMembershipProof,
  hashEnvelope,
  hashEnvelopeBytes,
  keepableRootRecord,
  membershipPath,
  normalizeEvent,
  rootSizesNeeded,
  signEvent,
  verifyConsistency,
  verifyMembership,
  verifyPage,
  verifySignature,
  type EventVerification,
  type PageEvent,
  type PageRoots,
  type RootLike,
  type SignatureInput,
  type VerifyPageOptions,
} from '../../src/merkle/index.js';

const EVENTS = 40;
const PUBLISHED = 33;
const signingKey = ed25519.utils.randomSecretKey();
const isSigned = (i: number): boolean => i % 3 === 0;

const envelopes = Array.from({ length: EVENTS }, (_, i) => {
  const event = normalizeEvent({
    message: `user ${i} changed a setting`,
    actor: i % 2 ? 'alice' : 'bob',
    action: 'update',
    new: { setting: 'theme', value: i },
    old: { setting: 'theme', value: i - 1 },
  });
  const received_at = `2025-03-01T12:00:${String(i).padStart(2, '0')}.123456Z`;
  return isSigned(i) ? { event, received_at, ...signEvent(event, signingKey) } : { event, received_at };
});

const tree = new MemoryTree();
for (const envelope of envelopes) tree.append(hashEnvelopeBytes(envelope));

/** Published roots 1..PUBLISHED, each with the consistency proof from the previous size. */
const publishedRoots = new Map<number, RootLike>();
for (let size = 1; size <= PUBLISHED; size++) {
  publishedRoots.set(size, {
    root_hash: bytesToHex(tree.root(size)),
    size,
    ...(size > 1 ? { consistency_proof: consistencyProof(tree, size - 1, size).map(formatConsistencyItem) } : {}),
  });
}

const honestRoots: PageRoots = {
  root: publishedRoots.get(PUBLISHED)!,
  unpublished_root: { root_hash: bytesToHex(tree.root(EVENTS)), size: EVENTS },
};

const honestEvents: PageEvent[] = envelopes.map((envelope, i) => {
  const published = i < PUBLISHED;
  return {
    envelope,
    hash: hashEnvelope(envelope),
    membership_proof: formatMembershipProof(membershipPath(tree, i, published ? PUBLISHED : EVENTS)),
    published,
    leaf_index: i,
  };
});

const optionsFor = (roots: Map<number, RootLike>): VerifyPageOptions => ({
  publishedRoot: (size) => roots.get(size),
  oneEventPerLeaf: true,
});

type Check = keyof EventVerification;
const CHECKS: Check[] = ['hash', 'membership', 'consistency', 'signature'];

/** The statuses an honest page must have. */
function honestStatus(i: number, check: Check): string {
  if (check === 'consistency') return i < PUBLISHED ? 'PASS' : 'NONE';
  if (check === 'signature') return isSigned(i) ? 'PASS' : 'NONE';
  return 'PASS';
}

/** Every (event, check) whose status differs from the honest page, as "i.check=STATUS". */
function deviations(results: EventVerification[]): string[] {
  const out: string[] = [];
  results.forEach((r, i) => {
    for (const check of CHECKS) {
      const v = r[check];
      if (v.status !== honestStatus(i, check)) out.push(`${i}.${check}=${v.status}`);
      if (v.status === 'FAIL' && !v.reason) out.push(`${i}.${check} has no reason`);
    }
  });
  return out.sort();
}

/** Flips one bit of the hex digest that starts at `at` in `text`. */
function flipHexAt(text: string, at: number, bit = 0): string {
  const bytes = digestFromHex(text.slice(at, at + 64))!.slice();
  bytes[bit >> 3]! ^= 1 << (bit & 7);
  return text.slice(0, at) + bytesToHex(bytes) + text.slice(at + 64);
}

test('honest page: every check passes; unpublished events have consistency NONE, unsigned events signature NONE', () => {
  const results = verifyPage(honestEvents, honestRoots, optionsFor(publishedRoots));
  expect(results).toHaveLength(EVENTS);
  expect(deviations(results)).toEqual([]);
  expect(results[PUBLISHED]!.consistency.reason).toMatch(/not published/);
  expect(results[1]!.signature.reason).toMatch(/not signed/);
});

test('rootSizesNeeded names L + 1 for every published leaf index L, and L for L > 0', () => {
  expect(rootSizesNeeded(honestEvents)).toEqual(Array.from({ length: PUBLISHED }, (_, k) => k + 1));
  expect(rootSizesNeeded([honestEvents[0]!, honestEvents[7]!, honestEvents[35]!])).toEqual([1, 7, 8]);
});

interface Tampering {
  name: string;
  apply: (events: PageEvent[], roots: Map<number, RootLike>) => void;
  expected: string[];
}

const tamperings: Tampering[] = [
  {
    name: 'received_at of an unsigned event',
    apply: (events) => (events[7]!.envelope.received_at = '2025-03-01T12:00:07.123457Z'),
    expected: ['7.hash=FAIL'],
  },
  {
    name: 'the message of a signed event (covered by the hash and the signature)',
    apply: (events) => (events[9]!.envelope.event.message = 'user 9 changed nothing'),
    expected: ['9.hash=FAIL', '9.signature=FAIL'],
  },
  {
    name: 'a field of an unpublished signed event',
    apply: (events) => (events[36]!.envelope.event.actor = 'mallory'),
    expected: ['36.hash=FAIL', '36.signature=FAIL'],
  },
  {
    name: 'one bit of a membership proof',
    apply: (events) => (events[12]!.membership_proof = flipHexAt(events[12]!.membership_proof!, 2, 77)),
    expected: ['12.membership=FAIL'],
  },
  {
    name: 'one bit of an unpublished event\'s membership proof',
    apply: (events) => (events[38]!.membership_proof = flipHexAt(events[38]!.membership_proof!, 69, 3)),
    expected: ['38.membership=FAIL'],
  },
  {
    name: 'the consistency proof of published root 20 (checked by leaf 19 only)',
    apply: (_events, roots) => {
      const root = roots.get(20)!;
      root.consistency_proof = root.consistency_proof!.with(0, flipHexAt(root.consistency_proof![0]!, 2, 200));
    },
    expected: ['19.consistency=FAIL'],
  },
  {
    // The signature is part of the hashed envelope, so the stored hash no longer matches either.
    name: 'the signature of one event replaced by another event\'s',
    apply: (events) => (events[15]!.envelope.signature = events[18]!.envelope.signature),
    expected: ['15.hash=FAIL', '15.signature=FAIL'],
  },
  {
    // Re-hashing the forged envelope moves the failure to membership: the leaf is not in the tree.
    name: 'a replaced signature with the event hash recomputed',
    apply: (events) => {
      events[21]!.envelope.signature = events[24]!.envelope.signature;
      events[21]!.hash = hashEnvelope(events[21]!.envelope);
    },
    expected: ['21.membership=FAIL', '21.signature=FAIL'],
  },
];

describe.each(tamperings)('tampering with $name', ({ apply, expected }) => {
  test('fails exactly the affected checks', () => {
    const events = structuredClone(honestEvents);
    const roots = structuredClone(publishedRoots);
    apply(events, roots);
    expect(deviations(verifyPage(events, honestRoots, optionsFor(roots)))).toEqual(expected);
  });
});

test('all tamperings at once fail exactly the union of their checks', () => {
  const events = structuredClone(honestEvents);
  const roots = structuredClone(publishedRoots);
  for (const t of tamperings) t.apply(events, roots);
  expect(deviations(verifyPage(events, honestRoots, optionsFor(roots)))).toEqual(tamperings.flatMap((t) => t.expected).sort());
});

test('a wrong unpublished root fails the membership of unpublished events only', () => {
  const roots = { ...honestRoots, unpublished_root: { ...honestRoots.unpublished_root!, root_hash: bytesToHex(tree.root(EVENTS - 1)) } };
  const expected = Array.from({ length: EVENTS - PUBLISHED }, (_, k) => `${PUBLISHED + k}.membership=FAIL`).sort();
  expect(deviations(verifyPage(honestEvents, roots, optionsFor(publishedRoots)))).toEqual(expected);
});

test('a published root record for the wrong size fails the consistency checks that use it', () => {
  const roots = structuredClone(publishedRoots);
  roots.set(10, { ...roots.get(11)!, size: 10 }); // root 10 replaced by root 11
  expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(roots)))).toEqual(['10.consistency=FAIL', '9.consistency=FAIL']);
});

test('missing published roots make consistency NONE (leaf 0 still passes), never FAIL', () => {
  const results = verifyPage(honestEvents, honestRoots, { oneEventPerLeaf: true });
  expect(results[0]!.consistency.status).toBe('PASS');
  for (let i = 1; i < PUBLISHED; i++) expect(results[i]!.consistency.status).toBe('NONE');
  const partial = new Map(publishedRoots);
  partial.delete(5);
  const expected = ['4.consistency=NONE', '5.consistency=NONE'];
  expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(partial)))).toEqual(expected);
});

test('without roots, membership is NONE; a published event without leaf_index has consistency NONE', () => {
  const results = verifyPage(honestEvents, {}, optionsFor(publishedRoots));
  expect(results.every((r) => r.membership.status === 'NONE')).toBe(true);
  const noIndex = structuredClone(honestEvents.slice(3, 4));
  delete noIndex[0]!.leaf_index;
  const [r] = verifyPage(noIndex, honestRoots, optionsFor(publishedRoots));
  expect(r!.consistency.status).toBe('NONE');
  expect(r!.membership.status).toBe('PASS');
});

test('a sub-page (a search result) gives the same verdicts as the full page, and repeated leaves agree', () => {
  const full = verifyPage(honestEvents, honestRoots, optionsFor(publishedRoots));
  const picks = [3, 17, 17, 25, 32, 35, 0];
  const sub = verifyPage(picks.map((i) => honestEvents[i]!), honestRoots, optionsFor(publishedRoots));
  expect(sub).toEqual(picks.map((i) => full[i]));
});

test('oneEventPerLeaf demands exact proofs; a proof for another leaf fails the position check', () => {
  const events = structuredClone(honestEvents);
  // Event 4 carries leaf 5's hash and proof: the fold reaches the root, but the position is wrong.
  events[4] = { ...events[4]!, hash: events[5]!.hash, membership_proof: events[5]!.membership_proof!, envelope: events[5]!.envelope };
  const r = verifyPage(events, honestRoots, optionsFor(publishedRoots))[4]!;
  expect(r.hash.status).toBe('PASS');
  expect(r.membership.status).toBe('FAIL');
  expect(r.membership.reason).toMatch(/shape/);
});

test('a verifySignature option replaces the built-in check and is called once per event', () => {
  const seen: SignatureInput[] = [];
  const results = verifyPage(honestEvents, honestRoots, {
    ...optionsFor(publishedRoots),
    verifySignature: (input) => {
      seen.push(input);
      return verifySignature(input);
    },
  });
  expect(seen).toHaveLength(EVENTS);
  expect(seen[3]!.signature).toBe(honestEvents[3]!.envelope.signature);
  expect(deviations(results)).toEqual([]);
});

// The page shares a cache of interior hashes across all its proofs. Whatever is tampered, each
// event's verdicts must equal those of checking it alone, without any sharing.
test('random tamperings: page verdicts equal independent per-event checks', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: EVENTS - 1 }), fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      fc.array(fc.tuple(fc.integer({ min: 2, max: PUBLISHED }), fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      (proofEdits, rootEdits) => {
        const events = structuredClone(honestEvents);
        const roots = structuredClone(publishedRoots);
        for (const [i, at, bit] of proofEdits) {
          const proof = events[i]!.membership_proof!;
          if (proof === '') continue;
          const steps = (proof.length + 1) / 67;
          events[i]!.membership_proof = flipHexAt(proof, (at % steps) * 67 + 2, bit);
        }
        for (const [size, at, bit] of rootEdits) {
          const root = roots.get(size)!;
          const items = root.consistency_proof!;
          const k = at % items.length;
          const item = items[k]!;
          const digests = (item.length + 1) / 67; // the x: subtree and each step
          root.consistency_proof = items.with(k, flipHexAt(item, ((at >> 4) % digests) * 67 + 2, bit));
        }
        const results = verifyPage(events, honestRoots, optionsFor(roots));
        events.forEach((e, i) => {
          const root = e.published ? honestRoots.root! : honestRoots.unpublished_root!;
          const membership = verifyMembership({
            hash: e.hash,
            proof: e.membership_proof,
            rootHash: root.root_hash,
            ...(e.published ? { position: { leafIndex: i, treeSize: root.size, oneEventPerLeaf: true } } : {}),
          });
          expect(results[i]!.membership.status).toBe(membership.status);
          if (e.published && i > 0) {
            const consistency = verifyConsistency({
              oldRootHash: roots.get(i)!.root_hash,
              newRootHash: roots.get(i + 1)!.root_hash,
              proof: roots.get(i + 1)!.consistency_proof,
              sizes: { oldSize: i, newSize: i + 1 },
            });
            expect(results[i]!.consistency.status).toBe(consistency.status);
          }
        });
        // What the edits changed (two flips of the same bit cancel out): a changed membership proof
        // fails its event's membership, a changed root proof the consistency of the event below it.
        const touched = new Set([
          ...events.flatMap((e, i) => (e.membership_proof !== honestEvents[i]!.membership_proof ? [`${i}.membership=FAIL`] : [])),
          ...[...roots].flatMap(([size, root]) => (JSON.stringify(root.consistency_proof) !== JSON.stringify(publishedRoots.get(size)!.consistency_proof) ? [`${size - 1}.consistency=FAIL`] : [])),
        ]);
        expect(deviations(results)).toEqual([...touched].sort());
      },
    ),
    { numRuns: 40 },
  );
});

describe('untrusted page data never makes verifyPage throw', () => {
  const honest = honestEvents[5]!;
  const statuses = new Set(['PASS', 'FAIL', 'NONE']);
  const wellFormed = (results: EventVerification[], length: number): void => {
    expect(results).toHaveLength(length);
    for (const r of results) {
      for (const check of CHECKS) {
        expect(statuses.has(r[check].status)).toBe(true);
        if (r[check].status === 'FAIL') expect(r[check].reason).toBeTruthy();
      }
    }
  };

  test('entries that are not event objects fail every check; the rest of the page is unaffected', () => {
    const page = [null, 5, 'event', honest, undefined] as unknown as PageEvent[];
    const results = verifyPage(page, honestRoots, optionsFor(publishedRoots));
    wellFormed(results, 5);
    for (const k of [0, 1, 2, 4]) expect(CHECKS.map((c) => results[k]![c].status)).toEqual(['FAIL', 'FAIL', 'FAIL', 'FAIL']);
    expect(results[3]).toEqual(verifyPage([honest], honestRoots, optionsFor(publishedRoots))[0]);
  });

  test('malformed fields, roots and root records', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const variants: Array<[string, PageEvent, unknown, VerifyPageOptions]> = [
      ['envelope null', { ...honest, envelope: null as unknown as PageEvent['envelope'] }, honestRoots, optionsFor(publishedRoots)],
      ['hash is a number', { ...honest, hash: 5 as unknown as string }, honestRoots, optionsFor(publishedRoots)],
      ['event is cyclic', { ...honest, envelope: { ...honest.envelope, event: cyclic } }, honestRoots, optionsFor(publishedRoots)],
      ['event holds a BigInt', { ...honest, envelope: { ...honest.envelope, event: { n: 1n } } }, honestRoots, optionsFor(publishedRoots)],
      ['leaf_index is a string', { ...honest, leaf_index: '5' as unknown as number }, honestRoots, optionsFor(publishedRoots)],
      ['leaf_index is NaN', { ...honest, leaf_index: Number.NaN }, honestRoots, optionsFor(publishedRoots)],
      ['leaf_index is huge', { ...honest, leaf_index: 1e300 }, honestRoots, optionsFor(publishedRoots)],
      ['roots is null', honest, null, optionsFor(publishedRoots)],
      ['root size is a string', honest, { root: { ...honestRoots.root!, size: '33' } }, optionsFor(publishedRoots)],
      ['publishedRoot returns a number', honest, honestRoots, { publishedRoot: () => 5 as unknown as RootLike }],
      ['publishedRoot returns {}', honest, honestRoots, { publishedRoot: () => ({}) as RootLike }],
      ['consistency_proof is a string', honest, honestRoots, { publishedRoot: (size) => ({ ...publishedRoots.get(size)!, consistency_proof: 'x:' as unknown as string[] }) }],
    ];
    for (const [, event, roots, options] of variants) wellFormed(verifyPage([event, honest], roots as PageRoots, options), 2);
  });

  test('a throwing publishedRoot or verifySignature callback is a FAIL for that check', () => {
    const [r] = verifyPage([honestEvents[6]!], honestRoots, {
      publishedRoot: () => {
        throw new Error('root store unavailable');
      },
      verifySignature: () => {
        throw new Error('native verifier crashed');
      },
    });
    expect(r!.consistency).toEqual({ status: 'FAIL', reason: expect.stringContaining('root store unavailable') });
    expect(r!.signature).toEqual({ status: 'FAIL', reason: expect.stringContaining('native verifier crashed') });
    expect(r!.membership.status).toBe('PASS');
  });

  test('a published root record that states another size fails the consistency check', () => {
    const roots = new Map(publishedRoots);
    roots.set(8, { ...publishedRoots.get(8)!, size: 9 });
    const results = verifyPage(honestEvents, honestRoots, optionsFor(roots));
    expect(deviations(results)).toEqual(['7.consistency=FAIL', '8.consistency=FAIL']);
    expect(results[7]!.consistency.reason).toMatch(/size 8 says size 9/);
  });

  test('events that are not an array are a programming error: TypeError', () => {
    expect(() => verifyPage('events' as unknown as PageEvent[], honestRoots)).toThrow(TypeError);
  });
});

describe('proofs that were asked for (proofsRequested)', () => {
  const strict = (roots = publishedRoots): VerifyPageOptions => ({ ...optionsFor(roots), proofsRequested: true });
  const statuses = (r: EventVerification) => CHECKS.map((c) => `${c}=${r[c].status}`).join(' ');

  test('an honest page still passes every check', () => {
    expect(deviations(verifyPage(honestEvents, honestRoots, strict()))).toEqual([]);
  });

  test.each([
    ['hash', (e: PageEvent) => delete (e as Partial<PageEvent>).hash, /event hash was asked for and withheld/],
    ['membership_proof', (e: PageEvent) => delete e.membership_proof, /membership proof was asked for and withheld/],
    ['leaf_index', (e: PageEvent) => delete e.leaf_index, /leaf index was asked for and withheld/],
    ['published', (e: PageEvent) => delete e.published, /published flag was asked for and withheld/],
  ])('a withheld %s is a FAIL naming it, not NONE', (_name, strip, reason) => {
    const events = structuredClone(honestEvents.slice(5, 6));
    strip(events[0]!);
    const [r] = verifyPage(events, honestRoots, strict());
    const failed = CHECKS.filter((c) => r![c].status === 'FAIL');
    expect(failed.length).toBeGreaterThan(0);
    expect(CHECKS.some((c) => reason.test(r![c].reason ?? ''))).toBe(true);
    // Nothing that was asked for reads "nothing to verify" (the event is unsigned: signature NONE).
    expect(statuses(r!)).toMatch(/^hash=(PASS|FAIL) membership=FAIL consistency=(PASS|FAIL) signature=NONE$/);
  });

  test('withheld roots fail membership of the events that needed them', () => {
    const results = verifyPage(honestEvents, {}, strict());
    for (let i = 0; i < EVENTS; i++) {
      expect(results[i]!.membership.status).toBe('FAIL');
      expect(results[i]!.membership.reason).toMatch(i < PUBLISHED ? /published root was asked for and withheld/ : /unpublished root was asked for and withheld/);
    }
  });

  test('a published root the caller could not get takes the verdict the caller gives it', () => {
    const partial = new Map(publishedRoots);
    partial.delete(5);
    const results = verifyPage(honestEvents, honestRoots, { ...strict(partial), missingRoot: (size) => ({ status: 'FAIL', reason: `root ${size} withheld` }) });
    expect(deviations(results)).toEqual(['4.consistency=FAIL', '5.consistency=FAIL']);
    expect(results[4]!.consistency.reason).toBe('root 5 withheld');
  });

  test('a published root that is not the prefix the event path proves fails consistency', () => {
    // A second history: root(8) replaced by a root of another tree, with a consistency proof that
    // holds between the forged roots (the page root itself is honest).
    const other = new MemoryTree();
    for (let i = 0; i < 8; i++) other.append(hashEnvelopeBytes({ ...envelopes[i]!, received_at: '2025-03-01T13:00:00.000000Z' }));
    const forged = new Map(publishedRoots);
    forged.set(8, { root_hash: bytesToHex(other.root(8)), size: 8, consistency_proof: consistencyProof(other, 7, 8).map(formatConsistencyItem) });
    forged.set(7, { root_hash: bytesToHex(other.root(7)), size: 7, consistency_proof: consistencyProof(other, 6, 7).map(formatConsistencyItem) });
    const results = verifyPage(honestEvents, honestRoots, strict(forged));
    expect(results[7]!.consistency.status).toBe('FAIL');
    expect(results[7]!.consistency.reason).toMatch(/published root\(8\) [0-9a-f]{64} is not the first 8 leaves of the page's root/);
  });

  test('a published root that is not the prefix the event path proves is handed to onPrefixMismatch, with the prefix the path makes', () => {
    const forged = new Map(publishedRoots);
    const wrong = { ...publishedRoots.get(8)!, root_hash: publishedRoots.get(9)!.root_hash };
    forged.set(8, wrong);
    const seen: Array<[number, RootLike, string]> = [];
    const results = verifyPage(honestEvents, honestRoots, { ...strict(forged), onPrefixMismatch: (size, root, provenHex) => seen.push([size, root, provenHex]) });
    // The one-step checks on either side fail too, naming the roots they were between.
    expect(results[7]!.consistency.reason).toMatch(/^published root\(7\) → root\(8\): /);
    expect(results[8]!.consistency.reason).toMatch(/^published root\(8\) → root\(9\): /);
    expect(seen).toEqual([[8, wrong, publishedRoots.get(8)!.root_hash]]);
    // Honest roots: never called.
    seen.length = 0;
    verifyPage(honestEvents, honestRoots, { ...strict(), onPrefixMismatch: (size, root, provenHex) => seen.push([size, root, provenHex]) });
    expect(seen).toEqual([]);
  });

  test('paths kept from an honest page do not carry a tampered page after it: each event is judged on its own proof', () => {
    expect(deviations(verifyPage(honestEvents, honestRoots, strict()))).toEqual([]);
    const events = structuredClone(honestEvents);
    events[12]!.membership_proof = flipHexAt(events[12]!.membership_proof!, 2, 77);
    // Another event's hash and path under event 20's leaf index: a path shape that holds, for the wrong leaf.
    events[20] = { ...events[20]!, hash: honestEvents[21]!.hash, membership_proof: honestEvents[21]!.membership_proof! };
    const results = verifyPage(events, honestRoots, strict());
    expect(deviations(results)).toEqual(['12.membership=FAIL', '20.hash=FAIL', '20.membership=FAIL']);
    // And the honest page after it passes again.
    expect(deviations(verifyPage(honestEvents, honestRoots, strict()))).toEqual([]);
  });

  test('the page root trust is part of every published event\'s consistency, not of unpublished ones', () => {
    const pending = verifyPage(honestEvents, honestRoots, { ...strict(), pageRootTrust: { status: 'NONE', reason: 'root 33 is not chained yet' } });
    for (let i = 0; i < PUBLISHED; i++) expect(pending[i]!.consistency).toEqual({ status: 'NONE', reason: 'root 33 is not chained yet' });
    expect(pending[PUBLISHED]!.consistency.reason).toMatch(/not published/);
    const forked = verifyPage(honestEvents, honestRoots, { ...strict(), pageRootTrust: { status: 'FAIL', reason: 'root 33 differs from the verified root' } });
    for (let i = 0; i < PUBLISHED; i++) expect(forked[i]!.consistency.status).toBe('FAIL');
  });
});

describe('pair verdicts kept from page to page (keepableRootRecord records only)', () => {
  /** Keepable copies of the published roots, as the gateway's cache keeps them. */
  const keptRoots = (): Map<number, RootLike> => new Map([...publishedRoots].map(([size, r]) => [size, keepableRootRecord(r)]));

  /** Root 11 with a broken proof: the pair 10 -> 11 fails. */
  const brokenProof = (r: RootLike): RootLike => ({ ...r, consistency_proof: [flipHexAt(r.consistency_proof![0]!, 2), ...r.consistency_proof!.slice(1)] });

  test('the same keepable records give the very same verdicts again, without checking again', () => {
    const roots = keptRoots();
    roots.set(11, keepableRootRecord(brokenProof(publishedRoots.get(11)!)));
    const first = verifyPage(honestEvents, honestRoots, optionsFor(roots));
    expect(deviations(first)).toEqual(['10.consistency=FAIL']);
    // A FAIL is a new object each time it is reached: the same object again is the kept verdict.
    const second = verifyPage(honestEvents, honestRoots, optionsFor(roots));
    expect(second[10]!.consistency).toBe(first[10]!.consistency);
    // Keepable copies made afresh are checked again (verdicts are kept per record).
    const fresh = new Map(roots);
    fresh.set(11, keepableRootRecord(roots.get(11)!));
    expect(verifyPage(honestEvents, honestRoots, optionsFor(fresh))[10]!.consistency).not.toBe(first[10]!.consistency);
  });

  test('a keepable record is a frozen copy: later changes to the original do not reach it', () => {
    const original = { ...publishedRoots.get(11)!, consistency_proof: [...publishedRoots.get(11)!.consistency_proof!] };
    const kept = keepableRootRecord(original);
    original.consistency_proof[0] = 'changed';
    original.root_hash = '00'.repeat(32);
    expect(kept).toEqual(publishedRoots.get(11));
    expect(Object.isFrozen(kept) && Object.isFrozen(kept.consistency_proof)).toBe(true);
  });

  test('a record that is not frozen is checked every time: changing its proof between pages changes the verdict', () => {
    const roots = new Map([...publishedRoots].map(([size, r]) => [size, { ...r, ...(r.consistency_proof ? { consistency_proof: [...r.consistency_proof] } : {}) }]));
    expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(roots)))).toEqual([]);
    const record = roots.get(11)!;
    record.consistency_proof![0] = flipHexAt(record.consistency_proof![0]!, 2);
    expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(roots)))).toEqual(['10.consistency=FAIL']);
  });

  test('a frozen record whose proof array is not frozen is checked every time', () => {
    const roots = new Map([...publishedRoots].map(([size, r]) => [size, Object.freeze({ ...r, ...(r.consistency_proof ? { consistency_proof: [...r.consistency_proof] } : {}) }) as RootLike]));
    expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(roots)))).toEqual([]);
    const proof = roots.get(11)!.consistency_proof as string[];
    proof[0] = flipHexAt(proof[0]!, 2);
    expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(roots)))).toEqual(['10.consistency=FAIL']);
  });

  test('a frozen record not made by keepableRootRecord is checked every time, even when its proof changes behind getters', () => {
    let broken = false;
    const roots = new Map(
      [...publishedRoots].map(([size, r]): [number, RootLike] => {
        if (!r.consistency_proof) return [size, Object.freeze({ ...r })];
        const items: string[] = [];
        r.consistency_proof.forEach((item, i) => Object.defineProperty(items, i, { enumerable: true, get: () => (broken && size === 11 && i === 0 ? flipHexAt(item, 2) : item) }));
        return [size, Object.freeze({ ...r, consistency_proof: Object.freeze(items) as string[] })];
      }),
    );
    expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(roots)))).toEqual([]);
    broken = true;
    expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(roots)))).toEqual(['10.consistency=FAIL']);
  });

  test('a kept verdict is only for the older record it was reached with: another older record is checked', () => {
    const roots = keptRoots();
    expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(roots)))).toEqual([]);
    // Root 10 forged (another keepable record): the pair 10 -> 11 is checked again and fails.
    const forged = new Map(roots);
    forged.set(10, keepableRootRecord({ ...roots.get(10)!, root_hash: flipHexAt(roots.get(10)!.root_hash, 0) }));
    expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(forged)))).toEqual(['10.consistency=FAIL', '9.consistency=FAIL']);
    // And the honest records still pass.
    expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(roots)))).toEqual([]);
  });

  test('a failing pair stays failed, and a record given for another size fails there too', () => {
    const roots = keptRoots();
    const bad = new Map(roots);
    bad.set(11, keepableRootRecord(brokenProof(roots.get(11)!)));
    for (let n = 0; n < 2; n++) expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(bad)))).toEqual(['10.consistency=FAIL']);
    // The same keepable record 11 offered as root 12: its kept verdict (for leaf 10) is not reused.
    const shifted = new Map(roots);
    shifted.set(12, roots.get(11)!);
    expect(deviations(verifyPage(honestEvents, honestRoots, optionsFor(shifted)))).toEqual(['11.consistency=FAIL', '12.consistency=FAIL']);
  });
});
