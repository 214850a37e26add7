// The gateway's own verification, end to end: honest data verifies, then the local service's
// SQLite file is tampered with directly (better-sqlite3 on <dataDir>/audit.sqlite while the
// service runs; WAL mode allows a second connection) and a new search must show exactly the
// affected events failing, with reasons, while every other event still passes. Each case starts
// from its own gateway and honest log, already searched once (so the gateway has verified and
// cached the honest published roots), and makes only its own changes. Honest data also stays
// verified when far more events arrive between two searches than one result set holds.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { AuditClient } from '../../src/audit-client/index.js';
import { startTestGateway, type Json } from '../support/gateway.js';

const SEARCH = `
  query Search($query: String!) {
    search(query: $query, order: ASC, first: 1000) {
      __typename
      ... on AuditEventConnection {
        totalCount
        root { size }
        unpublishedRoot { size }
        edges { node { hash message published leafIndex signature verification { hash membership consistency signature verified verdict verdictReason failures } } }
      }
      ... on Error { message }
    }
  }`;

type Status = 'PASS' | 'FAIL' | 'NONE';
interface Expected {
  hash: Status;
  membership: Status;
  consistency: Status;
  signature: Status;
}

const PUBLISHED = 31; // leaves 0..30 are published; 31 and 32 are not

/** A fresh gateway over an honest log of 33 events, searched once and verified as honest. */
async function honestLog() {
  const gw = await startTestGateway({ signingKey: true });
  /** Stored hash of each leaf, from the honest log (envelope tampering does not change it). */
  const hashOf: string[] = [];
  /** What each leaf's verification should be now, by leaf index. */
  const expected = new Map<number, Expected>();
  const deleted = new Set<number>();
  let db: Database.Database | undefined;

  const search = async (): Promise<Json> => {
    const found = (await gw.runOk(SEARCH, { query: 'actor:tamper' })).search;
    expect(found.__typename).toBe('AuditEventConnection');
    return found;
  };

  /** Searches and checks every event against `expected`; returns the nodes by leaf. */
  const checkAll = async (): Promise<Map<number, Json>> => {
    const found = await search();
    expect(found.totalCount).toBe(hashOf.length - deleted.size);
    const byLeaf = new Map<number, Json>();
    for (const { node } of found.edges) {
      const leaf = hashOf.indexOf(node.hash);
      expect(leaf).toBeGreaterThanOrEqual(0);
      byLeaf.set(leaf, node);
      const want = expected.get(leaf)!;
      const { hash, membership, consistency, signature, verified, verdict, verdictReason, failures } = node.verification;
      expect({ leaf, hash, membership, consistency, signature }).toEqual({ leaf, ...want });
      const failed = (Object.keys(want) as Array<keyof Expected>).filter((k) => want[k] === 'FAIL');
      // Verified means proven: nothing failed and the event is published under a verified root.
      const wantVerdict = failed.length > 0 ? 'FAILED' : leaf < PUBLISHED ? 'VERIFIED' : 'PENDING';
      expect({ leaf, verdict, verified }).toEqual({ leaf, verdict: wantVerdict, verified: wantVerdict === 'VERIFIED' });
      if (wantVerdict === 'PENDING') expect(verdictReason).toMatch(/^consistency: .*not published/);
      if (wantVerdict === 'FAILED') expect(verdictReason).toBe(failures[0]);
      // One reason per failed check, naming the check.
      expect(failures.map((f: string) => f.split(':')[0])).toEqual(failed);
      for (const f of failures) expect(f.length).toBeGreaterThan(`${f.split(':')[0]}: `.length);
    }
    for (const leaf of deleted) expect(byLeaf.has(leaf)).toBe(false);
    return byLeaf;
  };

  try {
    const events = Array.from({ length: 30 }, (_, i) => ({ message: `t${String(i).padStart(2, '0')}`, actor: 'tamper' }));
    const bulk = (await gw.runOk(`mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { ... on LogBulkResult { results { hash } } } }`, { e: events })).logBulk;
    hashOf.push(...bulk.results.map((r: Json) => r.hash));
    const logOne = async (message: string, signLocal: boolean): Promise<void> => {
      const r = (await gw.runOk(`mutation L($e: AuditEventInput!, $o: LogOptions) { log(event: $e, options: $o) { ... on LogResult { hash } } }`, {
        e: { message, actor: 'tamper' },
        o: { signLocal },
      })).log;
      hashOf.push(r.hash);
    };
    await logOne('signed-published', true); // leaf 30
    gw.publish();
    await logOne('unpublished', false); // leaf 31
    await logOne('signed-unpublished', true); // leaf 32
    for (let leaf = 0; leaf < hashOf.length; leaf++) {
      const published = leaf < PUBLISHED;
      const signed = leaf === 30 || leaf === 32;
      expected.set(leaf, { hash: 'PASS', membership: 'PASS', consistency: published ? 'PASS' : 'NONE', signature: signed ? 'PASS' : 'NONE' });
    }
    // The honest state, verified: this also has the gateway fetch and cache the published roots.
    await checkAll();
    db = new Database(join(gw.dataDir, 'audit.sqlite'));
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    db?.close();
    await gw.close();
    throw err;
  }
  const sqlite = db;

  return {
    gw,
    db: sqlite,
    hashOf,
    expected,
    deleted,
    search,
    checkAll,
    envelopeOf: (leaf: number): string => (sqlite.prepare('SELECT envelope FROM events WHERE leaf_index = ?').get(leaf) as { envelope: string }).envelope,
    setEnvelope: (leaf: number, text: string): void => {
      expect(sqlite.prepare('UPDATE events SET envelope = ? WHERE leaf_index = ?').run(text, leaf).changes).toBe(1);
    },
    close: async (): Promise<void> => {
      sqlite.close();
      await gw.close();
    },
  };
}

