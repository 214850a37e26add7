// Durability and concurrency of the local audit service, over real HTTP and real SQLite files:
// - kill -9 while batches are in flight: after a restart on the same data directory every
//   acknowledged event is there, batches are all-or-nothing, leaf indexes are dense, every proof
//   verifies against the new root, and the last roots seen before the crash are prefixes of it;
// - a clean restart continues the tree, the published roots, search and the generated token;
// - many clients at once on v1/log and v2/log: no duplicate leaf, every batch contiguous and in
//   input order, every served root a prefix of the final tree.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToHex, digestFromHex, hashEnvelope, MemoryTree, verifyConsistency, verifyMembership } from '../../src/merkle/index.js';
import { startLocalAudit, type LocalAudit } from '../../src/local-audit/index.js';
import { startTestService, tempDir } from '../support/local-audit.js';

type Json = Record<string, any>;

const CHILD_SCRIPT = fileURLToPath(new URL('./fixtures/service-child.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TOKEN = 'crash-test-token';

async function post(url: string, path: string, body: unknown, token = TOKEN): Promise<Json> {
  const res = await fetch(`${url}/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Json;
}

async function postOk(url: string, path: string, body: unknown): Promise<Json> {
  const r = await post(url, path, body);
  if (r.status !== 'Success') throw new Error(`${path}: ${r.status} ${r.summary}`);
  return r.result as Json;
}

interface Child {
  proc: ChildProcess;
  url: string;
  /** Tree size the service found on start. */
  size: number;
  exited: Promise<NodeJS.Signals | number | null>;
}

/** Starts the service in its own process (tsx) and waits for the line that says where it listens. */
function startChild(dataDir: string, publishIntervalMs: number): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, dataDir, String(publishIntervalMs)], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, AUDIT_TOKEN: TOKEN, NODE_OPTIONS: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => proc.once('exit', (code, signal) => resolve(signal ?? code)));
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<Child>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`service child did not start in 20 s: ${stderr}`));
    }, 20_000);
    const lines = createInterface({ input: proc.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line) as { url: string; size: number };
      resolve({ proc, url: info.url, size: info.size, exited });
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`service child exited (${String(how)}) before listening: ${stderr}`));
    });
  });
}

async function killHard(child: Child): Promise<void> {
  child.proc.kill('SIGKILL');
  expect(await child.exited).toBe('SIGKILL');
}

interface StoredEvent {
  leafIndex: number;
  hash: string;
  envelope: Json;
  membershipProof: string;
}

interface Snapshot {
  size: number;
  rootHash: string;
  events: StoredEvent[];
}

/**
 * Events per result set when a log is read back. The crash cycles write 2,500 events or more each
 * and a run may need up to five, past the 10,000 one result set can hold (max_results' cap), so a
 * log is read in windows; with windows this small, every run reads several.
 */
const WINDOW = 2_000;

/**
 * Every event of a tree of `size` leaves, read through v1/search + v1/results (ascending, verbose)
 * in windows of WINDOW events: the next window starts at the last window's latest received_at (an
 * inclusive bound), and events read twice are kept once.
 */
async function readEvents(url: string, size: number): Promise<Json[]> {
  const byLeaf = new Map<number, Json>();
  let start: string | undefined;
  for (;;) {
    const first = await postOk(url, 'v1/search', { query: '', order: 'asc', max_results: WINDOW, limit: 1000, ...(start === undefined ? {} : { start }) });
    expect(first.root.size).toBe(size);
    expect(first.unpublished_root.size).toBe(size);
    const raw: Json[] = [...first.events];
    while (raw.length < first.count) {
      const page = await postOk(url, 'v1/results', { id: first.id, offset: raw.length, limit: 1000 });
      raw.push(...page.events);
    }
    for (const e of raw) byLeaf.set(e.leaf_index, e);
    if (first.count < WINDOW) break;
    const next: string = raw[raw.length - 1]!.envelope.received_at;
    if (next === start) throw new Error(`${WINDOW} or more events received at ${next}: the windows cannot move on`);
    start = next;
  }
  return [...byLeaf.values()].sort((a, b) => a.leaf_index - b.leaf_index);
}

/**
 * Waits until the latest published root covers the whole tree, then reads every event back
 * (readEvents) and checks what must hold of any tree: leaf indexes 0..n-1 exactly once, stored
 * hashes match the envelopes, every membership proof reaches the published root, and the root is
 * the root of the leaves read back.
 */
async function readWholeLog(url: string): Promise<Snapshot> {
  let root: Json | undefined;
  for (let attempt = 0; attempt < 200; attempt++) {
    const probe = await postOk(url, 'v1/search', { query: '', limit: 1, max_results: 1 });
    const r = await post(url, 'v1/root', {});
    if (r.status === 'Success' && r.result.data.size === probe.unpublished_root.size) {
      root = r.result.data;
      break;
    }
    await new Promise((res) => setTimeout(res, 25));
  }
  if (!root) throw new Error('the publisher never caught up with the tree');
  const raw = await readEvents(url, root.size);
  const events: StoredEvent[] = raw.map((e) => ({ leafIndex: e.leaf_index, hash: e.hash, envelope: e.envelope, membershipProof: e.membership_proof }));
  // Dense: exactly the leaves 0..size-1, in order, each once.
  expect(events.map((e) => e.leafIndex)).toEqual(Array.from({ length: root.size }, (_, i) => i));
  expect(raw.every((e) => e.published === true)).toBe(true);
  const tree = new MemoryTree();
  for (const e of events) {
    expect(hashEnvelope(e.envelope)).toBe(e.hash);
    const check = verifyMembership({ hash: e.hash, proof: e.membershipProof, rootHash: root.root_hash, position: { leafIndex: e.leafIndex, treeSize: root.size, oneEventPerLeaf: true } });
    if (check.status !== 'PASS') throw new Error(`leaf ${e.leafIndex}: ${JSON.stringify(check)}`);
    tree.append(digestFromHex(e.hash)!);
  }
  expect(bytesToHex(tree.root())).toBe(root.root_hash);
  return { size: root.size, rootHash: root.root_hash, events };
}

interface Batch {
  id: string;
  messages: string[];
  hashes?: string[];
}

describe('kill -9 with batches in flight', () => {
  test('every acknowledged event survives, batches are atomic, and the pre-crash roots are prefixes of the new tree', async () => {
    const dataDir = tempDir('audit-crash-');
    const children: Child[] = [];
    try {
      let child = await startChild(dataDir, 30);
      children.push(child);
      const acked: Batch[] = [];
      const unacked: Batch[] = [];
      const proofFailures: string[] = [];
      let ackedEvents = 0;
      // Two cycles, and more (up to five) while no kill has caught a request in flight: an answer
      // already on its way when the process dies still arrives, and on a busy machine all may be.
      for (let cycle = 0; cycle < 2 || (unacked.length === 0 && cycle < 5); cycle++) {
        const url = child.url;
        let stop = false;
        let inFlight = 0;
        let lastLogged: { root: string; hash: string; proof: string } | undefined;
        let lastPublished: { size: number; root_hash: string } | undefined;
        const target = ackedEvents + 2500;

        const bulkWorker = async (w: number): Promise<void> => {
          for (let n = 0; !stop; n++) {
            const batch: Batch = { id: `c${cycle}-w${w}-${n}`, messages: [] };
            const size = 1 + ((n * 7 + w * 3) % 40);
            for (let i = 0; i < size; i++) batch.messages.push(`${batch.id} #${i}`);
            inFlight++;
            try {
              const r = await post(url, 'v2/log', { events: batch.messages.map((message) => ({ event: { message, target: batch.id, actor: `w${w}` } })) });
              if (r.status !== 'Success') throw new Error(`${r.status}: ${r.summary}`);
              batch.hashes = (r.result.results as Json[]).map((x) => x.hash);
              acked.push(batch);
              ackedEvents += size;
            } catch {
              unacked.push(batch);
            } finally {
              inFlight--;
            }
          }
        };
        // v1/log verbose: remembers the last root handed out before the crash (and checks its proof).
        const singleWorker = async (): Promise<void> => {
          for (let n = 0; !stop; n++) {
            const batch: Batch = { id: `c${cycle}-single-${n}`, messages: [`c${cycle} single ${n}`] };
            inFlight++;
            try {
              const r = await post(url, 'v1/log', { event: { message: batch.messages[0], target: batch.id }, verbose: true });
              if (r.status !== 'Success') throw new Error(`${r.status}: ${r.summary}`);
              batch.hashes = [r.result.hash];
              acked.push(batch);
              ackedEvents++;
              const check = verifyMembership({ hash: r.result.hash, proof: r.result.membership_proof, rootHash: r.result.unpublished_root });
              if (check.status !== 'PASS') proofFailures.push(`${batch.id}: ${JSON.stringify(check)}`);
              lastLogged = { root: r.result.unpublished_root, hash: r.result.hash, proof: r.result.membership_proof };
            } catch {
              unacked.push(batch);
            } finally {
              inFlight--;
            }
          }
        };
        const rootWatcher = async (): Promise<void> => {
          while (!stop) {
            try {
              const r = await post(url, 'v1/root', {});
              if (r.status === 'Success') lastPublished = r.result.data;
            } catch {
              // the service is gone
            }
            await new Promise((res) => setTimeout(res, 10));
          }
        };
        const killer = async (): Promise<void> => {
          const started = Date.now();
          while (ackedEvents < target && Date.now() - started < 10_000) await new Promise((res) => setTimeout(res, 5));
          while (inFlight < 3) await new Promise((res) => setImmediate(res));
          child.proc.kill('SIGKILL');
          stop = true;
        };
        await Promise.all([...Array.from({ length: 5 }, (_, w) => bulkWorker(w)), singleWorker(), rootWatcher(), killer()]);
        expect(await child.exited).toBe('SIGKILL');
        expect(proofFailures).toEqual([]);
        expect(lastLogged).toBeDefined();
        expect(lastPublished).toBeDefined();

        child = await startChild(dataDir, 30);
        children.push(child);
        expect(child.size).toBeGreaterThanOrEqual(ackedEvents);
        const log = await readWholeLog(child.url);
        expect(log.size).toBe(child.size);

        // Every acknowledged batch is there, as consecutive leaves in input order.
        const leafOf = new Map(log.events.map((e) => [e.hash, e.leafIndex]));
        for (const batch of acked) {
          const leaves = batch.hashes!.map((h) => leafOf.get(h));
          if (leaves.some((l) => l === undefined)) throw new Error(`acknowledged batch ${batch.id} is missing after the crash`);
          leaves.forEach((leaf, i) => {
            expect(leaf).toBe(leaves[0]! + i);
            expect(log.events[leaf!]!.envelope.event.message).toBe(batch.messages[i]);
          });
        }
        // Unacknowledged batches are all or nothing; nothing is stored that nobody sent.
        const byBatch = new Map<string, StoredEvent[]>();
        for (const e of log.events) {
          const id = e.envelope.event.target as string;
          byBatch.set(id, [...(byBatch.get(id) ?? []), e]);
        }
        const sent = new Map([...acked, ...unacked].map((b) => [b.id, b]));
        let survivors = 0;
        for (const [id, stored] of byBatch) {
          const batch = sent.get(id);
          if (!batch) throw new Error(`stored events of unknown batch ${id}`);
          expect(stored.map((e) => e.envelope.event.message)).toEqual(batch.messages);
          expect(stored.map((e) => e.leafIndex)).toEqual(stored.map((_, i) => stored[0]!.leafIndex + i));
          if (!batch.hashes) survivors++;
        }
        expect(byBatch.size).toBe(acked.length + survivors);
        expect(log.size).toBe(ackedEvents + [...byBatch.keys()].filter((id) => !sent.get(id)!.hashes).reduce((n, id) => n + sent.get(id)!.messages.length, 0));

        // The last unpublished root a client saw before the crash, and the last published one,
        // are prefixes of the new tree (consistency proofs from the restarted service).
        const after = await postOk(child.url, 'v1/log', { event: { message: `c${cycle} after`, target: `c${cycle}-after` }, verbose: true, prev_root: lastLogged!.root });
        const oldSize = leafOf.get(lastLogged!.hash)! + 1;
        expect(verifyMembership({ hash: lastLogged!.hash, proof: lastLogged!.proof, rootHash: lastLogged!.root, position: { leafIndex: oldSize - 1, treeSize: oldSize, oneEventPerLeaf: true } }).status).toBe('PASS');
        expect(verifyConsistency({ oldRootHash: lastLogged!.root, newRootHash: after.unpublished_root, proof: after.consistency_proof, sizes: { oldSize, newSize: log.size + 1 } }).status).toBe('PASS');
        const again = await postOk(child.url, 'v1/log', { event: { message: `c${cycle} after published`, target: `c${cycle}-after-published` }, verbose: true, prev_root: lastPublished!.root_hash });
        expect(verifyConsistency({ oldRootHash: lastPublished!.root_hash, newRootHash: again.unpublished_root, proof: again.consistency_proof, sizes: { oldSize: lastPublished!.size, newSize: log.size + 2 } }).status).toBe('PASS');
        const samePublished = await postOk(child.url, 'v1/root', { tree_size: lastPublished!.size });
        expect(samePublished.data.root_hash).toBe(lastPublished!.root_hash);
        acked.push({ id: `c${cycle}-after`, messages: [`c${cycle} after`], hashes: [after.hash] });
        acked.push({ id: `c${cycle}-after-published`, messages: [`c${cycle} after published`], hashes: [again.hash] });
        ackedEvents += 2;
      }
      expect(unacked.length).toBeGreaterThan(0); // the kills did catch requests in flight
      await killHard(child);
    } finally {
      for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await Promise.all(children.map((c) => c.exited));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('clean restart on the same data directory', () => {
  test('size, roots, proofs, result sets and the generated token carry over', async () => {
    const dataDir = tempDir('audit-restart-');
    const open = (token?: string): Promise<LocalAudit> => startLocalAudit({ dataDir, port: 0, publishIntervalMs: 0, onError: () => {}, ...(token ? { token } : {}) });
    let first: LocalAudit | undefined;
    let second: LocalAudit | undefined;
    try {
      first = await open();
      expect(first.tokenGenerated).toBe(true);
      expect(first.token).toMatch(/^pts_[0-9a-f]{48}$/);
      expect(statSync(join(dataDir, 'token')).mode & 0o777).toBe(0o600);
      const url1 = first.url;
      const call1 = (path: string, body: unknown) => post(url1, path, body, first!.token);
      await call1('v2/log', { events: Array.from({ length: 30 }, (_, i) => ({ event: { message: `before ${i}`, actor: 'before' } })) });
      const single = (await call1('v1/log', { event: { message: 'before single', actor: 'before' }, verbose: true })).result;
      first.publishNow();
      const published = (await call1('v1/root', {})).result.data;
      expect(published.size).toBe(31);
      const roots1 = await Promise.all([1, 2, 17, 31].map(async (size) => (await call1('v1/root', { tree_size: size })).result.data));
      const set = (await call1('v1/search', { query: 'actor:before', limit: 5, order: 'asc' })).result;
      await call1('v2/log', { events: [{ event: { message: 'unpublished before the restart', actor: 'before' } }] });
      const treeName = first.log.treeName;
      await first.close();
      first = undefined;

      second = await open();
      expect(second.tokenGenerated).toBe(false);
      const token = second.token;
      expect(second.log.size).toBe(32);
      expect(second.log.treeName).toBe(treeName);
      const call2 = (path: string, body: unknown, t = token) => post(second!.url, path, body, t);
      expect((await call2('v1/root', {}, 'pts_wrong')).status).toBe('Unauthorized');

      // Published roots are the same records, any size.
      expect((await call2('v1/root', {})).result.data).toEqual({ ...published, url: published.url.replace(url1, second.url) });
      for (const before of roots1) {
        const now = (await call2('v1/root', { tree_size: before.size })).result.data;
        expect({ ...now, url: undefined }).toEqual({ ...before, url: undefined });
      }
      // The result set made before the restart still pages, with proofs against its own roots.
      const page = (await call2('v1/results', { id: set.id, offset: 5, limit: 26 })).result;
      expect(page.count).toBe(31);
      expect(page.events.map((e: Json) => e.envelope.event.message)).toEqual([...Array.from({ length: 25 }, (_, i) => `before ${i + 5}`), 'before single']);
      for (const e of page.events) expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: page.root.root_hash }).status).toBe('PASS');
      // Search still finds the old events (published and not) and proves them.
      const found = (await call2('v1/search', { query: 'actor:before', limit: 100 })).result;
      expect(found.count).toBe(32);
      for (const e of found.events) {
        const root = e.published ? found.root.root_hash : found.unpublished_root.root_hash;
        expect(verifyMembership({ hash: e.hash, proof: e.membership_proof, rootHash: root }).status).toBe('PASS');
      }
      // New events continue the same tree: leaf 32 is next, and the old roots are prefixes.
      const next = (await call2('v1/log', { event: { message: 'after restart' }, verbose: true, prev_root: single.unpublished_root })).result;
      expect(verifyMembership({ hash: next.hash, proof: next.membership_proof, rootHash: next.unpublished_root, position: { leafIndex: 32, treeSize: 33, oneEventPerLeaf: true } }).status).toBe('PASS');
      expect(verifyConsistency({ oldRootHash: single.unpublished_root, newRootHash: next.unpublished_root, proof: next.consistency_proof, sizes: { oldSize: 31, newSize: 33 } }).status).toBe('PASS');
      expect(single.unpublished_root).toBe(published.root_hash);
      second.publishNow();
      const latest = (await call2('v1/root', {})).result.data;
      const prev = (await call2('v1/root', { tree_size: 32 })).result.data;
      expect(latest.size).toBe(33);
      expect(latest.root_hash).toBe(next.unpublished_root);
      expect(verifyConsistency({ oldRootHash: prev.root_hash, newRootHash: latest.root_hash, proof: latest.consistency_proof, sizes: { oldSize: 32, newSize: 33 } }).status).toBe('PASS');
      await second.close();
      second = undefined;

      // A configured token replaces the stored one for that run only; the file is left alone.
      const third = await open('configured-token');
      try {
        expect(third.token).toBe('configured-token');
        expect((await post(third.url, 'v1/root', {}, token)).status).toBe('Unauthorized');
      } finally {
        await third.close();
      }
      const fourth = await open();
      expect(fourth.token).toBe(token);
      await fourth.close();
    } finally {
      await first?.close();
      await second?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('many concurrent clients', () => {
  test('v1/log and v2/log at once: no duplicate leaf, batches contiguous in input order, every served root a prefix of the final tree', async () => {
    const svc = await startTestService({ token: TOKEN, publishIntervalMs: 5 });
    try {
      interface Single { hash: string; root: string; proof: string; message: string }
      interface Bulk { messages: string[]; hashes: string[] }
      const singles: Single[] = [];
      const bulks: Bulk[] = [];
      const client = async (c: number): Promise<void> => {
        // Each client keeps three requests in flight.
        await Promise.all(
          [0, 1, 2].map(async (lane) => {
            for (let n = 0; n < 8; n++) {
              const tag = `k${c}-${lane}-${n}`;
              if ((c + n) % 3 === 0) {
                const r = await postOk(svc.url, 'v1/log', { event: { message: tag, actor: `k${c}` }, verbose: true });
                singles.push({ hash: r.hash, root: r.unpublished_root, proof: r.membership_proof, message: tag });
              } else {
                const messages = Array.from({ length: 1 + ((c * 13 + n * 7 + lane) % 60) }, (_, i) => `${tag} #${i}`);
                const r = await postOk(svc.url, 'v2/log', { events: messages.map((message) => ({ event: { message, actor: `k${c}` } })), verbose: true });
                expect(r.results.map((x: Json) => x.envelope.event.message)).toEqual(messages);
                bulks.push({ messages, hashes: r.results.map((x: Json) => x.hash) });
              }
            }
          }),
        );
      };
      await Promise.all(Array.from({ length: 12 }, (_, c) => client(c)));
      svc.publishNow();
      const log = await readWholeLog(svc.url);
      const sentEvents = singles.length + bulks.reduce((n, b) => n + b.messages.length, 0);
      expect(log.size).toBe(sentEvents);
      const leafOf = new Map(log.events.map((e) => [e.hash, e.leafIndex]));
      expect(leafOf.size).toBe(log.size); // no two leaves share a hash (each event is distinct)
      // received_at follows leaf order.
      for (let i = 1; i < log.size; i++) expect(log.events[i]!.envelope.received_at > log.events[i - 1]!.envelope.received_at).toBe(true);
      for (const b of bulks) {
        const first = leafOf.get(b.hashes[0]!)!;
        expect(b.hashes.map((h) => leafOf.get(h))).toEqual(b.hashes.map((_, i) => first + i));
        expect(b.hashes.map((h) => log.events[leafOf.get(h)!]!.envelope.event.message)).toEqual(b.messages);
      }
      // Every root a v1/log answer carried is the root of a prefix of the final tree, and its
      // membership proof puts the event at the last leaf of that prefix.
      const tree = new MemoryTree();
      for (const e of log.events) tree.append(digestFromHex(e.hash)!);
      for (const s of singles) {
        const leaf = leafOf.get(s.hash)!;
        expect(log.events[leaf]!.envelope.event.message).toBe(s.message);
        expect(bytesToHex(tree.root(leaf + 1))).toBe(s.root);
        expect(verifyMembership({ hash: s.hash, proof: s.proof, rootHash: s.root, position: { leafIndex: leaf, treeSize: leaf + 1, oneEventPerLeaf: true } }).status).toBe('PASS');
      }
      // And the service proves it: consistency from a spread of those roots to the current tree.
      const sample = singles.filter((_, i) => i % Math.max(1, Math.floor(singles.length / 8)) === 0);
      for (const s of sample) {
        const r = await postOk(svc.url, 'v1/log', { event: { message: `probe ${s.message}` }, verbose: true, prev_root: s.root });
        const oldSize = leafOf.get(s.hash)! + 1;
        expect(verifyConsistency({ oldRootHash: s.root, newRootHash: r.unpublished_root, proof: r.consistency_proof, sizes: { oldSize, newSize: svc.log.size } }).status).toBe('PASS');
      }
      // Roots published while the clients were writing are prefixes too.
      for (const size of [1, 2, 3, Math.floor(log.size / 3), Math.floor(log.size / 2), log.size - 1, log.size]) {
        const root = (await postOk(svc.url, 'v1/root', { tree_size: size })).data;
        expect(root.root_hash).toBe(bytesToHex(tree.root(size)));
      }
    } finally {
      await svc.destroy();
    }
  });
});
