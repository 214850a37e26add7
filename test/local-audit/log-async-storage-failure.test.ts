// Jobs that meet a storage failure, over real HTTP and real SQLite files: the events a v2/log_async
// 202 acknowledged are the service's to append, so a job whose append fails for a storage reason
// stays pending (polls answer 202, /ready 503) and is retried until the store takes writes again;
// then every event is appended once, in the order the jobs were accepted. The failures are
// SQLite's own: another connection holding the write lock past the busy timeout (SQLITE_BUSY), and
// a database that may not grow (max_page_count: SQLITE_FULL, as on a full disk).
//
// A lock held the whole time also keeps a job's failure from being recorded, so the first test
// would pass even if such failures were final. The tests that tell are a lock released while that
// record would be written, and a "full" database with room for the small record but not the events.
//
// The service waits out its busy timeout (5 s) on the event loop before a locked write fails; these
// tests give its connection a shorter one, so each attempt (and the test) stays short.
import Database from 'better-sqlite3';
import { readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AuditLog } from '../../src/local-audit/audit-log.js';
import { verifyMembership } from '../../src/merkle/index.js';
import { startTestService, tempDir, type RestAnswer, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

interface PollAnswer {
  http: number;
  body: Json;
}

async function poll(svc: TestService, id: string): Promise<PollAnswer> {
  const res = await fetch(`${svc.url}/request/${id}`, { headers: { authorization: `Bearer ${svc.token}` } });
  return { http: res.status, body: (await res.json()) as Json };
}

async function pollUntilDone(svc: TestService, id: string): Promise<PollAnswer> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const answer = await poll(svc, id);
    if (answer.http !== 202) return answer;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${id} did not finish`);
}

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function ready(svc: TestService): Promise<{ http: number; body: { status: string; detail?: string } }> {
  const res = await fetch(`${svc.url}/ready`);
  return { http: res.status, body: (await res.json()) as { status: string; detail?: string } };
}

/** Every stored event's message, in leaf order. */
function messages(log: AuditLog): string[] {
  const out: string[] = [];
  for (let i = 0; i < log.size; i++) out.push(log.events.get(i)!.envelope.event.message as string);
  return out;
}

const batch = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ event: { message: `${tag} #${i}`, actor: tag } }));
const texts = (tag: string, n: number) => batch(tag, n).map((x) => x.event.message);

const busyErrors = (errors: unknown[]): number => errors.filter((e) => (e as { code?: string }).code === 'SQLITE_BUSY').length;

/** A service whose writes fail with SQLITE_BUSY after 50 ms while another connection holds the lock. */
async function lockableService(errors: unknown[], dataDir?: string): Promise<{ svc: TestService; other: Database.Database }> {
  const svc = await startTestService({ dataDir, onError: (err) => errors.push(err) });
  svc.log.db.pragma('busy_timeout = 50');
  return { svc, other: new Database(join(svc.dataDir, 'audit.sqlite')) };
}

/**
 * Another thread holding the write lock on `path` (it can let go while the service's thread waits
 * in SQLite's busy handler, which a connection of the test's own thread cannot).
 */
async function lockFromAnotherThread(path: string): Promise<{ releaseAfter(ms: number): Promise<void> }> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const Database = require(workerData.driver);
    const db = new Database(workerData.path);
    db.exec('BEGIN EXCLUSIVE');
    parentPort.postMessage('locked');
    parentPort.once('message', (ms) => setTimeout(() => {
      db.exec('ROLLBACK');
      db.close();
      parentPort.postMessage('released');
      parentPort.close();
    }, ms));
  `;
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(source, { eval: true, workerData: { path, driver } });
  // A test that fails before releasing must not keep Jest from exiting.
  worker.unref();
  const next = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  await next();
  return {
    releaseAfter: async (ms) => {
      const released = next();
      worker.postMessage(ms);
      await released;
      await worker.terminate();
    },
  };
}

/** A page limit as good as none (4 TiB of 4 KiB pages): what the database may grow to again. */
const MAX_PAGES = 1_073_741_823;

describe('v2/log_async while the store refuses writes', () => {
  test('jobs stay pending (202, /ready 503) while the write lock is held, then append every event once, in order', async () => {
    const errors: unknown[] = [];
    const { svc, other } = await lockableService(errors);
    try {
      expect(await svc.integrity).toEqual({ ok: true });
      expect((await svc.post('v1/log', { event: { message: 'before' } })).status).toBe('Success');
      // Accepted while the store takes writes (the job rows commit), run once it does not.
      svc.jobs.pause();
      const first = await svc.post<Json>('v2/log_async', { events: batch('first', 5), verbose: true });
      const second = await svc.post<Json>('v2/log_async', { events: batch('second', 4), verbose: true });
      expect([first.http, second.http]).toEqual([202, 202]);
      other.exec('BEGIN EXCLUSIVE');
      svc.jobs.resume();

      // Failed, then failed again on a retry: still pending, nothing appended.
      await until('the job has been retried', () => busyErrors(errors) >= 2);
      for (const id of [first.request_id, second.request_id]) {
        const pending = await poll(svc, id);
        expect(pending.http).toBe(202);
        expect(pending.body.status).toBe('Accepted');
      }
      const down = await ready(svc);
      expect(down.http).toBe(503);
      expect(down.body.detail).toMatch(/^writes are failing since \S+: SQLITE_BUSY: database is locked$/);
      expect(svc.log.size).toBe(1);
      expect(svc.jobs.get(second.request_id)!.state).toBe('pending');

      other.exec('ROLLBACK');
      const doneFirst = await pollUntilDone(svc, first.request_id);
      const doneSecond = await pollUntilDone(svc, second.request_id);
      expect([doneFirst.http, doneSecond.http]).toEqual([200, 200]);
      expect(doneFirst.body.result.results.map((x: Json) => x.envelope.event.message)).toEqual(texts('first', 5));
      expect(doneSecond.body.result.results.map((x: Json) => x.envelope.event.message)).toEqual(texts('second', 4));

      // Each event once, in the order the jobs were accepted, under the hashes the results name.
      await svc.jobs.idle();
      expect(messages(svc.log)).toEqual(['before', ...texts('first', 5), ...texts('second', 4)]);
      const hashes = [...doneFirst.body.result.results, ...doneSecond.body.result.results].map((x: Json) => x.hash as string);
      expect(hashes).toEqual([...Array(9).keys()].map((i) => svc.log.events.get(i + 1)!.hash));
      expect(await ready(svc)).toMatchObject({ http: 200, body: { status: 'ready' } });
    } finally {
      other.close();
      await svc.destroy();
    }
  }, 30_000);

  test('a lock released a moment after the busy timeout: the job is retried, not failed, and appends its events once', async () => {
    const errors: unknown[] = [];
    const svc = await startTestService({ onError: (err) => errors.push(err) });
    try {
      svc.log.db.pragma('busy_timeout = 200');
      svc.jobs.pause();
      const r = await svc.post<Json>('v2/log_async', { events: batch('later', 4) });
      expect(r.http).toBe(202);
      const lock = await lockFromAnotherThread(join(svc.dataDir, 'audit.sqlite'));
      svc.jobs.resume();
      // The append fails at 200 ms; the lock is free from 300 ms on: when the retry comes, and
      // while a failure taken as final would be being recorded.
      await lock.releaseAfter(300);
      await svc.jobs.idle();
      expect(busyErrors(errors)).toBeGreaterThanOrEqual(1);
      const done = await pollUntilDone(svc, r.request_id);
      expect(done.http).toBe(200);
      expect(done.body.status).toBe('Success');
      expect(messages(svc.log)).toEqual(texts('later', 4));
    } finally {
      await svc.destroy();
    }
  }, 30_000);

  test('a database that may not grow (SQLITE_FULL in the middle of the append): pending until it may, then every event once, in order', async () => {
    const errors: unknown[] = [];
    const svc = await startTestService({ onError: (err) => errors.push(err) });
    const db = svc.log.db;
    try {
      expect(await svc.integrity).toEqual({ ok: true });
      expect((await svc.post('v2/log', { events: batch('base', 2) })).status).toBe('Success');
      svc.jobs.pause();
      // The appended event needs new pages; recording the job's failure (its row is small, in a
      // page with room) would not.
      const big = `big #0 ${'z'.repeat(3000)}`;
      const first = await svc.post<Json>('v2/log_async', { events: [{ event: { message: big } }] });
      const second = await svc.post<Json>('v2/log_async', { events: batch('small', 2) });
      expect([first.http, second.http]).toEqual([202, 202]);
      db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
      svc.jobs.resume();

      const fullErrors = (): number => errors.filter((e) => (e as { code?: string }).code === 'SQLITE_FULL').length;
      await until('the job has failed', () => fullErrors() >= 1);
      expect((await poll(svc, first.request_id)).http).toBe(202);
      await until('the job has been retried', () => fullErrors() >= 2);
      expect((await poll(svc, first.request_id)).http).toBe(202);
      expect((await poll(svc, second.request_id)).http).toBe(202);
      const down = await ready(svc);
      expect(down.http).toBe(503);
      expect(down.body.detail).toMatch(/^writes are failing since \S+: SQLITE_FULL: database or disk is full$/);
      // Rolled back, in the file and in memory.
      expect(messages(svc.log)).toEqual(texts('base', 2));

      db.pragma(`max_page_count = ${MAX_PAGES}`);
      expect((await pollUntilDone(svc, first.request_id)).http).toBe(200);
      expect((await pollUntilDone(svc, second.request_id)).http).toBe(200);
      await svc.jobs.idle();
      expect(messages(svc.log)).toEqual([...texts('base', 2), big, ...texts('small', 2)]);
      const next = await svc.post<Json>('v1/log', { event: { message: 'next' }, verbose: true });
      expect(verifyMembership({ hash: next.result.hash, proof: next.result.membership_proof, rootHash: next.result.unpublished_root }).status).toBe('PASS');
      expect(next.result.unpublished_root).toBe(svc.log.rootHash(6));
      expect(await ready(svc)).toMatchObject({ http: 200, body: { status: 'ready' } });
    } finally {
      db.pragma(`max_page_count = ${MAX_PAGES}`);
      await svc.destroy();
    }
  }, 30_000);

  test('a storage failure after the job appended rolls the append back; the retry appends once and the tree stays consistent', async () => {
    const errors: unknown[] = [];
    const svc = await startTestService({ onError: (err) => errors.push(err) });
    // A second database, locked by `locker` so the job's write to it fails: a real SQLITE_BUSY in
    // the middle of the job's transaction, after its append.
    const sidePath = join(svc.dataDir, 'side.sqlite');
    const side = new Database(sidePath);
    side.pragma('busy_timeout = 0');
    side.exec('CREATE TABLE IF NOT EXISTS marks (n INTEGER)');
    const locker = new Database(sidePath);
    try {
      expect((await svc.post('v2/log', { events: batch('base', 3) })).status).toBe('Success');
      let attempts = 0;
      svc.jobs.register('append-then-side-write', () => {
        attempts++;
        svc.log.append([{ event: { message: 'the job' }, received_at: '2024-01-01T00:00:00.000000Z' }]);
        side.prepare('INSERT INTO marks VALUES (1)').run();
        return { result: { attempts } };
      });
      locker.exec('BEGIN EXCLUSIVE');
      const id = 'prq_' + 's'.repeat(32);
      svc.jobs.submit(id, 'append-then-side-write', {});
      await until('the job has failed', () => attempts >= 1);
      expect((await poll(svc, id)).http).toBe(202);
      await until('the job has been retried', () => attempts >= 2);
      expect((await poll(svc, id)).http).toBe(202);
      expect(busyErrors(errors)).toBeGreaterThanOrEqual(1);
      // Rolled back, and the in-memory tree resynced with the file.
      expect(svc.log.size).toBe(3);
      expect(messages(svc.log)).toEqual(texts('base', 3));

      locker.exec('ROLLBACK');
      const done = await pollUntilDone(svc, id);
      expect(done.http).toBe(200);
      expect(done.body.result).toEqual({ attempts });
      expect(messages(svc.log)).toEqual([...texts('base', 3), 'the job']);
      const next = await svc.post<Json>('v1/log', { event: { message: 'next' }, verbose: true });
      expect(svc.log.size).toBe(5);
      expect(verifyMembership({ hash: next.result.hash, proof: next.result.membership_proof, rootHash: next.result.unpublished_root }).status).toBe('PASS');
      expect(next.result.unpublished_root).toBe(svc.log.rootHash(5));
    } finally {
      locker.close();
      side.close();
      await svc.destroy();
    }
  }, 30_000);

  test('an export whose completion meets the lock discards its file and runs again, rather than failing, once the lock is released', async () => {
    const errors: unknown[] = [];
    const svc = await startTestService({ onError: (err) => errors.push(err) });
    try {
      svc.log.db.pragma('busy_timeout = 500');
      expect((await svc.post('v2/log', { events: batch('exported', 6) })).status).toBe('Success');
      svc.jobs.pause();
      const r = await svc.post<Json>('v1/export', { format: 'json' });
      expect(r.http).toBe(202);
      const lock = await lockFromAnotherThread(join(svc.dataDir, 'audit.sqlite'));
      svc.jobs.resume();
      // The file is written at once; recording it fails at about 500 ms; the lock is free at 750.
      await lock.releaseAfter(750);
      const done = await pollUntilDone(svc, r.request_id);
      expect(busyErrors(errors)).toBeGreaterThanOrEqual(1);
      expect(done.http).toBe(200);
      expect(done.body.result).toEqual({ status: 'done', count: 6, format: 'json' });
      // Only the file of the run that completed is left: the other was discarded.
      expect(readdirSync(join(svc.dataDir, 'downloads'))).toHaveLength(1);
      expect((await svc.post<Json>('v1/download_results', { request_id: r.request_id })).status).toBe('Success');
    } finally {
      await svc.destroy();
    }
  }, 30_000);

  test('close() with a retry pending: the stopped runner tries nothing more, and the job runs at the next start', async () => {
    const dataDir = tempDir('log-async-retry-');
    const errors: unknown[] = [];
    try {
      const { svc, other } = await lockableService(errors, dataDir);
      let r: RestAnswer<Json>;
      try {
        svc.jobs.pause();
        r = await svc.post<Json>('v2/log_async', { events: batch('carried', 3) });
        other.exec('BEGIN EXCLUSIVE');
        svc.jobs.resume();
        await until('the job has been retried', () => busyErrors(errors) >= 2);
      } finally {
        await svc.close();
        other.close();
      }
      // The next retry was due within 200 ms: it does not come (it would find the database closed).
      const reported = errors.length;
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(errors.length).toBe(reported);

      const again = await startTestService({ dataDir });
      try {
        expect((await pollUntilDone(again, r.request_id)).http).toBe(200);
        expect(messages(again.log)).toEqual(texts('carried', 3));
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});
