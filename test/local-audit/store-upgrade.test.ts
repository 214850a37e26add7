// Data directories written by earlier versions of the local service keep working: opening one
// keeps its events, published roots and current result sets, adds the stored consistency proof
// column to published_roots, and drops the result sets of the old layout (result_sets and
// result_items: they live a day, so a set made before the upgrade is NotFound like an expired one).
// Events tables laid out in the earlier column order (hash and envelope before the fields) are
// used as they are.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { hashEnvelope } from '../../src/merkle/index.js';
import { startTestService, tempDir } from '../support/local-audit.js';

type Json = Record<string, any>;

/** The service's own address (in root URLs) changes with the port of each start. */
const sameOrigin = <T,>(value: T): T => JSON.parse(JSON.stringify(value).replace(/http:\/\/127\.0\.0\.1:\d+\//g, 'http://service/'));

test('an old data directory opens: events and roots intact, result sets of the old layout gone', async () => {
  const dataDir = tempDir('audit-upgrade-');
  const first = await startTestService({ dataDir });
  await first.post('v2/log', { events: Array.from({ length: 57 }, (_, i) => ({ event: { message: `m${i}`, actor: i % 3 === 0 ? 'old' : 'other' } })) });
  first.publishNow();
  await first.post('v2/log', { events: [{ event: { message: 'later', actor: 'old' } }] });
  first.publishNow();
  const search = await first.post<Json>('v1/search', { query: 'actor:old', limit: 5 });
  expect(search.status).toBe('Success');
  const pages = async (svc: typeof first): Promise<Json[]> => {
    const out: Json[] = [];
    for (let offset = 0; offset < search.result.count; offset += 5) {
      const page = await svc.post<Json>('v1/results', { id: search.result.id, offset, limit: 5 });
      expect(page.status).toBe('Success');
      out.push(page.result);
    }
    return out;
  };
  const before = sameOrigin(await pages(first));
  const eventsBefore = (await first.post<Json>('v1/search', { query: '', limit: 100 })).result.events.map((e: Json) => e.hash);
  expect(eventsBefore).toHaveLength(58);
  const rootBefore = sameOrigin((await first.post<Json>('v1/root', { tree_size: 57 })).result.data);
  const latestBefore = sameOrigin((await first.post<Json>('v1/root', {})).result.data);
  await first.close();

  // Add the old layout's result sets (a live one with its items) and drop the stored proofs.
  const oldId = 'pas_' + 'a'.repeat(32);
  const raw = new Database(join(dataDir, 'audit.sqlite'));
  raw.pragma('foreign_keys = ON');
  raw.transaction(() => {
    raw.exec(`CREATE TABLE result_sets (
      id TEXT PRIMARY KEY, created_at TEXT NOT NULL, expires_at_ms INTEGER NOT NULL,
      tree_size INTEGER NOT NULL, published_size INTEGER NOT NULL, count INTEGER NOT NULL, restriction TEXT)`);
    raw.exec(`CREATE TABLE result_items (
      set_id TEXT NOT NULL REFERENCES result_sets(id) ON DELETE CASCADE,
      pos INTEGER NOT NULL, leaf_index INTEGER NOT NULL, PRIMARY KEY (set_id, pos)) WITHOUT ROWID`);
    raw.prepare('INSERT INTO result_sets (id, created_at, expires_at_ms, tree_size, published_size, count, restriction) VALUES (?, ?, ?, 58, 57, 3, NULL)')
      .run(oldId, new Date().toISOString(), Date.now() + 86_400_000);
    const insert = raw.prepare('INSERT INTO result_items (set_id, pos, leaf_index) VALUES (?, ?, ?)');
    [3, 2, 1].forEach((leaf, pos) => insert.run(oldId, pos, leaf));
    raw.exec('ALTER TABLE published_roots DROP COLUMN consistency_proof');
  })();
  raw.close();

  const again = await startTestService({ dataDir });
  try {
    expect((await again.post<Json>('v1/search', { query: '', limit: 100 })).result.events.map((e: Json) => e.hash)).toEqual(eventsBefore);
    expect(sameOrigin(await pages(again))).toEqual(before);
    expect(sameOrigin((await again.post<Json>('v1/root', { tree_size: 57 })).result.data)).toEqual(rootBefore);
    expect(sameOrigin((await again.post<Json>('v1/root', {})).result.data)).toEqual(latestBefore);
    const tables = again.log.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all();
    expect(tables).not.toContain('result_sets');
    expect(tables).not.toContain('result_items');
    expect((await again.post<Json>('v1/results', { id: oldId, offset: 0, limit: 3 })).status).toBe('NotFound');
    // Roots published from now on carry their stored proof again.
    await again.post('v2/log', { events: [{ event: { message: 'after the upgrade' } }] });
    again.publishNow();
    const stored = again.log.db.prepare('SELECT consistency_proof FROM published_roots ORDER BY size DESC LIMIT 1').pluck().get() as string;
    const latest = (await again.post<Json>('v1/root', {})).result.data;
    expect(JSON.parse(stored)).toEqual(latest.consistency_proof);
    expect(latest.size).toBe(59);
  } finally {
    await again.destroy();
  }
});

test('an events table in the earlier column order (hash and envelope before the fields) keeps working', async () => {
  const dataDir = tempDir('audit-upgrade-');
  const first = await startTestService({ dataDir });
  await first.post('v2/log', { events: Array.from({ length: 30 }, (_, i) => ({ event: { message: `m${i}`, actor: i % 3 === 0 ? 'old' : 'other', old: 'x'.repeat(100) } })) });
  first.publishNow();
  const before = (await first.post<Json>('v1/search', { query: 'actor:old', limit: 50 })).result.events.map((e: Json) => e.hash);
  await first.close();

  // Rebuild the table as earlier versions laid it out, same rows.
  const raw = new Database(join(dataDir, 'audit.sqlite'));
  const columns = raw.prepare(`SELECT name FROM pragma_table_info('events')`).pluck().all() as string[];
  const fields = columns.filter((c) => c.startsWith('f_'));
  const earlier = ['leaf_index', 'received_at', 'hash', 'envelope', ...fields];
  raw.transaction(() => {
    raw.exec(`CREATE TABLE events_earlier (leaf_index INTEGER PRIMARY KEY, received_at TEXT NOT NULL, hash BLOB NOT NULL, envelope TEXT NOT NULL, ${fields.map((f) => `"${f}"`).join(', ')})`);
    raw.exec(`INSERT INTO events_earlier (${earlier.join(', ')}) SELECT ${earlier.join(', ')} FROM events`);
    raw.exec('DROP TABLE events; ALTER TABLE events_earlier RENAME TO events; CREATE INDEX events_received_at ON events (received_at)');
  })();
  raw.close();

  const again = await startTestService({ dataDir });
  try {
    const order = again.log.db.prepare(`SELECT name FROM pragma_table_info('events')`).pluck().all() as string[];
    expect(order.slice(0, 4)).toEqual(['leaf_index', 'received_at', 'hash', 'envelope']);
    expect((await again.post<Json>('v1/search', { query: 'actor:old', limit: 50 })).result.events.map((e: Json) => e.hash)).toEqual(before);
    await again.post('v2/log', { events: [{ event: { message: 'after', actor: 'old' } }] });
    const after = await again.post<Json>('v1/search', { query: 'actor:old', limit: 50 });
    expect(after.result.count).toBe(before.length + 1);
    for (const e of after.result.events) expect(hashEnvelope(e.envelope)).toBe(e.hash);
  } finally {
    await again.destroy();
  }
});

test('a new data directory keeps the short fields before the long ones, the hash and the envelope', async () => {
  const svc = await startTestService();
  try {
    const order = svc.log.db.prepare(`SELECT name FROM pragma_table_info('events')`).pluck().all() as string[];
    const at = (name: string): number => order.indexOf(name);
    for (const short of ['f_actor', 'f_tenant_id', 'f_timestamp']) {
      for (const long of ['f_message', 'f_old', 'f_new', 'hash', 'envelope']) expect(at(short)).toBeLessThan(at(long));
    }
    expect(order.at(-1)).toBe('envelope');
  } finally {
    await svc.destroy();
  }
});
