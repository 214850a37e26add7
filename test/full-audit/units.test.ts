// The full audit's pieces on their own: the fast event hash against src/merkle's reference, the
// streaming tree against MemoryTree, the export scanner against JSON.parse whatever the chunking,
// the verified-roots reader over the signed state file, the report's publishedRoot, and the core
// over an in-memory source (a moved event, a duplicate, received_at out of order, the findings cap).
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditSource } from '../../src/full-audit/core.js';
import { ExportEventScanner, ExportFormatError } from '../../src/full-audit/export-scanner.js';
import { envelopeHash } from '../../src/full-audit/leaf-hash.js';
import { StreamingTree } from '../../src/full-audit/stream-tree.js';
import type { AuditSource, FullAuditReport, LeafRecord, RootRecord } from '../../src/full-audit/types.js';
import { readVerifiedRoots } from '../../src/full-audit/verified-roots.js';
import { MemoryTree, bytesToHex, canonicalJson, hashEnvelope } from '../../src/merkle/index.js';
import { writeStateFile, type SavedHistory } from '../../src/trust/state-file.js';

describe('envelopeHash', () => {
  test('equal to src/merkle hashEnvelope on any JSON text, parsed as it comes and from canonical text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = JSON.parse(JSON.stringify(value)) as unknown;
        expect(bytesToHex(envelopeHash(parsed))).toBe(hashEnvelope(parsed));
        const stored = JSON.parse(canonicalJson(parsed)) as unknown;
        expect(bytesToHex(envelopeHash(stored))).toBe(hashEnvelope(parsed));
      }),
      { numRuns: 500 },
    );
  });
});

describe('StreamingTree', () => {
  test('its root equals MemoryTree.root for every size up to 300', () => {
    const memory = new MemoryTree();
    const stream = new StreamingTree();
    expect(stream.root()).toBeUndefined();
    for (let i = 0; i < 300; i++) {
      const leaf = envelopeHash({ leaf: i });
      memory.append(leaf);
      stream.append(leaf);
      expect(stream.size).toBe(i + 1);
      expect(bytesToHex(stream.root()!)).toBe(bytesToHex(memory.root()));
    }
  });
});

describe('ExportEventScanner', () => {
  const events = [
    { envelope: { event: { message: 'plain' }, received_at: '2025-01-01T00:00:00.000001Z' }, hash: 'ab', published: true, leaf_index: 0 },
    { envelope: { event: { message: 'braces } ] { [ and "quotes" and \\ backslash' } }, hash: 'cd', published: true, leaf_index: 1 },
    { envelope: { event: { message: 'unicode \u00e9\ud83d\ude00 and \u2028' } }, hash: 'ef', published: false },
  ];
  const file = JSON.stringify({ id: 'x"y', count: 3, events, root: { size: 2, note: '"events": [{"fake": 1}]' } }, null, 1);

  test('hands out every element of "events", parsed, however the text is split', () => {
    for (const size of [1, 2, 3, 7, 64, file.length]) {
      const scanner = new ExportEventScanner();
      const seen: unknown[] = [];
      for (let i = 0; i < file.length; i += size) scanner.feed(file.slice(i, i + size), (e) => seen.push(e));
      scanner.end();
      expect(seen).toEqual(events);
      expect(scanner.count).toBe(3);
    }
  });

  test('a truncated file, a missing "events" array, a non-object element or trailing data is refused', () => {
    const run = (text: string): void => {
      const scanner = new ExportEventScanner();
      scanner.feed(text, () => undefined);
      scanner.end();
    };
    expect(() => run(file.slice(0, file.length - 3))).toThrow(ExportFormatError);
    expect(() => run('{"count":0}')).toThrow(/no "events" array/);
    expect(() => run('{"events":[1]}')).toThrow(/not an object/);
    expect(() => run('{"events":["x"]}')).toThrow(/not an object/);
    expect(() => run('{"events":[]} x')).toThrow(/after its closing brace/);
    expect(() => run('[]')).toThrow(/not a JSON object/);
  });
});

