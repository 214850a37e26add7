// /health and /ready of the local audit service, over real HTTP and real SQLite files: a damaged
// audit.sqlite fails the integrity check the service runs from its start (not ready, with the
// reason; `npm run local-audit` exits); writes that fail make /ready 503 with the reason until an
// append commits again. The failures are real: the write lock held by another connection
// past the busy timeout (SQLITE_BUSY), and writes past the process's file size limit, which fail
// as on a full disk.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalAudit } from '../../src/local-audit/index.js';
import { startTestService, tempDir } from '../support/local-audit.js';
import { processTree, runLocalAudit } from './fixtures/npm-local-audit.js';

async function getJson(url: string): Promise<{ http: number; body: { status: string; detail?: string } }> {
  const res = await fetch(url);
  return { http: res.status, body: (await res.json()) as { status: string; detail?: string } };
}

/** A data directory whose audit.sqlite has pages of garbage in the middle of its events. */
async function damagedDataDir(): Promise<string> {
  const dataDir = tempDir('readiness-damaged-');
  const svc = await startTestService({ dataDir });
  for (let i = 0; i < 10; i++) {
    const events = Array.from({ length: 50 }, (_, j) => ({ event: { message: `event ${i}.${j} ${'x'.repeat(3000)}`, actor: `actor-${j}` } }));
    expect((await svc.post('v2/log', { events })).status).toBe('Success');
  }
  // Closing the last connection checkpoints the WAL into audit.sqlite.
  await svc.close();
  const path = join(dataDir, 'audit.sqlite');
  const pageSize = 4096;
  const pages = Math.floor(statSync(path).size / pageSize);
  expect(pages).toBeGreaterThan(100);
  const fd = openSync(path, 'r+');
  try {
    const garbage = Buffer.alloc(pageSize * 4, 0xa5);
    writeSync(fd, garbage, 0, garbage.length, Math.floor(pages / 2) * pageSize);
  } finally {
    closeSync(fd);
  }
  return dataDir;
}

/** /ready once the integrity check has finished (it runs in a worker from the start on). */
async function readyAfterCheck(url: string): Promise<{ http: number; body: { status: string; detail?: string } }> {
  for (;;) {
    const answer = await getJson(`${url}/ready`);
    if (!answer.body.detail?.startsWith('checking the integrity')) return answer;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a damaged audit.sqlite', () => {
  test('the service is not ready, with the integrity check\'s finding, which goes to onError too', async () => {
    const dataDir = await damagedDataDir();
    const errors: unknown[] = [];
    const svc = await startTestService({ dataDir, onError: (err) => errors.push(err) });
    try {
      const damaged = new RegExp(`^the audit database ${join(dataDir, 'audit.sqlite')} is damaged \\(PRAGMA quick_check: [^\\n]*(page|Page) \\d+[^\\n]*\\); restore it from a backup or move it away$`);
      const outcome = await svc.integrity;
      expect(outcome.ok).toBe(false);
      expect(outcome.ok === false && outcome.reason).toMatch(damaged);
      const ready = await getJson(`${svc.url}/ready`);
      expect(ready.http).toBe(503);
      expect(ready.body.detail).toMatch(damaged);
      expect(errors.map((e) => (e as Error).message)).toEqual([expect.stringMatching(damaged)]);
    } finally {
      await svc.destroy();
    }
  });

  test('npm run local-audit stops with a non-zero exit saying the database is damaged', async () => {
    const dataDir = await damagedDataDir();
    const run = await runLocalAudit(dataDir, { AUDIT_TOKEN: 'test-token' });
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([run.exited, new Promise<string>((r) => (timer = setTimeout(() => r('still running after 60 s'), 60_000)))]);
    clearTimeout(timer);
    if (exit === 'still running after 60 s') await run.stop();
    expect(exit).toBe(1);
    expect(run.stderr).toContain(`local-audit: refusing to run: the audit database ${join(dataDir, 'audit.sqlite')} is damaged (PRAGMA quick_check: `);
  }, 90_000);

  test('a healthy database passes the check: ready', async () => {
    const svc = await startTestService();
    try {
      expect(await svc.integrity).toEqual({ ok: true });
      expect(await readyAfterCheck(svc.url)).toMatchObject({ http: 200, body: { status: 'ready' } });
    } finally {
      await svc.destroy();
    }
  });

  test('a file that is not a database at all is refused too', async () => {
    const dataDir = tempDir('readiness-notadb-');
    const fd = openSync(join(dataDir, 'audit.sqlite'), 'w');
    writeSync(fd, Buffer.alloc(8192, 0x42));
    closeSync(fd);
    await expect(startLocalAudit({ dataDir, port: 0, token: 'test-token', publishIntervalMs: 0 })).rejects.toThrow(/the audit database .* cannot be read \(file is not a database\)/);
  });
});

