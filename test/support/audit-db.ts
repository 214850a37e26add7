// Looking into and changing a local audit service's SQLite file from outside it, as an operator's
// tool (or an insider) would.
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './local-audit.js';

/**
 * Events in the database file at `path` alone, as if its WAL were lost: a copy of the file without
 * it (-1 while not even the table is in the file, or when the copy was taken in the middle of a
 * checkpoint writing the file, which leaves it torn).
 */
export function eventsInFileAlone(path: string): number {
  const copy = join(tempDir('wal-copy-'), 'copy.sqlite');
  copyFileSync(path, copy);
  if (existsSync(`${copy}-wal`)) throw new Error(`a copy of ${path} came with a WAL`);
  const other = new Database(copy, { readonly: true });
  try {
    const table = other.prepare(`SELECT 1 FROM sqlite_schema WHERE name = 'events'`).get();
    return table ? (other.prepare('SELECT COUNT(*) FROM events').pluck().get() as number) : -1;
  } catch (err) {
    if (String((err as { code?: unknown }).code).startsWith('SQLITE_CORRUPT')) return -1;
    throw err;
  } finally {
    other.close();
    rmSync(copy, { force: true });
  }
}

/** Moves every result set's expiry into the past, in the service's own SQLite file under `dataDir`. */
export function expireResultSets(dataDir: string): void {
  const db = new Database(join(dataDir, 'audit.sqlite'));
  try {
    db.pragma('busy_timeout = 5000');
    const changed = db.prepare('UPDATE search_results SET expires_at_ms = ?').run(Date.now() - 1).changes;
    if (changed === 0) throw new Error('there was no result set to expire');
  } finally {
    db.close();
  }
}
