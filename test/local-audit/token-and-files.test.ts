// The bearer token and the data directory of the local audit service, over real HTTP and real
// files: a blank token is never accepted (an empty token file stops the start, naming the file),
// a generated token is written atomically and never printed, and the data directory and every file
// of the audit log are for their owner only whatever the umask.
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { startLocalAudit } from '../../src/local-audit/index.js';
import { startTestService, tempDir } from '../support/local-audit.js';
import { runLocalAudit } from './fixtures/npm-local-audit.js';

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('blank tokens', () => {
  test.each([
    ['empty', ''],
    ['whitespace-only', ' \n\t\n'],
  ])('npm run local-audit refuses to start on a token file that is %s, naming it, and leaves it as it was', async (_kind, content) => {
    const dataDir = tempDir('token-blank-');
    writeFileSync(join(dataDir, 'token'), content);
    const run = await runLocalAudit(dataDir);
    if (run.url) await run.stop();
    expect(run.url).toBeUndefined();
    expect(run.exit).not.toBe(0);
    expect(run.stderr).toContain(`the token file ${join(dataDir, 'token')}`);
    expect(run.stderr).toContain('is empty');
    expect(readFileSync(join(dataDir, 'token'), 'utf8')).toBe(content);
  }, 90_000);

  test('startLocalAudit refuses an empty token file and a blank configured token', async () => {
    const dataDir = tempDir('token-blank-');
    writeFileSync(join(dataDir, 'token'), '\n');
    await expect(startLocalAudit({ dataDir, port: 0, publishIntervalMs: 0 })).rejects.toThrow(/token file .* is empty/);
    await expect(startLocalAudit({ dataDir: tempDir('token-blank-'), port: 0, publishIntervalMs: 0, token: '  ' })).rejects.toThrow(/configured token is empty/);
  });

  test('a token of several words is refused: it could never be presented', async () => {
    await expect(startLocalAudit({ dataDir: tempDir('token-words-'), port: 0, publishIntervalMs: 0, token: 'two words' })).rejects.toThrow(/one word/);
  });

  test('"Bearer" followed by spacing alone never authorizes, nor does the token with a non-ASCII space added', async () => {
    const svc = await startTestService();
    try {
      const status = (authorization: string): Promise<number> =>
        new Promise((resolve, reject) => {
          const req = request(`${svc.url}/v1/root`, { method: 'POST', headers: { authorization, 'content-type': 'application/json' } }, (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          req.on('error', reject);
          req.end('{}');
        });
      expect(await status('Bearer \u00a0')).toBe(401);
      expect(await status('Bearer \u00a0test-token')).toBe(401);
      expect(await status('Bearer test-token\u00a0')).toBe(401);
      // The token as sent is accepted (v1/root then answers that nothing is published yet).
      expect(await status('Bearer test-token')).toBe(400);
    } finally {
      await svc.destroy();
    }
  });
});

describe('the generated token', () => {
  test('npm run local-audit prints where the generated token is, never the token; the token works', async () => {
    const dataDir = tempDir('token-print-');
    const run = await runLocalAudit(dataDir);
    try {
      expect(run.url).toBeDefined();
      const token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
      expect(token).toMatch(/^pts_[0-9a-f]{48}$/);
      expect(run.stdout).toContain(`stored in ${join(dataDir, 'token')}`);
      expect(run.stdout).not.toContain(token);
      expect(run.stderr).not.toContain(token);
      const res = await fetch(`${run.url}/v1/log`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ event: { message: 'with the generated token' } }),
      });
      expect(res.status).toBe(200);
    } finally {
      await run.stop();
    }
    // Printed by nothing after the start either (the shutdown lines).
    expect(run.stdout + run.stderr).not.toContain(readFileSync(join(dataDir, 'token'), 'utf8').trim());
  }, 90_000);
});

describe('file modes', () => {
  test('a new data directory is 0700 and the token, audit.sqlite and its -wal and -shm are 0600, whatever the umask', async () => {
    const dataDir = join(tempDir('modes-'), 'nested', 'data');
    const umask = process.umask(0);
    try {
      const svc = await startTestService({ dataDir, token: undefined });
      try {
        expect((await svc.post('v1/log', { event: { message: 'makes the WAL' } })).status).toBe('Success');
        expect(mode(dataDir)).toBe(0o700);
        for (const file of ['token', 'audit.sqlite', 'audit.sqlite-wal', 'audit.sqlite-shm']) expect([file, mode(join(dataDir, file)).toString(8)]).toEqual([file, '600']);
        // The token was written through a temporary file renamed over it: none is left behind.
        expect(readdirSync(dataDir).filter((f) => f.startsWith('token'))).toEqual(['token']);
      } finally {
        await svc.destroy();
      }
    } finally {
      process.umask(umask);
    }
  });

  test('an existing audit.sqlite and WAL open to others are set to 0600; a data directory open to others is warned about', async () => {
    const dataDir = tempDir('modes-existing-');
    const first = await startTestService({ dataDir });
    await first.post('v1/log', { event: { message: 'before' } });
    await first.close();
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'audit.sqlite'), 0o644);
    const warnings: string[] = [];
    const again = await startTestService({ dataDir, onWarning: (w) => warnings.push(w) });
    try {
      expect(mode(join(dataDir, 'audit.sqlite'))).toBe(0o600);
      await again.post('v1/log', { event: { message: 'after' } });
      expect(mode(join(dataDir, 'audit.sqlite-wal'))).toBe(0o600);
      expect(mode(join(dataDir, 'audit.sqlite-shm'))).toBe(0o600);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`the data directory ${dataDir} is open to group or others (mode 755)`);
      // An existing directory keeps the mode its operator gave it.
      expect(mode(dataDir)).toBe(0o755);
    } finally {
      await again.destroy();
    }
    const quiet = tempDir('modes-private-');
    chmodSync(quiet, 0o700);
    mkdirSync(join(quiet, 'x'));
    const none: string[] = [];
    const svc = await startTestService({ dataDir: quiet, onWarning: (w) => none.push(w) });
    await svc.destroy();
    expect(none).toEqual([]);
  });
});
