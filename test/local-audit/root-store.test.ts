// The root store answers the latest published size and the publication covering a size from the
// newest records it keeps in memory (store/root-store.ts). What it answers must always be what the
// table says: checked for every size, against the table read through a second connection, with
// more publications than memory keeps, after a publication that was already there, and after
// another connection wrote to the table (seen once the store is told to reload, as the service is
// after its data_version check).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { STANDARD_SCHEMA } from '../../src/local-audit/audit-schema.js';
import { openDatabase } from '../../src/local-audit/store/database.js';
import { RootStore, type PublishedRecord } from '../../src/local-audit/store/root-store.js';
import { tempDir } from '../support/local-audit.js';

const record = (size: number, tag = ''): PublishedRecord => ({
  size,
  root_hash: `${tag}${size}`.padStart(64, '0'),
  published_at: `2026-12-06T00:00:${String(size % 60).padStart(2, '0')}.000000Z`,
  consistency_proof: size > 1 ? JSON.stringify([`x:${tag}${size}`]) : null,
});

function open(): { store: RootStore; other: Database.Database; path: string } {
  const path = join(tempDir('root-store-'), 'audit.db');
  const db = openDatabase(path, STANDARD_SCHEMA);
  return { store: new RootStore(db), other: new Database(path), path };
}

/** What the table says: the latest size, and for each size the first publication at or above it. */
function fromTable(other: Database.Database, maxSize: number): { latest: number; covering: Array<PublishedRecord | undefined> } {
  const rows = other.prepare('SELECT size, root_hash, published_at, consistency_proof FROM published_roots ORDER BY size').all() as PublishedRecord[];
  const covering: Array<PublishedRecord | undefined> = [];
  for (let size = 1; size <= maxSize; size++) covering[size] = rows.find((r) => r.size >= size);
  return { latest: rows.at(-1)?.size ?? 0, covering };
}

function expectSameAsTable(store: RootStore, other: Database.Database, maxSize: number): void {
  const table = fromTable(other, maxSize);
  expect(store.latestSize()).toBe(table.latest);
  const differing: number[] = [];
  for (let size = 1; size <= maxSize; size++) {
    const got = store.covering(size);
    const want = table.covering[size];
    if (JSON.stringify(got) !== JSON.stringify(want)) differing.push(size);
  }
  expect(differing).toEqual([]);
}

test('with more publications than memory keeps, every size is covered as the table says', () => {
  const { store, other } = open();
  expect(store.latestSize()).toBe(0);
  expect(store.covering(1)).toBeUndefined();
  // Uneven steps, 700 publications: far more than the records kept in memory.
  let size = 0;
  for (let i = 0; i < 700; i++) {
    size += 1 + (i % 7);
    store.publish(record(size));
    if (i % 97 === 0) expectSameAsTable(store, other, size + 3);
  }
  expectSameAsTable(store, other, size + 3);
  // A fresh store reads the same table back.
  const again = new RootStore(openDatabase(other.name, STANDARD_SCHEMA));
  expectSameAsTable(again, other, size + 3);
});

test('a publication that was already in the table does not leave memory saying otherwise', () => {
  const { store, other } = open();
  for (let size = 10; size <= 50; size += 10) store.publish(record(size));
  expectSameAsTable(store, other, 55);
  // The table keeps the first record of a size (INSERT OR IGNORE): a repeat changes nothing.
  store.publish(record(30, 'again'));
  store.publish(record(50, 'again'));
  expectSameAsTable(store, other, 55);
  expect(store.covering(25)?.root_hash).toBe(record(30).root_hash);
  // A newer size that another connection recorded first: this publication is ignored too, and
  // memory must not hold it as this store's.
  const theirs = record(60, 'theirs');
  other.prepare('INSERT INTO published_roots (size, root_hash, published_at, consistency_proof) VALUES (?, ?, ?, ?)').run(theirs.size, theirs.root_hash, theirs.published_at, theirs.consistency_proof);
  store.publish(record(60));
  expectSameAsTable(store, other, 65);
  expect(store.covering(60)?.root_hash).toBe(theirs.root_hash);
});

test('what another connection wrote is answered once the store reloads', () => {
  const { store, other } = open();
  for (let size = 10; size <= 100; size += 10) store.publish(record(size));
  expectSameAsTable(store, other, 105);
  const insert = other.prepare('INSERT INTO published_roots (size, root_hash, published_at, consistency_proof) VALUES (?, ?, ?, ?)');
  const forged = record(45, 'forged');
  insert.run(forged.size, forged.root_hash, forged.published_at, forged.consistency_proof);
  const newer = record(130, 'other');
  insert.run(newer.size, newer.root_hash, newer.published_at, newer.consistency_proof);
  other.prepare('DELETE FROM published_roots WHERE size = 20').run();
  store.reload();
  expectSameAsTable(store, other, 135);
  expect(store.covering(41)?.root_hash).toBe(forged.root_hash);
  expect(store.latestSize()).toBe(130);
  // Publishing on top of that keeps answering as the table does.
  store.publish(record(140));
  expectSameAsTable(store, other, 145);
});
