// The full audit of an embedded data directory, in-process (runFullAudit): a data directory
// written by the real local service (30 events over HTTP, roots published at 10, 20 and 30), then
// copies of it tampered with at rest the way someone with the SQLite file could, each of which
// must come out as a finding of the right kind at the right leaf. The integrity state file is
// signed under a key in the test's temporary directory (INTEGRITY_KEY_FILE).
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fullAuditOptionsFromEnv, runFullAudit, type Finding, type FullAuditReport } from '../../src/full-audit/index.js';
import { startTestService } from '../support/local-audit.js';
import { EVENTS, buildDataDir, copyDataDir, publishedRoot, removeDir, rewriteEvent, tempDir, withDb, writeVerifiedState } from './support.js';

let parent: string;
let base: string;
let keyFile: string;
let copies = 0;

beforeAll(async () => {
  parent = tempDir('full-audit-embedded-');
  base = join(parent, 'base');
  keyFile = join(parent, 'integrity-key');
  await buildDataDir(base);
});
afterAll(() => removeDir(parent));

/** A fresh copy of the honest data directory. */
const fresh = (): string => copyDataDir(base, parent, `copy-${++copies}`);
const audit = (dataDir: string): Promise<FullAuditReport> => runFullAudit(fullAuditOptionsFromEnv({ DATA_DIR: dataDir, INTEGRITY_KEY_FILE: keyFile }));
const kinds = (report: FullAuditReport): Array<[string, number | undefined]> => report.findings.map((f: Finding) => [f.kind, f.leafIndex]);

test('an honest log: no findings; every event read, every published and the verified root compared', async () => {
  const dataDir = fresh();
  await writeVerifiedState(dataDir, keyFile, 20, publishedRoot(dataDir, 20));
  const report = await audit(dataDir);
  expect(report).toMatchObject({
    ok: true,
    source: 'embedded',
    location: dataDir,
    leafOrder: 'leaf_index',
    events: EVENTS,
    treeSize: EVENTS,
    rootHash: publishedRoot(dataDir, 30),
    publishedRootsChecked: 3,
    publishedRoot: { size: 30, rootHash: publishedRoot(dataDir, 30) },
    verifiedRootsChecked: 1,
    findings: [],
    findingsOmitted: 0,
  });
  expect(report.eventsPerSecond).toBeGreaterThan(0);
});

test('a row deleted in the middle: missing at that leaf, and the roots above it are not compared', async () => {
  const dataDir = fresh();
  withDb(dataDir, (db) => db.prepare('DELETE FROM events WHERE leaf_index = 13').run());
  const report = await audit(dataDir);
  expect(kinds(report)).toEqual([['missing', 13]]);
  expect(report.findings[0]!.detail).toMatch(/leaf 13 has no event.*2 published and 0 verified roots above it were not compared/);
  expect(report).toMatchObject({ ok: false, events: EVENTS - 1, treeSize: 13, publishedRootsChecked: 1 });
  // Only the root of size 10 was rebuilt.
  expect(report.publishedRoot).toEqual({ size: 10, rootHash: publishedRoot(dataDir, 10) });
});

test('the last row deleted: missing at the last leaf (the published root and the stored tree say 30)', async () => {
  const dataDir = fresh();
  withDb(dataDir, (db) => db.prepare('DELETE FROM events WHERE leaf_index = ?').run(EVENTS - 1));
  const report = await audit(dataDir);
  expect(report.findings).toEqual([expect.objectContaining({ kind: 'missing', leafIndex: EVENTS - 1, size: EVENTS })]);
  expect(report.findings[0]!.detail).toMatch(/a root of size 30 was published, the stored tree has 30 leaves/);
});

test('the last rows, their tree leaves and the integrity state file deleted: the published root still shows them missing', async () => {
  const dataDir = fresh();
  const stateFile = await writeVerifiedState(dataDir, keyFile, EVENTS, publishedRoot(dataDir, EVENTS));
  withDb(dataDir, (db) => {
    db.prepare('DELETE FROM events WHERE leaf_index >= 27').run();
    db.prepare('DELETE FROM nodes WHERE level = 0 AND idx >= 27').run();
  });
  rmSync(stateFile);
  const report = await audit(dataDir);
  expect(report.findings).toEqual([expect.objectContaining({ kind: 'missing', leafIndex: 27, size: EVENTS })]);
  expect(report.findings[0]!.detail).toMatch(/a root of size 30 was published: leaves 27\.\.29 have no event/);
  expect(report).toMatchObject({ verifiedRootsChecked: 0, publishedRootsChecked: 2 });
});

