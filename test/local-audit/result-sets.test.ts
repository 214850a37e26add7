// Result sets as stored (store/result-sets.ts, store/leaf-list.ts): leaf lists round-trip through
// their compact encoding for any slice, ids name their row and must match its secret, expired sets
// are purged, and sets asked for in one turn of the event loop are committed together, before any
// of their ids is given out.
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { join } from 'node:path';
import { STANDARD_SCHEMA } from '../../src/local-audit/audit-schema.js';
import { openDatabase } from '../../src/local-audit/store/database.js';
import { decodeLeafList, encodeLeafList } from '../../src/local-audit/store/leaf-list.js';
import { ResultSetStore } from '../../src/local-audit/store/result-sets.js';
import { tempDir } from '../support/local-audit.js';

const LEAF_LIMIT = 2 ** 51;

test('a leaf list round-trips through its encoding, whole and in any slice', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: LEAF_LIMIT - 1 })), { maxLength: 300 }),
      fc.nat({ max: 320 }),
      fc.nat({ max: 320 }),
      (leaves, offset, limit) => {
        const encoded = encodeLeafList(leaves);
        expect(decodeLeafList(encoded)).toEqual(leaves);
        expect(decodeLeafList(encoded, offset, limit)).toEqual(leaves.slice(offset, offset + limit));
      },
    ),
    { numRuns: 500 },
  );
});

test('results in leaf order take about a byte each; a damaged list is an error, not wrong leaves', () => {
  const descending = Array.from({ length: 400 }, (_, i) => 1_000_000 - i);
  const encoded = encodeLeafList(descending);
  expect(encoded.length).toBeLessThanOrEqual(403);
  expect(() => decodeLeafList(encoded.subarray(0, 2))).toThrow(RangeError); // ends inside the first number
});