describe('failing writes', () => {
  test('/ready is 503 with the reason while writes fail, and 200 again once an append commits', async () => {
    const errors: unknown[] = [];
    const svc = await startTestService({ onError: (err) => errors.push(err) });
    const other = new Database(join(svc.dataDir, 'audit.sqlite'));
    try {
      expect(await getJson(`${svc.url}/health`)).toEqual({ http: 200, body: { status: 'ok' } });
      const before = await readyAfterCheck(svc.url);
      expect(before.http).toBe(200);
      expect(before.body.status).toBe('ready');
      expect((await svc.post('v1/log', { event: { message: 'while healthy' } })).status).toBe('Success');

      // Another connection holds the write lock: the service's append waits its busy timeout, then fails.
      other.exec('BEGIN EXCLUSIVE');
      const failed = await svc.post('v1/log', { event: { message: 'cannot be written' } });
      expect(failed.http).toBe(500);
      expect(failed.status).toBe('InternalError');
      expect(errors.some((e) => (e as { code?: string }).code === 'SQLITE_BUSY')).toBe(true);

      const down = await getJson(`${svc.url}/ready`);
      expect(down.http).toBe(503);
      expect(down.body.status).toBe('not ready');
      expect(down.body.detail).toMatch(/^writes are failing since \S+: SQLITE_BUSY: database is locked$/);
      // /health only says the process answers.
      expect((await getJson(`${svc.url}/health`)).http).toBe(200);

      other.exec('ROLLBACK');
      // The lock is free, but nothing has shown it yet: still not ready until an append commits.
      expect((await getJson(`${svc.url}/ready`)).http).toBe(503);
      expect((await svc.post('v1/log', { event: { message: 'written again' } })).status).toBe('Success');
      const up = await getJson(`${svc.url}/ready`);
      expect(up.http).toBe(200);
      expect(up.body.status).toBe('ready');
      expect((await svc.post('v1/search', { query: 'message:"cannot be written"' })).result).toMatchObject({ count: 0 });
    } finally {
      other.close();
      await svc.destroy();
    }
  }, 30_000);

  test('npm run local-audit on a "full disk" (writes past RLIMIT_FSIZE fail): /ready 503 with the reason, 200 once an append fits again', async () => {
    const dataDir = tempDir('readiness-full-');
    const token = 'full-disk-token';
    const run = await runLocalAudit(dataDir, { AUDIT_TOKEN: token }, { fileSizeLimitBytes: 3 * 2 ** 20 });
    try {
      expect(run.url).toBeDefined();
      const log = (i: number): Promise<Response> =>
        fetch(`${run.url}/v2/log`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events: Array.from({ length: 20 }, (_, j) => ({ event: { message: `${i}.${j} ${'y'.repeat(30_000)}` } })) }),
        });
      expect((await readyAfterCheck(run.url!)).http).toBe(200);
      let failedAt = -1;
      for (let i = 0; i < 40 && failedAt < 0; i++) if ((await log(i)).status !== 200) failedAt = i;
      expect(failedAt).toBeGreaterThan(0);
      const down = await getJson(`${run.url}/ready`);
      expect(down.http).toBe(503);
      expect(down.body.detail).toMatch(/^writes are failing since \S+: SQLITE_(FULL|IOERR\w*): /);
      expect(run.stderr).toMatch(/SQLITE_(FULL|IOERR)/);

      // Room again: the limit lifted on the running processes (all started by this test). Not
      // ready until an append shows it.
      for (const pid of processTree(run.pid)) execFileSync('prlimit', ['--pid', String(pid), '--fsize=unlimited']);
      expect((await getJson(`${run.url}/ready`)).http).toBe(503);
      expect((await log(99)).status).toBe(200);
      expect(await getJson(`${run.url}/ready`)).toMatchObject({ http: 200, body: { status: 'ready' } });
    } finally {
      await run.stop();
    }
  }, 120_000);

  test('a refused request (a validation error) does not make the service not ready', async () => {
    const svc = await startTestService();
    try {
      expect((await svc.post('v1/log', { event: { nope: 1 } })).status).toBe('ValidationError');
      expect((await svc.post('v1/results', { id: 'pas_unknown' })).status).toBe('NotFound');
      expect((await readyAfterCheck(svc.url)).http).toBe(200);
    } finally {
      await svc.destroy();
    }
  });
});