test("an event's envelope changed: edited at that leaf (its stored hash and tree leaf no longer match); roots from it on differ", async () => {
  const dataDir = fresh();
  withDb(dataDir, (db) => {
    const text = db.prepare('SELECT envelope FROM events WHERE leaf_index = 4').pluck().get() as string;
    db.prepare('UPDATE events SET envelope = ? WHERE leaf_index = 4').run(text.replace('event 4', 'event 4 (amended)'));
  });
  const report = await audit(dataDir);
  expect(kinds(report)).toEqual([
    ['edited', 4],
    ['search-column', 4],
    ['root-mismatch', undefined],
    ['root-mismatch', undefined],
    ['root-mismatch', undefined],
  ]);
  expect(report.findings[0]!.detail).toMatch(/^the envelope of leaf 4 hashes to [0-9a-f]{64}, but its stored hash is [0-9a-f]{64}$/);
  expect(report.findings[1]!.detail).toMatch(/column f_message is "event 4", the envelope says "event 4 \(amended\)"/);
  expect(report.findings.slice(2).map((f) => f.size)).toEqual([10, 20, 30]);
  expect(report.findings[2]!.detail).toMatch(/no smaller published root matched: the change lies in leaves 0\.\.9/);
  expect(report.publishedRoot).toBeNull();
});

test("an event's f_tenant_id column changed (moving it into another tenant's searches): a search-column finding at that leaf", async () => {
  const dataDir = fresh();
  withDb(dataDir, (db) => db.prepare(`UPDATE events SET f_tenant_id = 'tenant-b' WHERE leaf_index = 8`).run());
  const report = await audit(dataDir);
  expect(report.findings).toEqual([
    { kind: 'search-column', leafIndex: 8, detail: 'leaf 8: column f_tenant_id is "tenant-b", the envelope says "tenant-a"' },
  ]);
});