type HonestLog = Awaited<ReturnType<typeof honestLog>>;

describe('verification of honest and tampered data', () => {
  let log: HonestLog | undefined;
  beforeEach(async () => {
    log = await honestLog();
  });
  afterEach(async () => {
    await log?.close();
    log = undefined;
  });

  test('honest data: published events pass every check, unpublished have no consistency, unsigned no signature', async () => {
    const { search, checkAll } = log!;
    const found = await search();
    expect(found.totalCount).toBe(33);
    expect(found.root.size).toBe(PUBLISHED);
    expect(found.unpublishedRoot.size).toBe(33);
    const byLeaf = await checkAll();
    expect(byLeaf.get(0).leafIndex).toBe(0);
    expect(byLeaf.get(30)).toMatchObject({ published: true, leafIndex: 30, message: 'signed-published' });
    expect(byLeaf.get(31)).toMatchObject({ published: false, leafIndex: null, message: 'unpublished' });
    expect(byLeaf.get(32).signature).toMatch(/\S/);
  });

  test('(a) a changed envelope fails its hash (and its signature when signed); its proof still holds', async () => {
    const { expected, checkAll, envelopeOf, setEnvelope } = log!;
    for (const leaf of [5, 30, 31, 32]) {
      const text = envelopeOf(leaf);
      const envelope = JSON.parse(text);
      envelope.event.message = `${envelope.event.message} (edited)`;
      setEnvelope(leaf, JSON.stringify(envelope));
    }
    // The stored hash and tree are untouched, so membership (and consistency) still pass: the
    // proof is of the stored hash, which the changed envelope no longer hashes to.
    expected.set(5, { hash: 'FAIL', membership: 'PASS', consistency: 'PASS', signature: 'NONE' });
    expected.set(30, { hash: 'FAIL', membership: 'PASS', consistency: 'PASS', signature: 'FAIL' });
    expected.set(31, { hash: 'FAIL', membership: 'PASS', consistency: 'NONE', signature: 'NONE' });
    expected.set(32, { hash: 'FAIL', membership: 'PASS', consistency: 'NONE', signature: 'FAIL' });
    const byLeaf = await checkAll();
    // The gateway shows what is stored (the edited text) next to the failure.
    expect(byLeaf.get(5).message).toBe('t05 (edited)');
    expect(byLeaf.get(30).verification.failures[0]).toMatch(/^hash: /);
    expect(byLeaf.get(30).verification.failures[1]).toMatch(/^signature: /);
  });

  test('(a2) reformatted text is not tampering (the hash covers canonical JSON); a changed received_at is', async () => {
    const { expected, checkAll, envelopeOf, setEnvelope } = log!;
    // Same JSON value, different text: the gateway re-canonicalises the envelope, so it still passes.
    const text = envelopeOf(7);
    setEnvelope(7, JSON.stringify(JSON.parse(text), null, 2));
    await checkAll();
    // A changed received_at (the envelope, not the event) fails the hash but not the signature.
    const envelope = JSON.parse(envelopeOf(8));
    envelope.received_at = '2000-01-01T00:00:00.000000Z';
    setEnvelope(8, JSON.stringify(envelope));
    expected.set(8, { hash: 'FAIL', membership: 'PASS', consistency: 'PASS', signature: 'NONE' });
    await checkAll();
  });

  test('(b) a deleted event disappears from search; every remaining event is unaffected', async () => {
    const { db, deleted, checkAll } = log!;
    expect(db.prepare('DELETE FROM events WHERE leaf_index = ?').run(9).changes).toBe(1);
    deleted.add(9);
    const byLeaf = await checkAll();
    expect(byLeaf.size).toBe(32);
    expect(byLeaf.get(10).verification.verified).toBe(true);
  });

  test('(c) swapped envelopes fail the hash of both events; the texts show the swap', async () => {
    const { expected, checkAll, envelopeOf, setEnvelope } = log!;
    const twelve = envelopeOf(12);
    const thirteen = envelopeOf(13);
    setEnvelope(12, thirteen);
    setEnvelope(13, twelve);
    expected.set(12, { hash: 'FAIL', membership: 'PASS', consistency: 'PASS', signature: 'NONE' });
    expected.set(13, { hash: 'FAIL', membership: 'PASS', consistency: 'PASS', signature: 'NONE' });
    const byLeaf = await checkAll();
    expect(byLeaf.get(12).message).toBe('t13');
    expect(byLeaf.get(13).message).toBe('t12');
  });

  test('(d) an envelope that is not an object, or has no event, fails its hash; the page still renders', async () => {
    const { gw, hashOf, expected, checkAll, envelopeOf, setEnvelope } = log!;
    setEnvelope(15, 'null');
    const noEvent = JSON.parse(envelopeOf(16));
    delete noEvent.event;
    setEnvelope(16, JSON.stringify(noEvent));
    setEnvelope(17, JSON.stringify({ ...JSON.parse(envelopeOf(17)), event: 'not an object' }));
    for (const leaf of [15, 16, 17]) expected.set(leaf, { hash: 'FAIL', membership: 'PASS', consistency: 'PASS', signature: 'NONE' });
    const byLeaf = await checkAll();
    expect(byLeaf.get(15)).toMatchObject({ message: null, signature: null, published: true, leafIndex: 15 });
    expect(byLeaf.get(16).message).toBeNull();
    expect(byLeaf.get(17).message).toBeNull();
    const raw = (await gw.runOk(`query { search(query: "actor:tamper", order: ASC, first: 1000) { ... on AuditEventConnection { edges { node { hash receivedAt event envelope } } } } }`)).search;
    const node = (leaf: number): Json => raw.edges.find((e: Json) => e.node.hash === hashOf[leaf]).node;
    expect(node(15)).toMatchObject({ envelope: null, event: null, receivedAt: null });
    expect(node(16).event).toBeNull();
    expect(node(16).receivedAt).toBe(noEvent.received_at);
    expect(node(17).event).toBe('not an object');
  });

  test('(e) a tampered tree node fails membership of exactly the events whose proofs use it', async () => {
    const { db, expected, checkAll } = log!;
    // Node (level 1, idx 10) is the hash of leaves 20 and 21. It is the sibling on the proofs of
    // leaves 22 and 23 (node (1, 11)); the proofs of 20 and 21 use (1, 11) and higher nodes instead.
    const node = db.prepare('SELECT hash FROM nodes WHERE level = 1 AND idx = 10').get() as { hash: Buffer };
    const forged = Buffer.from(node.hash);
    forged[0] = forged[0]! ^ 0xff;
    expect(db.prepare('UPDATE nodes SET hash = ? WHERE level = 1 AND idx = 10').run(forged).changes).toBe(1);
    // Published events prove membership against the published root the service recorded at
    // publish time (honest), so the forged sibling makes their proofs fail. Consistency compares
    // published roots this gateway fetched and cached by the honest search (a published root
    // never changes).
    expected.set(22, { hash: 'PASS', membership: 'FAIL', consistency: 'PASS', signature: 'NONE' });
    expected.set(23, { hash: 'PASS', membership: 'FAIL', consistency: 'PASS', signature: 'NONE' });
    const byLeaf = await checkAll();
    expect(byLeaf.get(22).verification.failures[0]).toMatch(/^membership: /);
    expect(byLeaf.get(20).verification.membership).toBe('PASS');
  });

  test('(f) a forged published root fails membership of every published event, not of unpublished ones', async () => {
    const { gw, db, expected, checkAll } = log!;
    const forged = 'ab'.repeat(32);
    expect(db.prepare('UPDATE published_roots SET root_hash = ? WHERE size = ?').run(forged, PUBLISHED).changes).toBe(1);
    for (let leaf = 0; leaf < PUBLISHED; leaf++) {
      const e = expected.get(leaf)!;
      expected.set(leaf, { ...e, membership: 'FAIL', consistency: 'FAIL' });
    }
    const found = (await gw.runOk(`query { search(query: "actor:tamper", first: 1) { ... on AuditEventConnection { root { size rootHash history historyReason } } } }`)).search;
    // The page shows the root the service claims; the proofs do not lead to it, and it is not the
    // root of that size the gateway verified: consistency fails for every published event.
    expect(found.root.history).toBe('FAIL');
    expect(found.root.historyReason).toMatch(/but the gateway verified [0-9a-f]{64} for that size: the audit service serves another history/);
    delete found.root.history;
    delete found.root.historyReason;
    expect(found.root).toEqual({ size: PUBLISHED, rootHash: forged });
    await checkAll();
    // The forged root did not replace the one the gateway saw first: Query.root shows the claim
    // and its consistency check against the cached root of size-1 fails.
    const root = (await gw.runOk(`query { root { __typename ... on PublishedRoot { size rootHash consistency consistencyFailure } } }`)).root;
    expect(root).toMatchObject({ size: PUBLISHED, rootHash: forged, consistency: 'FAIL' });
    expect(root.consistencyFailure).toMatch(/\S/);
    // A second search still verifies against the honest cached roots, not the forged one.
    await checkAll();
  });
});

