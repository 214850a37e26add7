// A WAL checkpoint worker (store/wal-checkpointer.ts) that fails for real, not for a lock: it is
// reported with SQLite's own code and message, the writer checkpoints meanwhile, and the worker is
// started again after a delay until stop(). Two failures: the database's path not there when the
// worker opens it (the symlink it was opened by taken away: SQLITE_CANTOPEN), and the service process on a
// "full disk" (writes past RLIMIT_FSIZE fail), where the checkpoint cannot grow the database file.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { microTimestamp } from '../../src/local-audit/core/clock.js';
import { STANDARD_SCHEMA } from '../../src/local-audit/index.js';
import { openDatabase, type Db } from '../../src/local-audit/store/database.js';
import { EventStore } from '../../src/local-audit/store/event-store.js';
import { WalCheckpointer } from '../../src/local-audit/store/wal-checkpointer.js';
import { eventsInFileAlone } from '../support/audit-db.js';
import { tempDir } from '../support/local-audit.js';
import { processTree, runLocalAudit } from './fixtures/npm-local-audit.js';

async function until(condition: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}


const messages = (errors: unknown[]): string[] => errors.map((e) => (e as Error).message);

describe('a worker that cannot open the database', () => {
  let dir: string;
  let link: string;
  let db: Db;
  let store: EventStore;
  let checkpointer: WalCheckpointer | undefined;

  beforeEach(() => {
    dir = tempDir('wal-checkpointer-failure-');
    mkdirSync(join(dir, 'real'));
    closeSync(openSync(join(dir, 'real', 'audit.sqlite'), 'wx', 0o600));
    // The database is opened through `link`: without it, its path names nothing.
    link = join(dir, 'audit.sqlite');
    symlinkSync(join(dir, 'real', 'audit.sqlite'), link);
    db = openDatabase(link, STANDARD_SCHEMA);
    store = new EventStore(db, STANDARD_SCHEMA);
  });
  afterEach(async () => {
    await checkpointer?.stop();
    checkpointer = undefined;
    if (!existsSync(link)) symlinkSync(join(dir, 'real', 'audit.sqlite'), link);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function append(count: number): void {
    store.appendBatch(Array.from({ length: count }, (_, i) => ({ event: { message: `event ${store.size + i}` }, received_at: microTimestamp() })));
  }

  test('is reported with SQLite\'s code and message, and started again once it can', async () => {
    const errors: unknown[] = [];
    unlinkSync(link);
    checkpointer = new WalCheckpointer(db, (err) => errors.push(err));
    await until(() => errors.length === 1, 'the failure to be reported');
    expect(messages(errors)).toEqual(['the WAL checkpoint worker failed (SQLITE_CANTOPEN: unable to open database file); the writer checkpoints until it starts again in 1000 ms']);
    expect((errors[0] as Error).cause).toMatchObject({ code: 'SQLITE_CANTOPEN', message: 'unable to open database file' });
    expect(checkpointer.writerAutocheckpoint).toBe(1000);

    symlinkSync(join(dir, 'real', 'audit.sqlite'), link);
    append(300);
    // Started again: it checkpoints what was committed, and the writer's own checkpoint is off again.
    await until(() => eventsInFileAlone(db.name) === 300, 'the restarted worker to copy the events into the file');
    expect(checkpointer.starts).toBe(2);
    expect(checkpointer.writerAutocheckpoint).toBe(0);
    expect(errors).toHaveLength(1);
  });

  test('failing again, it waits twice as long; stop() ends the wait, and no worker starts after it', async () => {
    const errors: unknown[] = [];
    unlinkSync(link);
    checkpointer = new WalCheckpointer(db, (err) => errors.push(err));
    await until(() => errors.length === 2, 'the restarted worker to fail too', 5000);
    expect(messages(errors)).toEqual([
      expect.stringMatching(/^the WAL checkpoint worker failed \(SQLITE_CANTOPEN: unable to open database file\); the writer checkpoints until it starts again in 1000 ms$/),
      expect.stringMatching(/^the WAL checkpoint worker failed \(SQLITE_CANTOPEN: unable to open database file\); the writer checkpoints until it starts again in 2000 ms$/),
    ]);
    const started = performance.now();
    await checkpointer.stop();
    expect(performance.now() - started).toBeLessThan(500);
    symlinkSync(join(dir, 'real', 'audit.sqlite'), link);
    await new Promise((r) => setTimeout(r, 2500));
    expect(checkpointer.starts).toBe(2);
    expect(checkpointer.writerAutocheckpoint).toBe(1000);
    expect(errors).toHaveLength(2);
  });
});

describe('the service on a full disk', () => {
  test('a checkpoint that cannot grow the database file is reported with its error; once there is room, the restarted worker copies every acknowledged event into the file', async () => {
    const dataDir = tempDir('wal-checkpointer-full-');
    const token = 'full-disk-token';
    const limit = 3 * 2 ** 20;
    const run = await runLocalAudit(dataDir, { AUDIT_TOKEN: token }, { fileSizeLimitBytes: limit });
    const failed = (): boolean => run.stderr.includes('the WAL checkpoint worker failed');
    try {
      expect(run.url).toBeDefined();
      let acknowledged = 0;
      const log = async (i: number): Promise<void> => {
        const res = await fetch(`${run.url}/v2/log`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events: Array.from({ length: 10 }, (_, j) => ({ event: { message: `${i}.${j} ${'w'.repeat(30_000)}` } })) }),
        });
        expect(res.status).toBe(200);
        acknowledged += 10;
      };
      // One request at a time, each given time to be checkpointed: the WAL stays small, the
      // database file grows to the limit, and the checkpoint that would pass it fails.
      for (let i = 0; i < 40 && !failed(); i++) {
        await log(i);
        await until(() => failed() || eventsInFileAlone(join(dataDir, 'audit.sqlite')) === acknowledged, 'a checkpoint of the request, or its failure', 5000).catch(() => undefined);
      }
      expect(failed()).toBe(true);
      expect(run.stderr).toMatch(/the WAL checkpoint worker failed \(SQLITE_(FULL|IOERR\w*): [a-z][^)]*\); the writer checkpoints until it starts again in 1000 ms/);
      expect(run.stderr).not.toContain('undefined');
      // Acknowledged (it is in the WAL), and in no checkpoint while the file cannot grow.
      await log(99);

      // Room again (the limit lifted on the running processes, all started by this test), and no
      // further commit that would make the writer checkpoint: only a restarted worker can copy them.
      for (const pid of processTree(run.pid)) execFileSync('prlimit', ['--pid', String(pid), '--fsize=unlimited']);
      await until(() => eventsInFileAlone(join(dataDir, 'audit.sqlite')) === acknowledged, 'every acknowledged event in the database file', 20_000);
    } finally {
      await run.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