describe('readVerifiedRoots', () => {
  let dir: string;
  const key = Buffer.alloc(32, 1);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'verified-roots-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const first = { size: 10, rootHash: 'cd'.repeat(32), lastLeaf: { hash: 'ef'.repeat(32), receivedAt: '2025-01-01T00:00:00.000000Z' } };
  const latest = { size: 52, rootHash: 'ab'.repeat(32) };
  const history: SavedHistory = { upstream: 'embedded', treeName: 't', anchor: 'state-file', first, latest, contradiction: null, savedAt: '2025-01-01T00:00:00Z' };
  const signed = async (name: string, state: SavedHistory, under = key): Promise<string> => {
    const path = join(dir, name);
    await writeStateFile(path, under, state);
    return path;
  };

  test('the signed state: its first and latest roots (size and hash), smallest first; none for another upstream or without a file', async () => {
    const path = await signed('ok.json', { ...history, first: latest, latest: first });
    const both = [
      { size: 10, rootHash: 'cd'.repeat(32) },
      { size: 52, rootHash: 'ab'.repeat(32) },
    ];
    expect(readVerifiedRoots(path, key)).toEqual(both);
    expect(readVerifiedRoots(path, key, 'embedded')).toEqual(both);
    expect(readVerifiedRoots(path, key, 'https://audit.example.com')).toEqual([]);
    expect(readVerifiedRoots(join(dir, 'absent.json'), key)).toEqual([]);
    // Accepting any upstream takes the one the file names.
    const remote = await signed('remote.json', { ...history, upstream: 'https://audit.example.com' });
    expect(readVerifiedRoots(remote, key)).toEqual(both);
    expect(readVerifiedRoots(remote, key, 'embedded')).toEqual([]);
  });

  test('one root when the history holds one; none when it holds none yet (an empty-log anchor)', async () => {
    expect(readVerifiedRoots(await signed('one.json', { ...history, first: latest }), key)).toEqual([{ size: 52, rootHash: 'ab'.repeat(32) }]);
    expect(readVerifiedRoots(await signed('empty.json', { ...history, anchor: 'empty-log', first: null, latest: null }), key)).toEqual([]);
  });

  test('the unsigned version-1 state anchors nothing: no roots', () => {
    const v1 = { version: 1, upstream: 'embedded', treeName: 't', size: 52, rootHash: 'ab'.repeat(32), verifiedAt: '2025-01-01T00:00:00Z' };
    expect(readVerifiedRoots(write('v1.json', JSON.stringify(v1)), key)).toEqual([]);
    expect(readVerifiedRoots(write('v1.json', JSON.stringify(v1)), key, 'embedded')).toEqual([]);
  });

  test('a file that is not a valid signed state is an error naming it', async () => {
    expect(() => readVerifiedRoots(write('bad.json', '{not json'), key)).toThrow(/bad\.json is not valid JSON/);
    expect(() => readVerifiedRoots(write('v9.json', JSON.stringify({ ...history, version: 9, mac: '00'.repeat(32) })), key)).toThrow(/v9\.json is not a signed state file of version 2/);
    const short = await signed('short.json', { ...history, latest: { size: 52, rootHash: 'ab' } });
    expect(() => readVerifiedRoots(short, key)).toThrow(/short\.json is malformed/);
    expect(() => readVerifiedRoots(dir, key)).toThrow(/cannot be read/);
  });

  test('a signed state rewritten afterwards, or signed under another key, is refused', async () => {
    const path = await signed('rewritten.json', history);
    const saved = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...saved, latest: { size: 52, rootHash: '99'.repeat(32) } }));
    expect(() => readVerifiedRoots(path, key)).toThrow(/rewritten\.json does not carry a valid signature/);
    const other = await signed('other-key.json', history, Buffer.alloc(32, 2));
    expect(() => readVerifiedRoots(other, key)).toThrow(/other-key\.json does not carry a valid signature/);
  });
});

describe('publishedRoot: the largest published root rebuilt equal, below any published mismatch', () => {
  const leaves = Array.from({ length: 12 }, (_, i) => ({ event: { message: `event ${i}` }, received_at: `2025-01-01T00:00:${String(i).padStart(2, '0')}.000000Z` }));
  const memory = new MemoryTree();
  for (const e of leaves) memory.append(envelopeHash(e));
  const root = (size: number): RootRecord => ({ size, rootHash: bytesToHex(memory.root(size)) });
  const wrong = (size: number): RootRecord => ({ size, rootHash: '00'.repeat(32) });
  const run = (roots: RootRecord[][], verifiedRoots: RootRecord[] = []): Promise<FullAuditReport> =>
    auditSource(
      {
        kind: 'remote',
        location: 'memory',
        leafOrder: 'leaf_index',
        expectedEvents: leaves.length,
        async *chunks() {
          yield { leaves: leaves.map((envelope, leafIndex) => ({ leafIndex, envelope })) };
        },
        async *publishedRoots() {
          yield* roots;
        },
        close: async () => undefined,
      },
      { verifiedRoots },
    );

  test('every published root equal: the largest', async () => {
    expect((await run([[root(2), root(4)], [root(8), root(12)]])).publishedRoot).toEqual(root(12));
  });

  test('a published mismatch: the largest equal one below it, not any equal one above it; null when the first differs', async () => {
    expect((await run([[root(2), root(4), wrong(8), root(12)]])).publishedRoot).toEqual(root(4));
    expect((await run([[wrong(2), root(4), root(12)]])).publishedRoot).toBeNull();
  });

  test('two published roots of one size that differ: that size does not count', async () => {
    expect((await run([[root(4), root(8), wrong(8), root(12)]])).publishedRoot).toEqual(root(4));
    expect((await run([[root(8), wrong(8)]])).publishedRoot).toBeNull();
  });

  test('a verified root that differs does not move it; nothing published: null', async () => {
    const report = await run([[root(4), root(12)]], [wrong(8)]);
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'root-mismatch', size: 8 })]);
    expect(report.publishedRoot).toEqual(root(12));
    expect((await run([])).publishedRoot).toBeNull();
  });
});