describe('a burst of writes between two searches', () => {
  test('events verified before it stay VERIFIED: the new root, more than one result set past the verified history, is proven on the way', async () => {
    const gw = await startTestGateway();
    const client = new AuditClient({ baseUrl: gw.local!.url, token: gw.local!.token });
    const page = `query { search(query: "actor:before-burst", first: 20) { ... on AuditEventConnection { root { size history } edges { node { published verification { verdict verdictReason } } } } ... on Error { message } } }`;
    try {
      await client.logBulk({ events: Array.from({ length: 20 }, (_, i) => ({ event: { message: `before ${i}`, actor: 'before-burst' } })) });
      gw.publish();
      const before = (await gw.runOk(page)).search;
      expect(before.edges.map((e: Json) => e.node.verification.verdict)).toEqual(Array(20).fill('VERIFIED'));
      // More than one result set (10,000 events) past the root the gateway verified last.
      for (let i = 0; i < 25; i++) await client.logBulk({ events: Array.from({ length: 1000 }, (_, j) => ({ event: { message: `burst ${i}.${j}`, actor: 'burst' } })) });
      gw.publish();
      const after = (await gw.runOk(page)).search;
      expect(after.root).toEqual({ size: 25_020, history: 'PASS' });
      expect(after.edges.map((e: Json) => [e.node.published, e.node.verification.verdict, e.node.verification.verdictReason])).toEqual(Array(20).fill([true, 'VERIFIED', null]));
    } finally {
      await client.close();
      await gw.close();
    }
  });
});
