// The verified history and its prover against a real local audit service over HTTP: roots are
// proven by membership paths in a few requests however far the log has grown (past one result
// set of 10,000 events through stepping stones, up to a bound), by one-step chains where paths
// cannot be used, and a second history (the SQLite file rewritten consistently, as an insider would) is a FAIL and a sticky
// contradiction, never a PASS. The signed state file refuses a rewritten or unsigned copy.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditClient } from '../../src/audit-client/index.js';
import type { PublishedRoot } from '../../src/wire/index.js';
import { PATH_HOP, RootProver } from '../../src/trust/root-prover.js';
import { addTamperingMark, loadOrCreateIntegrityKey, readStateFile, readTamperingMark, stateMarksDir, writeContradictionMark, writeStateFile, type SavedHistory } from '../../src/trust/state-file.js';
import { VerifiedHistory } from '../../src/trust/verified-history.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';
import { rewriteHistory, snapshotAuditDb, withAuditDb } from '../support/tamper.js';

describe('root prover against a real local service', () => {
  let service: TestService;
  let client: AuditClient;
  let logged = 0;

  const log = async (n: number): Promise<void> => {
    for (let done = 0; done < n; ) {
      const batch = Math.min(1000, n - done);
      const events = Array.from({ length: batch }, (_, i) => ({ event: { message: `event ${logged + done + i}`, actor: 'prover' } }));
      const answer = await service.post('v2/log', { events });
      expect(answer.status).toBe('Success');
      done += batch;
    }
    logged += n;
  };
  const latest = async (): Promise<PublishedRoot> => (await client.root({})).result.data;
  const publish = async (n: number): Promise<PublishedRoot> => {
    await log(n);
    service.publishNow();
    return latest();
  };
  const prover = (history: VerifiedHistory, oneEventPerLeaf = true): RootProver =>
    new RootProver({
      client,
      history,
      oneEventPerLeaf,
      trustOnFirstUse: false,
      fetchRoot: async (size) => (await client.root({ tree_size: size })).result.data,
    });

  /** A fresh history anchored (trust on first use) at a root published after `n` more events, and its prover. */
  const anchored = async (n: number, oneEventPerLeaf = true): Promise<{ anchor: PublishedRoot; history: VerifiedHistory; p: RootProver }> => {
    const anchor = await publish(n);
    const history = new VerifiedHistory();
    history.anchorAt('trust-on-first-use', anchor.tree_name, { size: anchor.size, rootHash: anchor.root_hash });
    return { anchor, history, p: prover(history, oneEventPerLeaf) };
  };

  beforeAll(async () => {
    service = await startTestService();
    client = new AuditClient({ baseUrl: service.url, token: service.token });
  });
  afterAll(async () => {
    await client.close();
    await service.destroy();
  });

  test('without an anchor nothing is proven; trust on first use anchors at the first root seen', async () => {
    const root = await publish(5);
    const history = new VerifiedHistory();
    expect(prover(history).check(root)).toEqual({ status: 'NONE', reason: expect.stringMatching(/no verified history yet \(integrity UNANCHORED\)/) });
    const tofu = new RootProver({ client, history, oneEventPerLeaf: true, trustOnFirstUse: true });
    expect(tofu.check(root)).toEqual({ status: 'PASS' });
    expect(history.snapshot()).toMatchObject({ anchor: 'trust-on-first-use', latest: { size: 5, rootHash: root.root_hash } });
  });

  test('paths prove newer roots in a few requests, and older ones between verified roots', async () => {
    const { anchor, history, p } = await anchored(7);
    const middle = await publish(40);
    const newer = await publish(300);
    expect(await p.trust(newer)).toEqual({ status: 'PASS' });
    // The anchor learned its last leaf, the newer root was recorded with its own.
    expect(history.get(anchor.size)!.lastLeaf).toBeDefined();
    expect(history.latest()).toMatchObject({ size: newer.size, rootHash: newer.root_hash, lastLeaf: { hash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    // A root between two verified ones is proven as the prefix the newer one's tree makes.
    expect(history.get(middle.size)).toBeUndefined();
    expect(await p.trust(middle)).toEqual({ status: 'PASS' });
    expect(history.get(middle.size)!.rootHash).toBe(middle.root_hash);
    // Known sizes need no request at all.
    expect(p.check(newer)).toEqual({ status: 'PASS' });
  });

  test('a root older than the anchor is not proven (PENDING), never taken on its word', async () => {
    const older = await publish(3);
    const anchor = await publish(3);
    const history = new VerifiedHistory();
    history.anchorAt('trust-on-first-use', anchor.tree_name, { size: anchor.size, rootHash: anchor.root_hash });
    const verdict = await prover(history).trust(older);
    expect(verdict.status).toBe('NONE');
    expect(verdict.reason).toMatch(/older than the verified history's anchor/);
    expect(history.get(older.size)).toBeUndefined();
  });

  test('a root more than one result set past the history is proven through stepping stones, each recorded with its last leaf', async () => {
    const { anchor, history, p } = await anchored(3);
    const far = await publish(10_500);
    expect(await p.trust(far)).toEqual({ status: 'PASS' });
    expect(history.get(anchor.size + PATH_HOP)!.lastLeaf).toBeDefined();
    // The stone's proof read paths in the latest root, `far`: that proved it.
    expect(history.latest()).toMatchObject({ size: far.size, rootHash: far.root_hash });
  });

  test('past its stepping stones a root is PENDING for a request, and the stones it took are kept', async () => {
    const { anchor, history } = await anchored(3);
    const oneStone = new RootProver({ client, history, oneEventPerLeaf: true, trustOnFirstUse: false, maxPathHops: 1, fetchRoot: async (size) => (await client.root({ tree_size: size })).result.data });
    // Not the latest root: a stone's proof, which reads paths in the latest one, proves that one.
    const far = await publish(2 * PATH_HOP + 1500);
    await publish(10);
    const pending = await oneStone.trust(far);
    expect(pending.status).toBe('NONE');
    expect(pending.reason).toMatch(/past the result set that could prove it; the integrity monitor proves it in steps/);
    expect(history.get(anchor.size + PATH_HOP)!.lastLeaf).toBeDefined();
    expect(history.get(far.size)).toBeUndefined();
    // The next proof starts from that stone: one more is enough.
    expect(await oneStone.trust(far)).toEqual({ status: 'PASS' });
  });

  test('a root just past a verified one recorded without its last leaf is proven from that one, however far the older ones lie', async () => {
    const { history, p } = await anchored(3);
    const near = await publish(5);
    const far = await publish(10_500);
    // Proving `near` reads results pages whose root is `far`, past the result set's reach: `far`
    // is verified (it is the tree the paths lead to) but its last leaf is not known yet.
    expect(await p.trust(near)).toEqual({ status: 'PASS' });
    expect(history.latest()).toMatchObject({ size: far.size, rootHash: far.root_hash });
    expect(history.latest()!.lastLeaf).toBeUndefined();
    // The next root is a few leaves past `far` and more than a result set past `near`.
    const next = await publish(5);
    expect(await p.trust(next)).toEqual({ status: 'PASS' });
    expect(history.get(far.size)!.lastLeaf).toBeDefined();
    expect(history.latest()).toMatchObject({ size: next.size, rootHash: next.root_hash, lastLeaf: { hash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
  });

  test('one-step chains prove small gaps where paths cannot be used; a large gap is PENDING', async () => {
    const { p } = await anchored(2, false);
    const steps: PublishedRoot[] = [];
    for (let i = 0; i < 3; i++) steps.push(await publish(1));
    expect(await p.trust(steps[2]!)).toEqual({ status: 'PASS' });
    expect(await p.trust(steps[0]!)).toEqual({ status: 'PASS' });
    // Past the budget of one call (64 steps here): not proven, not failed.
    for (let i = 0; i < 70; i++) await publish(1);
    const far = await latest();
    expect((await p.trust(far)).status).toBe('NONE');
  });

  test('a rewritten history is a FAIL through stepping stones too, never a stone to step on', async () => {
    const { anchor, history, p } = await anchored(20);
    const verified = await publish(15);
    expect(await p.trust(verified)).toEqual({ status: 'PASS' });
    withAuditDb(service.dataDir, (db) => rewriteHistory(db, anchor.size - 5));
    const far = await publish(PATH_HOP + 1500);
    // The first stone's proof reads the verified root's last leaf in the rewritten tree.
    const verdict = await p.trust(far);
    expect(verdict.status).toBe('FAIL');
    expect(history.latest()!.size).toBe(verified.size);
    expect(history.get(verified.size + PATH_HOP)).toBeUndefined();
  });

  test('a consistently rewritten history is a FAIL and a sticky contradiction, for paths and for held sizes', async () => {
    const { anchor, history, p } = await anchored(20);
    const verified = await publish(15);
    expect(await p.trust(verified)).toEqual({ status: 'PASS' });
    // An insider rewrites an event below the verified size and recomputes the tree and roots.
    withAuditDb(service.dataDir, (db) => rewriteHistory(db, anchor.size - 5));
    const rewritten = await latest();
    expect(rewritten.size).toBe(verified.size);
    expect(rewritten.root_hash).not.toBe(verified.root_hash);
    const sameSize = await p.trust(rewritten);
    expect(sameSize.status).toBe('FAIL');
    expect(sameSize.reason).toMatch(/the gateway verified [0-9a-f]{64} for that size: the audit service serves another history/);
    expect(history.contradiction).toBe(sameSize.reason);
    // A newer root of the rewritten log does not extend the verified one either.
    const onward = await publish(4);
    const extended = await p.trust(onward);
    expect(extended.status).toBe('FAIL');
    expect(extended.reason).toMatch(/serves another history|two histories/);
  });

  test('a root the upstream offers below the latest verified one, from a history rewritten past the roots it was compared with, is never recorded', async () => {
    // The verified history holds roots A < B < C. A fork keeps the leaves up to B and rewrites
    // one after it, and stops short of C: its latest root R lies between B and C. An honest
    // claim between A and B, proven with R's paths, shows that R extends A and B, and says
    // nothing about R against C.
    const { history, p } = await anchored(20); // A
    const mid = await publish(15); // between A and B: not held
    const b = await publish(15); // B
    expect(await p.trust(b)).toEqual({ status: 'PASS' });
    await publish(10); // the fork's R, not held
    const forkDir = tempDir('prover-fork-');
    await snapshotAuditDb(service.dataDir, forkDir);
    const c = await publish(10); // C, past R
    expect(await p.trust(c)).toEqual({ status: 'PASS' });
    expect(history.get(mid.size)).toBeUndefined();
    withAuditDb(forkDir, (db) => rewriteHistory(db, b.size + 3));
    const fork = await startTestService({ dataDir: forkDir });
    const forkClient = new AuditClient({ baseUrl: fork.url, token: fork.token });
    try {
      const forkProver = new RootProver({ client: forkClient, history, oneEventPerLeaf: true, trustOnFirstUse: false, fetchRoot: async (size) => (await forkClient.root({ tree_size: size })).result.data });
      const forkLatest = (await forkClient.root({})).result.data;
      expect(forkLatest.size).toBeGreaterThan(b.size);
      expect(forkLatest.size).toBeLessThan(c.size);
      const forkMid = (await forkClient.root({ tree_size: mid.size })).result.data;
      expect(forkMid.root_hash).toBe(mid.root_hash);

      expect(await forkProver.trust(forkMid)).toEqual({ status: 'PASS' });
      expect(history.get(mid.size)?.rootHash).toBe(mid.root_hash);
      expect(history.get(forkLatest.size)).toBeUndefined();
      // Offered on its own, R must prove itself against C, which it cannot.
      expect((await forkProver.trust(forkLatest)).status).not.toBe('PASS');
      expect(history.get(forkLatest.size)).toBeUndefined();
    } finally {
      await forkClient.close();
      await fork.destroy();
    }
  });

  test('a last leaf whose path makes a verified root something else is a contradiction, not a root left without its last leaf', async () => {
    const own = await startTestService();
    const ownClient = new AuditClient({ baseUrl: own.url, token: own.token });
    try {
      const events = Array.from({ length: 12 }, (_, i) => ({ event: { message: `own ${i}`, actor: 'prover' } }));
      expect((await own.post('v2/log', { events })).status).toBe('Success');
      own.publishNow();
      const anchor = (await ownClient.root({})).result.data;
      const history = new VerifiedHistory();
      // Anchored without its last leaf, as trust on first use and the full audit anchor.
      history.anchorAt('trust-on-first-use', anchor.tree_name, { size: anchor.size, rootHash: anchor.root_hash });
      withAuditDb(own.dataDir, (db) => rewriteHistory(db, 4));
      const p = new RootProver({ client: ownClient, history, oneEventPerLeaf: true, trustOnFirstUse: false, fetchRoot: async (size) => (await ownClient.root({ tree_size: size })).result.data });
      await p.findLastLeaf(history.get(anchor.size)!);
      expect(history.get(anchor.size)?.lastLeaf).toBeUndefined();
      expect(history.contradiction).toMatch(new RegExp(`^root\\(${anchor.size}\\) is [0-9a-f]{64}, but the gateway verified ${anchor.root_hash} for that size: the audit service serves another history$`));
    } finally {
      await ownClient.close();
      await own.destroy();
    }
  });

  test('two roots of one size recorded: a contradiction; a held or contradicted history takes no new anchor', () => {
    const history = new VerifiedHistory();
    history.anchorAt('trust-on-first-use', 'tree', { size: 5, rootHash: 'aa'.repeat(32) });
    history.record({ size: 9, rootHash: 'bb'.repeat(32) }, 'tree');
    expect(() => history.record({ size: 9, rootHash: 'cc'.repeat(32) }, 'tree')).toThrow(/root\(9\) was proven as c+, but the gateway verified b+ for that size: the audit service serves another history/);
    expect(history.contradiction).toMatch(/serves another history/);
    expect(() => history.anchorAt('full-audit', 'tree', { size: 9, rootHash: 'cc'.repeat(32) })).toThrow(/cannot be anchored again/);

    const refused = new VerifiedHistory();
    refused.holdAnchoring('the integrity state file was refused');
    const p = new RootProver({ client, history: refused, oneEventPerLeaf: true, trustOnFirstUse: true });
    expect(p.check({ tree_name: 'tree', size: 3, root_hash: 'dd'.repeat(32) })).toEqual({ status: 'NONE', reason: 'the verified history cannot be anchored: the integrity state file was refused' });
    expect(refused.anchored).toBe(false);
  });
});

describe('signed state file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'state-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const state: SavedHistory = {
    upstream: 'embedded',
    treeName: 'tree-1',
    anchor: 'empty-log',
    first: { size: 3, rootHash: 'aa'.repeat(32) },
    latest: { size: 9, rootHash: 'bb'.repeat(32), lastLeaf: { hash: 'cc'.repeat(32), receivedAt: '2026-12-04T10:00:00.000001Z' } },
    contradiction: null,
    savedAt: '2026-12-04T10:00:01.000Z',
  };

  test('round-trips under its key; a rewritten file, another key, an unsigned or malformed one are refused', async () => {
    const keyFile = join(dir, 'keys', 'integrity-key');
    const key = loadOrCreateIntegrityKey(keyFile);
    expect(loadOrCreateIntegrityKey(keyFile).equals(key)).toBe(true);
    expect((readFileSync(keyFile, 'utf8').trim())).toMatch(/^[0-9a-f]{64}$/);
    const file = join(dir, 'integrity-state.json');
    expect(readStateFile(file, key, 'embedded')).toEqual({ kind: 'missing' });
    await writeStateFile(file, key, state);
    expect(readStateFile(file, key, 'embedded')).toEqual({ kind: 'loaded', state: expect.objectContaining({ latest: state.latest, anchor: 'empty-log' }) });
    // Saved for another upstream: not used.
    expect(readStateFile(file, key, 'https://audit.example')).toEqual({ kind: 'missing' });

    const saved = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...saved, latest: { ...saved.latest, size: 4 } }));
    expect(readStateFile(file, key, 'embedded')).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/does not carry a valid signature under the integrity key: it was rewritten/) });

    await writeStateFile(file, loadOrCreateIntegrityKey(join(dir, 'other-key')), state);
    expect(readStateFile(file, key, 'embedded').kind).toBe('refused');

    writeFileSync(file, JSON.stringify({ version: 1, upstream: 'embedded', treeName: 't', size: 3, rootHash: 'aa'.repeat(32) }));
    expect(readStateFile(file, key, 'embedded')).toMatchObject({ kind: 'unsigned' });
    writeFileSync(file, '{"version":2,');
    expect(readStateFile(file, key, 'embedded')).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/not valid JSON/) });
  });

  test('with marks, an earlier copy put back is refused, the one before the last still loads, and a contradiction saved once stays', async () => {
    const keyFile = join(dir, 'marked', 'keys', 'integrity-key');
    const key = loadOrCreateIntegrityKey(keyFile);
    const marks = stateMarksDir(keyFile);
    const file = join(dir, 'marked', 'data', 'integrity-state.json');
    const at = (size: number, contradiction: string | null = null): SavedHistory => ({ ...state, latest: { size, rootHash: size.toString(16).padStart(2, '0').repeat(32) }, contradiction });
    const loadedSize = () => {
      const loaded = readStateFile(file, key, 'embedded', marks);
      return loaded.kind === 'loaded' ? loaded.state.latest?.size : loaded.kind;
    };

    await writeStateFile(file, key, at(10), marks);
    const early = readFileSync(file, 'utf8');
    expect(loadedSize()).toBe(10);
    await writeStateFile(file, key, at(20), marks);
    const previous = readFileSync(file, 'utf8');
    await writeStateFile(file, key, at(30), marks);
    expect(loadedSize()).toBe(30);
    // The file saved before the last is what a crash between the mark and the rename leaves.
    writeFileSync(file, previous);
    expect(loadedSize()).toBe(20);
    // An older copy verifies under the key, but is not one the mark knows.
    writeFileSync(file, early);
    expect(readStateFile(file, key, 'embedded', marks)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/is not the last one the gateway saved there .*: an earlier copy was put back/) });
    // Without marks (as before them) it would have loaded.
    expect(readStateFile(file, key, 'embedded').kind).toBe('loaded');

    // A contradiction, once saved, is not undone by putting back the file saved just before it.
    await writeStateFile(file, key, at(40), marks);
    const beforeContradiction = readFileSync(file, 'utf8');
    await writeStateFile(file, key, at(40, 'root(40) is not what was verified'), marks);
    writeFileSync(file, beforeContradiction);
    expect(readStateFile(file, key, 'embedded', marks)).toMatchObject({ kind: 'loaded', state: { contradiction: 'root(40) is not what was verified' } });
    // Nor by later saves that no longer carry it.
    await writeStateFile(file, key, at(50), marks);
    expect(readStateFile(file, key, 'embedded', marks)).toMatchObject({ kind: 'loaded', state: { contradiction: 'root(40) is not what was verified' } });

    // Marks are per state file: another data directory beside the same key starts its own.
    const other = join(dir, 'marked', 'other-data', 'integrity-state.json');
    await writeStateFile(other, key, at(5), marks);
    expect(readStateFile(other, key, 'embedded', marks)).toMatchObject({ kind: 'loaded', state: { latest: { size: 5 }, contradiction: null } });

    // A contradiction found before anything could be saved (no anchor) is kept by the mark alone.
    const unanchored = join(dir, 'marked', 'unanchored', 'integrity-state.json');
    expect(readStateFile(unanchored, key, 'embedded', marks)).toEqual({ kind: 'missing' });
    await writeContradictionMark(unanchored, key, 'embedded', 'the full audit found 1 problem(s) in the stored log: leaf 3 was edited', marks);
    expect(readStateFile(unanchored, key, 'embedded', marks)).toMatchObject({
      kind: 'refused',
      reason: expect.stringMatching(/^the full audit found 1 problem\(s\) in the stored log: leaf 3 was edited \(found before the history was anchored, and kept in .*: remove that mark once resolved\)$/),
    });
    expect(readStateFile(unanchored, key, 'embedded')).toEqual({ kind: 'missing' });

    // A mark rewritten by hand is not believed, and nor is the file it guards.
    for (const name of readdirSync(marks)) writeFileSync(join(marks, name), JSON.stringify({ macs: [], contradiction: null, mac: 'ab'.repeat(32) }));
    expect(readStateFile(file, key, 'embedded', marks)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/state mark .* does not carry a valid signature/) });
  });

  test('tampering evidence adds up in the mark, outlives the state saves around it, and a lowered count is refused', async () => {
    const keyFile = join(dir, 'tampering', 'keys', 'integrity-key');
    const key = loadOrCreateIntegrityKey(keyFile);
    const marks = stateMarksDir(keyFile);
    const file = join(dir, 'tampering', 'data', 'integrity-state.json');
    expect(readTamperingMark(marks, file, 'embedded', key)).toEqual({ kind: 'kept', tampering: null });
    // Before any state is saved (an unanchored log), and then around the saves.
    expect(await addTamperingMark(file, key, 'embedded', marks, 2, 'events outside the restriction', '2026-12-08T01:00:00.000Z')).toEqual({ count: 2, last: 'events outside the restriction', lastAt: '2026-12-08T01:00:00.000Z' });
    await writeStateFile(file, key, state, marks);
    await addTamperingMark(file, key, 'embedded', marks, 3, '1 event(s) gone', '2026-12-08T01:00:05.000Z');
    await writeStateFile(file, key, { ...state, savedAt: '2026-12-08T01:00:06.000Z' }, marks);
    expect(readTamperingMark(marks, file, 'embedded', key)).toEqual({ kind: 'kept', tampering: { count: 5, last: '1 event(s) gone', lastAt: '2026-12-08T01:00:05.000Z' } });
    // The saves that kept it still guard the state file as before.
    expect(readStateFile(file, key, 'embedded', marks)).toMatchObject({ kind: 'loaded' });
    // Per upstream: another one's evidence is its own.
    expect(readTamperingMark(marks, file, 'https://audit.example', key)).toEqual({ kind: 'kept', tampering: null });

    // Whoever lowers the count by hand breaks the mark's signature: refused, with the state file it guards.
    for (const name of readdirSync(marks)) {
      const mark = JSON.parse(readFileSync(join(marks, name), 'utf8'));
      writeFileSync(join(marks, name), JSON.stringify({ ...mark, tampering: { ...mark.tampering, count: 1 } }));
    }
    expect(readTamperingMark(marks, file, 'embedded', key)).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/does not carry a valid signature/) });
    expect(readStateFile(file, key, 'embedded', marks).kind).toBe('refused');
  });
});
