// A published root is on disk before anyone can see it (store/database.ts, commitDurably): its
// commit runs with synchronous=FULL on the service's own connection, while appends keep NORMAL
// (the window README.md states). A power cut cannot be tested here; what is observed is the setting
// each commit runs under, recorded by SQLite itself: temporary triggers on the service's connection
// note `synchronous` (pragma_synchronous) inside every publication's and every append's
// transaction.
import { join } from 'node:path';
import { STANDARD_SCHEMA } from '../../src/local-audit/index.js';
import { commitDurably, openDatabase } from '../../src/local-audit/store/database.js';
import { startTestService, tempDir } from '../support/local-audit.js';

const FULL = 2;
const NORMAL = 1;

test('every publication commits with synchronous=FULL on the service\'s connection; appends commit with NORMAL', async () => {
  const svc = await startTestService();
  const db = svc.log.db;
  try {
    db.exec(`
      CREATE TEMP TABLE seen (what TEXT NOT NULL, mode INTEGER NOT NULL);
      CREATE TEMP TRIGGER seen_publication AFTER INSERT ON main.published_roots
        BEGIN INSERT INTO seen SELECT 'publication', synchronous FROM pragma_synchronous; END;
      CREATE TEMP TRIGGER seen_append AFTER INSERT ON main.events
        BEGIN INSERT INTO seen SELECT 'append', synchronous FROM pragma_synchronous; END;
    `);
    expect((await svc.post('v2/log', { events: [{ event: { message: 'a' } }, { event: { message: 'b' } }] })).status).toBe('Success');
    svc.publishNow();
    expect((await svc.post('v1/log', { event: { message: 'c' } })).status).toBe('Success');
    svc.publishNow();
    // Nothing new: no publication.
    svc.publishNow();
    const seen = db.prepare('SELECT what, mode FROM seen ORDER BY rowid').all();
    expect(seen).toEqual([
      { what: 'append', mode: NORMAL },
      { what: 'append', mode: NORMAL },
      { what: 'publication', mode: FULL },
      { what: 'append', mode: NORMAL },
      { what: 'publication', mode: FULL },
    ]);
    expect(db.pragma('synchronous', { simple: true })).toBe(NORMAL);
    expect(db.prepare('SELECT size FROM published_roots ORDER BY size').pluck().all()).toEqual([2, 3]);
    // What the service serves is what it committed so.
    expect((await svc.post<{ data: { size: number } }>('v1/root', {})).result.data.size).toBe(3);
  } finally {
    await svc.destroy();
  }
});

test('a durable commit inside another transaction is refused (its sync would be the outer commit\'s), leaving the setting as it was', () => {
  const db = openDatabase(join(tempDir('durable-commit-'), 'audit.sqlite'), STANDARD_SCHEMA);
  try {
    const write = db.prepare(`INSERT INTO meta (key, value) VALUES ('k', 'v')`);
    expect(() => db.transaction(() => commitDurably(db, () => write.run()))()).toThrow('commitDurably cannot run inside another transaction');
    expect(db.pragma('synchronous', { simple: true })).toBe(NORMAL);
    expect(db.prepare(`SELECT value FROM meta WHERE key = 'k'`).pluck().get()).toBeUndefined();
    commitDurably(db, () => write.run());
    expect(db.prepare(`SELECT value FROM meta WHERE key = 'k'`).pluck().get()).toBe('v');
    expect(db.pragma('synchronous', { simple: true })).toBe(NORMAL);
  } finally {
    db.close();
  }
});