test('the received_at column changed (it moves the event in time-range searches and exports): a search-column finding', async () => {
  const dataDir = fresh();
  withDb(dataDir, (db) => db.prepare(`UPDATE events SET received_at = '2000-01-01T00:00:00.000000Z' WHERE leaf_index = 2`).run());
  const report = await audit(dataDir);
  expect(kinds(report)).toEqual([['search-column', 2]]);
  expect(report.findings[0]!.detail).toMatch(/column received_at is "2000-01-01T00:00:00.000000Z", the envelope says "20/);
});

test("a tree leaf node overwritten: edited at that leaf (the service's proofs would no longer hold for it)", async () => {
  const dataDir = fresh();
  withDb(dataDir, (db) => db.prepare('UPDATE nodes SET hash = ? WHERE level = 0 AND idx = 6').run(Buffer.alloc(32, 7)));
  const report = await audit(dataDir);
  expect(report.findings).toEqual([expect.objectContaining({ kind: 'edited', leafIndex: 6 })]);
  expect(report.findings[0]!.detail).toMatch(/the stored tree's leaf 6 is 0707.*but the event stored there hashes to/);
});

test('two events swapped (their rows trade leaf indexes): both out of place, received_at runs backwards, roots from the first differ', async () => {
  const dataDir = fresh();
  withDb(dataDir, (db) =>
    db.transaction(() => {
      db.prepare('UPDATE events SET leaf_index = -1 WHERE leaf_index = 12').run();
      db.prepare('UPDATE events SET leaf_index = 12 WHERE leaf_index = 17').run();
      db.prepare('UPDATE events SET leaf_index = 17 WHERE leaf_index = -1').run();
    })(),
  );
  const report = await audit(dataDir);
  const outOfPlace = report.findings.filter((f) => f.kind === 'out-of-place');
  expect(outOfPlace.map((f) => f.leafIndex).sort((a, b) => a! - b!)).toEqual([12, 12, 17, 17]);
  expect(outOfPlace.map((f) => f.detail)).toEqual(
    expect.arrayContaining([
      'the event stored at leaf 12 is the stored tree\'s leaf 17',
      'the event stored at leaf 17 is the stored tree\'s leaf 12',
      expect.stringMatching(/^received_at \S+ of leaf 12 is later than \S+ of leaf 13, which comes after it$/),
      expect.stringMatching(/^received_at \S+ of leaf 17 is earlier than \S+ of leaf 16, which comes before it$/),
    ]),
  );
  const roots = report.findings.filter((f) => f.kind === 'root-mismatch');
  expect(roots.map((f) => f.size)).toEqual([20, 30]);
  expect(roots[0]!.detail).toMatch(/the published root of size 10 matched, so the change lies in leaves 10\.\.19/);
  expect(report.findingCounts).toMatchObject({ missing: 0, edited: 0, 'search-column': 0 });
});

test('a consistent rewrite of an event, its tree nodes and the published roots: only the verified root from before shows it', async () => {
  const dataDir = fresh();
  const verified = publishedRoot(dataDir, 20);
  await writeVerifiedState(dataDir, keyFile, 20, verified);
  withDb(dataDir, (db) => rewriteEvent(db, 15, true));
  expect(publishedRoot(dataDir, 20)).not.toBe(verified);
  const report = await audit(dataDir);
  expect(report.findings).toEqual([
    expect.objectContaining({ kind: 'root-mismatch', size: 20, expected: verified, computed: publishedRoot(dataDir, 20) }),
  ]);
  expect(report.findings[0]!.detail).toMatch(/the history up to size 20 changed since \(the published roots agree with the events: they were rewritten with them\)/);
  expect(report).toMatchObject({ publishedRootsChecked: 3, verifiedRootsChecked: 1 });
});

test('a rewrite of an event and its tree nodes that left the published roots alone: the first differing published size localises it', async () => {
  const dataDir = fresh();
  withDb(dataDir, (db) => rewriteEvent(db, 23, false));
  const report = await audit(dataDir);
  expect(report.findings).toEqual([expect.objectContaining({ kind: 'root-mismatch', size: 30, expected: publishedRoot(dataDir, 30) })]);
  expect(report.findings[0]!.detail).toMatch(/the published root of size 20 matched, so the change lies in leaves 20\.\.29/);
  expect(report.publishedRoot).toEqual({ size: 20, rootHash: publishedRoot(dataDir, 20) });
});

test('a row moved to a negative leaf index: missing at its place, and the row itself reported', async () => {
  const dataDir = fresh();
  withDb(dataDir, (db) => db.prepare('UPDATE events SET leaf_index = -5 WHERE leaf_index = 4').run());
  const report = await audit(dataDir);
  expect(report.findings).toEqual([
    expect.objectContaining({ kind: 'missing', leafIndex: 4 }),
    { kind: 'out-of-place', detail: 'an event is stored with leaf index -5, a position no tree has; it is left out of the rebuilt tree' },
  ]);
  expect(report.events).toBe(EVENTS);
});

test('an envelope that is not JSON is an edit; a state file for another upstream holds no verified root', async () => {
  const dataDir = fresh();
  await writeVerifiedState(dataDir, keyFile, 10, 'ab'.repeat(32), 'https://audit.example.com');
  withDb(dataDir, (db) => db.prepare(`UPDATE events SET envelope = '{"event":' WHERE leaf_index = 25`).run());
  const report = await audit(dataDir);
  expect(report.verifiedRootsChecked).toBe(0);
  expect(report.findings.filter((f) => f.kind === 'edited')).toEqual([
    expect.objectContaining({ leafIndex: 25, detail: 'the stored envelope of leaf 25 is not valid JSON' }),
    expect.objectContaining({ leafIndex: 25 }),
  ]);
});

test('a custom schema: integer, boolean, datetime and unindexed columns agree with honest envelopes; a changed integer column does not', async () => {
  const dataDir = join(parent, 'custom');
  const service = await startTestService({
    dataDir,
    schema: {
      fields: [
        { id: 'message', type: 'text', required: true },
        { id: 'count', type: 'integer' },
        { id: 'ok', type: 'boolean' },
        { id: 'happened_at', type: 'datetime' },
        { id: 'note', type: 'string-unindexed' },
      ],
    },
  });
  try {
    const events = [
      { message: 'one', count: 7, ok: false, happened_at: '2024-03-01T10:00:00+02:00', note: 'n' },
      { message: 'two', count: -3, ok: true, happened_at: '2024-03-01T10:00:00.5Z' },
      { message: 'three' },
    ];
    for (const event of events) expect((await service.post('v1/log', { event })).status).toBe('Success');
    service.publishNow();
  } finally {
    await service.close();
  }
  expect(await audit(dataDir)).toMatchObject({ ok: true, events: 3, publishedRootsChecked: 1 });
  withDb(dataDir, (db) => db.prepare('UPDATE events SET f_count = 8 WHERE leaf_index = 0').run());
  expect((await audit(dataDir)).findings).toEqual([
    { kind: 'search-column', leafIndex: 0, detail: 'leaf 0: column f_count is 8, the envelope says 7' },
  ]);
});

test('an empty log is clean; a directory that does not exist is refused', async () => {
  const dataDir = join(parent, 'empty');
  const service = await startTestService({ dataDir });
  await service.close();
  expect(await audit(dataDir)).toMatchObject({ ok: true, events: 0, treeSize: 0, rootHash: null, publishedRootsChecked: 0, publishedRoot: null });
  await expect(audit(join(parent, 'nowhere'))).rejects.toThrow(/the data directory .*nowhere does not exist/);
  expect(existsSync(join(parent, 'nowhere'))).toBe(false);
});
