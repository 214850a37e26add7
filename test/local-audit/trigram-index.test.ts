// The trigram index in a file of its own (store/trigram-index-file.ts), kept up by a thread of its
// own (trigram-indexer.ts), on a real service over HTTP and real SQLite files: appends commit while
// the index is locked by another writer, and searches meanwhile find every event, the ones the
// index does not cover yet included; the index then catches up. An index that does not belong to
// the events beside it (another data directory's, one left from before the database was restored
// from an older backup, a deleted one, a file that is no database) is built again from the events, and never makes a search
// miss or invent an event. The file is its owner's only, like the audit database.
import Database from 'better-sqlite3';
import { copyFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotAuditDb } from '../support/tamper.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

const INDEX_FILE = 'audit-trigrams.sqlite';

function removeIndex(dataDir: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(dataDir, `${INDEX_FILE}${suffix}`), { force: true });
}

async function logActors(svc: TestService, actors: readonly string[]): Promise<void> {
  const r = await svc.post('v2/log', { events: actors.map((actor, i) => ({ event: { message: `by ${actor} #${i}`, actor } })) });
  expect(r.status).toBe('Success');
  // Search results carry their leaf indexes once a published root covers them.
  svc.publishNow();
}

/** Leaf indexes of a search, oldest first. */
async function found(svc: TestService, query: string): Promise<number[]> {
  const r = await svc.post<Json>('v1/search', { query, order: 'asc', limit: 1000, verbose: true });
  expect(r.status).toBe('Success');
  return (r.result.events as Json[]).map((e) => e.leaf_index as number);
}

