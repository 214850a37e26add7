// Group commit of appends (AuditLog.appendBatched, used by v1/log and small v2/log): the appends of
// one turn of the event loop share one transaction, nothing is answered before that commit, arrival
// times rise with the leaves, a batch that fails stores none of its events, and over HTTP every one
// of many concurrent v1/log calls gets its own leaf, root and proofs, all of which verify (and
// each small v2/log batch its own consecutive leaves).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { hashEnvelope, verifyConsistency, verifyMembership } from '../../src/merkle/index.js';
import { microTimestamp } from '../../src/local-audit/core/clock.js';
import { startTestService, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

let svc: TestService;
beforeEach(async () => {
  svc = await startTestService();
});
afterEach(async () => {
  await svc.destroy();
});

const envelope = (message: string) => () => [{ event: { message, actor: 'batch' }, received_at: microTimestamp() }];

test('appends of one turn share one commit, in call order, answered only after it', async () => {
  await svc.post('v1/log', { event: { message: 'before' } });
  const other = new Database(join(svc.dataDir, 'audit.sqlite'), { readonly: true });
  try {
    const commits = other.prepare('PRAGMA data_version').pluck();
    const stored = other.prepare('SELECT count(*) FROM events').pluck();
    const before = commits.get() as number;
    const answers = Array.from({ length: 12 }, (_, i) => svc.log.appendBatched(envelope(`e${i}`), ([a]) => a!));
    // Nothing is written during the turn that asked.
    expect(stored.get()).toBe(1);
    const appended = await Promise.all(answers);
    expect((commits.get() as number) - before).toBe(1);
    expect(stored.get()).toBe(13);
    expect(appended.map((a) => a.leafIndex)).toEqual(Array.from({ length: 12 }, (_, i) => 1 + i));
    expect(appended.map((a) => a.envelope.event.message)).toEqual(Array.from({ length: 12 }, (_, i) => `e${i}`));
    // Stamped when written, in append order: arrival times rise with the leaves.
    const times = appended.map((a) => a.envelope.received_at);
    expect([...times].sort()).toEqual(times);
    expect(new Set(times).size).toBe(12);
    expect(svc.log.events.arrival.receivedInLeafOrder).toBe(true);
  } finally {
    other.close();
  }
});

test('a batch whose answer fails stores none of its events and refuses them all; the next batch is fine', async () => {
  const size = svc.log.size;
  const results = await Promise.allSettled([
    svc.log.appendBatched(envelope('a'), ([a]) => a!.leafIndex),
    svc.log.appendBatched(envelope('b'), () => {
      throw new Error('answer failed');
    }),
    svc.log.appendBatched(envelope('c'), ([a]) => a!.leafIndex),
  ]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
  expect(svc.log.size).toBe(size);
  expect(svc.log.db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(size);
  // The in-memory tree went back with the file: the next appends and their proofs are right.
  const r = await svc.post<Json>('v1/log', { event: { message: 'after the failed batch' }, verbose: true });
  expect(r.result.membership_proof).toBeDefined();
  expect(verifyMembership({ hash: r.result.hash, proof: r.result.membership_proof, rootHash: r.result.unpublished_root }).status).toBe('PASS');
  expect(svc.log.size).toBe(size + 1);
});

test('many v1/log calls at once: each its own leaf, and its root, proofs and hash verify', async () => {
  const first = await svc.post<Json>('v1/log', { event: { message: 'anchor' }, verbose: true });
  const prevRoot = first.result.unpublished_root as string;
  const calls = await Promise.all(
    Array.from({ length: 40 }, (_, i) => svc.post<Json>('v1/log', { event: { message: `concurrent ${i}`, actor: 'many' }, verbose: true, prev_root: prevRoot })),
  );
  const leaves = new Set<number>();
  for (const r of calls) {
    expect(r.status).toBe('Success');
    expect(hashEnvelope(r.result.envelope)).toBe(r.result.hash);
    expect(verifyMembership({ hash: r.result.hash, proof: r.result.membership_proof, rootHash: r.result.unpublished_root }).status).toBe('PASS');
    const size = svc.log.roots.sizeOf(r.result.unpublished_root)!;
    expect(verifyConsistency({ oldRootHash: prevRoot, newRootHash: r.result.unpublished_root, proof: r.result.consistency_proof, sizes: { oldSize: 1, newSize: size } }).status).toBe('PASS');
    leaves.add(size);
  }
  // Every answer names the root of the tree just after its own event: 40 different sizes.
  expect(leaves.size).toBe(40);
  expect(Math.min(...leaves)).toBe(2);
  expect(Math.max(...leaves)).toBe(41);
});

test('close writes what is queued before the database closes', async () => {
  const pending = svc.log.appendBatched(envelope('at close'), ([a]) => a!.leafIndex);
  svc.log.flushAppends();
  expect(svc.log.db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(1);
  await expect(pending).resolves.toBe(0);
});

test('small v2/log batches at once: each request gets consecutive leaves of its own, in its order', async () => {
  const calls = await Promise.all(
    Array.from({ length: 20 }, (_, c) =>
      svc.post<Json>('v2/log', { events: Array.from({ length: 5 }, (_, i) => ({ event: { message: `bulk ${c}.${i}` } })), verbose: true }),
    ),
  );
  const starts = new Set<number>();
  for (const [c, r] of calls.entries()) {
    expect(r.status).toBe('Success');
    expect(r.result.results.map((x: Json) => x.envelope.event.message)).toEqual(Array.from({ length: 5 }, (_, i) => `bulk ${c}.${i}`));
    const leaves: number[] = r.result.results.map((x: Json) => findLeaf(x.hash));
    expect(leaves).toEqual(Array.from({ length: 5 }, (_, i) => leaves[0]! + i));
    starts.add(leaves[0]!);
    for (const x of r.result.results) expect(hashEnvelope(x.envelope)).toBe(x.hash);
  }
  expect(starts.size).toBe(20);
  expect(svc.log.size).toBe(100);
});

function findLeaf(hash: string): number {
  return svc.log.db.prepare('SELECT leaf_index FROM events WHERE hash = ?').pluck().get(Buffer.from(hash, 'hex')) as number;
}