describe('ResultSetStore', () => {
  let db: Database.Database;
  let store: ResultSetStore;
  const base = { createdAt: '2026-01-01T00:00:00.000000Z', treeSize: 50, publishedSize: 40, restriction: null, verbose: true };

  beforeEach(() => {
    db = openDatabase(join(tempDir('result-sets-'), 'audit.sqlite'), STANDARD_SCHEMA);
    store = new ResultSetStore(db);
  });
  afterEach(() => db.close());

  test('ids have the service shape, name their row and must carry its secret', () => {
    const now = Date.now();
    const a = store.create({ ...base, expiresAtMs: now + 60_000 }, [5, 4, 3]);
    const b = store.create({ ...base, expiresAtMs: now + 60_000 }, [9]);
    for (const set of [a, b]) expect(set.id).toMatch(/^pas_[0-9a-z]{32}$/);
    expect(store.get(a.id)).toEqual(a);
    expect(store.page(store.get(a.id)!, 1, 5)).toEqual([4, 3]);
    expect(store.all(store.get(b.id)!)).toEqual([9]);
    // "pas_" + 25 characters naming the row + 7 stored ones.
    const row = (id: string): string => id.slice(4, 29);
    const swapped = `pas_${row(a.id)}${b.id.slice(29)}`; // a's row, b's random part
    expect(store.get(swapped)).toBeUndefined();
    for (const position of [4, 17, 28, 31]) {
      // Any one character changed: refused (the row part no longer decrypts to a row; the rest no longer matches).
      const changed = a.id.slice(0, position) + (a.id[position] === 'a' ? 'b' : 'a') + a.id.slice(position + 1);
      expect(store.get(changed)).toBeUndefined();
    }
    expect(store.get('pas_' + 'z'.repeat(32))).toBeUndefined();
    expect(store.get('not an id')).toBeUndefined();
  });

  test('ids do not show how many sets were made', () => {
    const rows = Array.from({ length: 20 }, () => store.create({ ...base, expiresAtMs: Date.now() + 60_000 }, [1]).id.slice(4, 29));
    expect([...rows].sort()).not.toEqual(rows); // sorted by chance: 1 in 20!
    expect(new Set(rows.map((r) => r.slice(0, 20))).size).toBe(20); // no shared (counter) prefix
  });

  test('purges read an expiry index, not every row', () => {
    const plan = (sql: string): string => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(Date.now()) as Array<{ detail: string }>).map((p) => p.detail).join('; ');
    // The statements of store/result-sets.ts, store/download-store.ts and store/job-store.ts.
    expect(plan('DELETE FROM search_results WHERE expires_at_ms < ?')).toMatch(/USING (COVERING )?INDEX search_results_expiry/);
    expect(plan('DELETE FROM downloads WHERE expires_at_ms <= ?')).toMatch(/USING (COVERING )?INDEX downloads_expiry/);
    expect(plan(`DELETE FROM jobs WHERE state != 'pending' AND expires_at_ms < ?`)).toMatch(/USING INDEX jobs_expiry/);
  });

  test('sets asked for in one turn are written in one commit, and only then resolve', async () => {
    const other = new Database(db.name, { readonly: true });
    try {
      const commits = other.prepare('PRAGMA data_version').pluck();
      const before = commits.get() as number;
      const pending = Array.from({ length: 10 }, (_, i) => store.createBatched({ ...base, expiresAtMs: Date.now() + 60_000 }, [i, i + 1]));
      // Nothing is written during the turn that asked.
      expect(other.prepare('SELECT count(*) FROM search_results').pluck().get()).toBe(0);
      const created = await Promise.all(pending);
      // One commit for the ten (another connection's data_version moves once per commit it sees).
      expect((commits.get() as number) - before).toBe(1);
      expect(other.prepare('SELECT count(*) FROM search_results').pluck().get()).toBe(10);
      created.forEach((set, i) => {
        expect(store.get(set.id)).toEqual(set);
        expect(store.all(set)).toEqual([i, i + 1]);
      });
      expect(new Set(created.map((s) => s.id)).size).toBe(10);
    } finally {
      other.close();
    }
  });

  test('a batch that cannot be written refuses every set in it and leaves nothing behind', async () => {
    const good = (): Promise<unknown> => store.createBatched({ ...base, expiresAtMs: Date.now() + 60_000 }, [1]);
    // tree_size is NOT NULL: this one fails inside the batch's transaction.
    const bad = store.createBatched({ ...base, treeSize: null as unknown as number, expiresAtMs: Date.now() + 60_000 }, [2]);
    const results = await Promise.allSettled([good(), bad, good()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/NOT NULL/);
    expect(db.prepare('SELECT count(*) FROM search_results').pluck().get()).toBe(0);
    // The next turn's batch is written as usual.
    await expect(good()).resolves.toMatchObject({ count: 1 });
  });

  test('flush writes what is queued at once (the service calls it when it closes)', async () => {
    const pending = store.createBatched({ ...base, expiresAtMs: Date.now() + 60_000 }, [5, 6]);
    store.flush();
    expect(db.prepare('SELECT count(*) FROM search_results').pluck().get()).toBe(1);
    const set = await pending;
    expect(store.all(set)).toEqual([5, 6]);
  });

  test('a reopened database reads the ids it issued', () => {
    const set = store.create({ ...base, expiresAtMs: Date.now() + 60_000 }, [3, 2, 1]);
    const file = db.name;
    db.close();
    db = openDatabase(file, STANDARD_SCHEMA);
    store = new ResultSetStore(db);
    expect(store.get(set.id)).toEqual(set);
    expect(store.all(store.get(set.id)!)).toEqual([3, 2, 1]);
  });

  test('expired sets are not found and are purged; live ones stay', () => {
    const now = Date.now();
    const live = store.create({ ...base, expiresAtMs: now + 60_000 }, [1, 2]);
    const expired = store.create({ ...base, expiresAtMs: now - 1 }, [3]);

    expect(store.get(expired.id)).toBeUndefined(); // expired, still stored
    expect(store.purgeExpired(now)).toBe(1);
    expect(db.prepare('SELECT count(*) FROM search_results').pluck().get()).toBe(1);
    expect(store.get(live.id)).toEqual(live);
    expect(store.page(live, 1, 10)).toEqual([2]);
  });

  test('an id that names no row of search_results is not found', () => {
    expect(store.get('pas_' + 'a'.repeat(32))).toBeUndefined();
  });
});