/** What the index file itself names for a phrase in f_actor, and the leaves it says it covers. */
function indexed(dataDir: string, phrase: string): { leaves: number[]; size: number } {
  const db = new Database(join(dataDir, INDEX_FILE), { readonly: true });
  try {
    const leaves = db.prepare(`SELECT rowid FROM events_fts WHERE events_fts MATCH ? ORDER BY rowid`).pluck().all(`{f_actor} : "${phrase}"`) as number[];
    const size = Number(db.prepare(`SELECT value FROM meta WHERE key = 'indexed_size'`).pluck().get());
    return { leaves, size };
  } finally {
    db.close();
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

test('appends commit while another writer holds the index; searches find the events it has not indexed; the indexer waits, then catches up', async () => {
  const errors: unknown[] = [];
  const svc = await startTestService({ prefilterMinEvents: 0, onError: (err) => errors.push(err) });
  try {
    await logActors(svc, range(0, 50).map((i) => `early-${i}`));
    await svc.trigramsIndexed();
    const blocker = new Database(join(svc.dataDir, INDEX_FILE));
    blocker.exec('BEGIN IMMEDIATE');
    try {
      await logActors(svc, range(0, 50).map((i) => `late-${i}`));
      expect(svc.log.size).toBe(100);
      expect(indexed(svc.dataDir, 'late-').size).toBe(50);
      // Through the index for the first 50, one by one for the other 50.
      expect(await found(svc, 'actor:late-1')).toEqual([51, ...range(60, 70)]);
      expect(await found(svc, 'actor:early-4')).toEqual([4, ...range(40, 50)]);
      expect(await found(svc, 'actor:-')).toEqual(range(0, 100));
      // Longer than the indexer waits for the lock: it tries again later, and reports nothing.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(indexed(svc.dataDir, 'late-').size).toBe(50);
    } finally {
      blocker.exec('COMMIT');
      blocker.close();
    }
    await svc.trigramsIndexed();
    expect(indexed(svc.dataDir, 'late-')).toEqual({ leaves: range(50, 100), size: 100 });
    expect(await found(svc, 'actor:late-1')).toEqual([51, ...range(60, 70)]);
    expect(errors).toEqual([]);
  } finally {
    await svc.destroy();
  }
});

test("another data directory's index is built again from the events beside it", async () => {
  const ours = await startTestService();
  const theirs = await startTestService();
  try {
    await logActors(ours, range(0, 30).map((i) => `ours-${i}`));
    await logActors(theirs, range(0, 30).map((i) => `theirs-${i}`));
    await ours.trigramsIndexed();
    await theirs.trigramsIndexed();
    await ours.close();
    await theirs.close();
    removeIndex(ours.dataDir);
    copyFileSync(join(theirs.dataDir, INDEX_FILE), join(ours.dataDir, INDEX_FILE));
    expect(indexed(ours.dataDir, 'theirs-').leaves).toEqual(range(0, 30));
    const again = await startTestService({ dataDir: ours.dataDir, prefilterMinEvents: 0 });
    try {
      expect(await found(again, 'actor:ours-2')).toEqual([2, ...range(20, 30)]);
      expect(await found(again, 'actor:theirs')).toEqual([]);
      await again.trigramsIndexed();
      expect(indexed(ours.dataDir, 'theirs-').leaves).toEqual([]);
      expect(indexed(ours.dataDir, 'ours-')).toEqual({ leaves: range(0, 30), size: 30 });
    } finally {
      await again.destroy();
    }
  } finally {
    await theirs.destroy();
  }
});

test('an index left from before the database was restored from an older backup is built again, and its events are never found', async () => {
  const first = await startTestService();
  const backupDir = tempDir('audit-trigram-backup-');
  await logActors(first, range(0, 20).map((i) => `kept-${i}`));
  const backup = await snapshotAuditDb(first.dataDir, backupDir);
  await logActors(first, range(0, 20).map((i) => `lost-${i}`));
  await first.trigramsIndexed();
  await first.close();
  expect(indexed(first.dataDir, 'lost-')).toEqual({ leaves: range(20, 40), size: 40 });
  // The database goes back to the backup; the index file stays as it was.
  for (const suffix of ['-wal', '-shm']) rmSync(join(first.dataDir, `audit.sqlite${suffix}`), { force: true });
  copyFileSync(backup, join(first.dataDir, 'audit.sqlite'));
  const again = await startTestService({ dataDir: first.dataDir, prefilterMinEvents: 0 });
  try {
    expect(again.log.size).toBe(20);
    expect(await found(again, 'actor:lost')).toEqual([]);
    await again.trigramsIndexed();
    // New events take the leaves the lost ones had.
    await logActors(again, range(0, 20).map((i) => `new-${i}`));
    expect(await found(again, 'actor:lost')).toEqual([]);
    expect(await found(again, 'actor:new-1')).toEqual([21, ...range(30, 40)]);
    await again.trigramsIndexed();
    expect(indexed(first.dataDir, 'lost-').leaves).toEqual([]);
    expect(indexed(first.dataDir, 'new-')).toEqual({ leaves: range(20, 40), size: 40 });
  } finally {
    await again.destroy();
    rmSync(backupDir, { recursive: true, force: true });
  }
});

test('an index file in the earlier format (column sizes kept, the column list alone in meta) is built again in the current one', async () => {
  const first = await startTestService();
  await logActors(first, range(0, 25).map((i) => `user-${i}`));
  await first.trigramsIndexed();
  await first.close();
  // Rewritten as the earlier format was made: the same columns, with the column-size table.
  const file = new Database(join(first.dataDir, INDEX_FILE));
  const definition = file.prepare(`SELECT value FROM meta WHERE key = 'columns'`).pluck().get() as string;
  const list = (JSON.parse(definition) as { columns: string[] }).columns;
  file.exec('DROP TABLE events_fts');
  file.exec(`CREATE VIRTUAL TABLE events_fts USING fts5(${list.map((c) => `"${c}"`).join(', ')}, content='', tokenize='trigram case_sensitive 1')`);
  file.prepare(`UPDATE meta SET value = ? WHERE key = 'columns'`).run(JSON.stringify(list));
  file.close();
  const hasColumnSizes = (): boolean => {
    const db = new Database(join(first.dataDir, INDEX_FILE), { readonly: true });
    try {
      return db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'events_fts_docsize'`).get() !== undefined;
    } finally {
      db.close();
    }
  };
  expect(hasColumnSizes()).toBe(true);
  const again = await startTestService({ dataDir: first.dataDir, prefilterMinEvents: 0 });
  try {
    expect(await found(again, 'actor:user-2')).toEqual([2, ...range(20, 25)]);
    await again.trigramsIndexed();
    expect(hasColumnSizes()).toBe(false);
    expect(indexed(first.dataDir, 'user-2')).toEqual({ leaves: [2, ...range(20, 25)], size: 25 });
    expect(await found(again, 'actor:user-2')).toEqual([2, ...range(20, 25)]);
  } finally {
    await again.destroy();
  }
});

test('a deleted index is built again on start, and the file is readable by its owner only', async () => {
  const first = await startTestService();
  await logActors(first, range(0, 25).map((i) => `user-${i}`));
  await first.close();
  removeIndex(first.dataDir);
  const again = await startTestService({ dataDir: first.dataDir, prefilterMinEvents: 0 });
  try {
    expect(statSync(join(first.dataDir, INDEX_FILE)).mode & 0o777).toBe(0o600);
    await again.trigramsIndexed();
    expect(indexed(first.dataDir, 'user-2')).toEqual({ leaves: [2, ...range(20, 25)], size: 25 });
    expect(await found(again, 'actor:user-2')).toEqual([2, ...range(20, 25)]);
  } finally {
    await again.destroy();
  }
});

test('an index file that is no database is reported, replaced and built again; the service starts and searches', async () => {
  const first = await startTestService();
  await logActors(first, range(0, 25).map((i) => `user-${i}`));
  await first.close();
  removeIndex(first.dataDir);
  writeFileSync(join(first.dataDir, INDEX_FILE), 'not a database, and long enough to have a header '.repeat(100), { mode: 0o600 });
  const errors: unknown[] = [];
  const again = await startTestService({ dataDir: first.dataDir, prefilterMinEvents: 0, onError: (err) => errors.push(err) });
  try {
    expect(errors.map(String)).toEqual([expect.stringContaining('audit-trigrams.sqlite cannot be read')]);
    expect(await found(again, 'actor:user-2')).toEqual([2, ...range(20, 25)]);
    await again.trigramsIndexed();
    expect(indexed(first.dataDir, 'user-2')).toEqual({ leaves: [2, ...range(20, 25)], size: 25 });
  } finally {
    await again.destroy();
  }
});