describe('auditSource over an in-memory source', () => {
  const envelope = (i: number, time = i): Record<string, unknown> => ({
    event: { message: `event ${i}` },
    received_at: `2025-01-01T00:00:${String(time).padStart(2, '0')}.000000Z`,
  });
  const honest = Array.from({ length: 20 }, (_, i) => envelope(i));
  const leafHashes = honest.map((e) => envelopeHash(e));
  const memory = new MemoryTree();
  for (const leaf of leafHashes) memory.append(leaf);
  const root = (size: number): RootRecord => ({ size, rootHash: bytesToHex(memory.root(size)) });

  function source(records: LeafRecord[], roots: RootRecord[], treeLeaves = leafHashes): AuditSource {
    return {
      kind: 'embedded',
      location: 'memory',
      leafOrder: 'leaf_index',
      expectedEvents: records.length,
      async *chunks() {
        for (let i = 0; i < records.length; i += 6) {
          const leaves = records.slice(i, i + 6);
          const first = i === 0 ? 0 : (records[i - 1]!.leafIndex ?? 0) + 1;
          const last = leaves[leaves.length - 1]!.leafIndex!;
          const nodes = treeLeaves.map((hash, index) => ({ index, hash })).filter((n) => n.index >= first && n.index <= last);
          yield { leaves, treeLeaves: nodes };
        }
      },
      async *publishedRoots() {
        yield roots;
      },
      storedTreeSize: () => treeLeaves.length,
      close: async () => undefined,
    };
  }
  const records = (envelopes: Array<Record<string, unknown>>): LeafRecord[] =>
    envelopes.map((e, leafIndex) => ({ leafIndex, envelopeJson: canonicalJson(e), storedHash: envelopeHash(e) }));

  test('an honest log: ok, every root compared', async () => {
    const report = await auditSource(source(records(honest), [root(5), root(12), root(20)]), { verifiedRoots: [root(12)] });
    expect(report).toMatchObject({ ok: true, events: 20, treeSize: 20, publishedRootsChecked: 3, verifiedRootsChecked: 1, rootHash: root(20).rootHash });
  });

  test('two events swapped: each is the tree leaf of the other, received_at runs backwards, the roots after them differ', async () => {
    const swapped = records(honest);
    [swapped[3], swapped[7]] = [{ ...swapped[7]!, leafIndex: 3 }, { ...swapped[3]!, leafIndex: 7 }];
    const report = await auditSource(source(swapped, [root(3), root(5), root(12)]));
    const byKind = (kind: string): Array<number | undefined> => report.findings.filter((f) => f.kind === kind).map((f) => f.leafIndex ?? f.size);
    expect(byKind('out-of-place').sort((a, b) => a! - b!)).toEqual([3, 3, 7, 7]);
    expect(report.findings.find((f) => f.kind === 'out-of-place' && /tree's leaf 7/.test(f.detail))?.leafIndex).toBe(3);
    expect(byKind('root-mismatch')).toEqual([5, 12]);
    expect(report.findings.find((f) => f.kind === 'root-mismatch' && f.size === 5)!.detail).toMatch(/size 3 matched, so the change lies in leaves 3\.\.4/);
    expect(report.findingCounts).toMatchObject({ edited: 0, missing: 0 });
  });

  test('a repeated leaf index is out of place and left out of the tree; the findings cap counts the rest', async () => {
    const repeated = records(honest);
    repeated.splice(10, 0, { ...repeated[4]! });
    const report = await auditSource(source(repeated, [root(20)]));
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'out-of-place', leafIndex: 4 })]);
    expect(report.treeSize).toBe(20);
    expect(report.publishedRootsChecked).toBe(1);

    const edited = records(honest).map((r) => ({ ...r, storedHash: '00'.repeat(32) }));
    const capped = await auditSource(source(edited, []), { maxFindings: 5 });
    expect(capped.findings).toHaveLength(5);
    expect(capped.findingsOmitted).toBe(15);
    expect(capped.findingCounts.edited).toBe(20);
  });
});
