// The links the service hands out — a download's dest_url, a 202's location, a published root's
// url — use its public URL (LocalAuditOptions.publicUrl; LOCAL_AUDIT_PUBLIC_URL for
// `npm run local-audit`), and never a wildcard bind address such as http://0.0.0.0:port.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startLocalAudit } from '../../src/local-audit/index.js';
import { startTestService, tempDir, type TestService } from '../support/local-audit.js';

type Json = Record<string, any>;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The three links, from a search (root url), its download (dest_url) and an export (location). */
async function links(svc: TestService): Promise<{ dest_url: string; location: string; root_url: string }> {
  await svc.post('v1/log', { event: { message: 'linked' } });
  svc.publishNow();
  const search = await svc.post<Json>('v1/search', { query: '' });
  expect(search.status).toBe('Success');
  const download = await svc.post<Json>('v1/download_results', { result_id: search.result.id });
  expect(download.status).toBe('Success');
  const exported = await svc.post<Json>('v1/export', {});
  expect(exported.status).toBe('Accepted');
  return { dest_url: download.result.dest_url, location: exported.result.location, root_url: search.result.root.url };
}

test('bound to 0.0.0.0 with no public URL, the links use a loopback URL that works, and a warning says so', async () => {
  const warnings: string[] = [];
  const svc = await startTestService({ host: '0.0.0.0', onWarning: (m) => warnings.push(m) });
  try {
    const port = new URL(svc.url).port;
    expect(svc.url).toBe(`http://127.0.0.1:${port}`);
    expect(svc.publicUrl).toBe(svc.url);
    const got = await links(svc);
    for (const link of Object.values(got)) expect(link.startsWith(`http://127.0.0.1:${port}/`)).toBe(true);
    expect((await fetch(got.dest_url)).status).toBe(200);
    expect((await fetch(got.root_url)).status).toBe(200);
    expect((await fetch(got.location, { headers: { authorization: `Bearer ${svc.token}` } })).status).toBeLessThan(300);
    expect(warnings.filter((w) => w.includes('LOCAL_AUDIT_PUBLIC_URL') && w.includes(svc.url))).toHaveLength(1);
  } finally {
    await svc.destroy();
  }
});

test('with a public URL, every link uses it; the service is still reached on its own address', async () => {
  const warnings: string[] = [];
  const svc = await startTestService({ host: '0.0.0.0', publicUrl: 'https://audit.example.test/base/', onWarning: (m) => warnings.push(m) });
  try {
    expect(svc.publicUrl).toBe('https://audit.example.test/base');
    expect(svc.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const got = await links(svc);
    expect(got.dest_url).toMatch(/^https:\/\/audit\.example\.test\/base\/downloads\/[A-Za-z0-9_-]+$/);
    expect(got.location).toMatch(/^https:\/\/audit\.example\.test\/base\/request\/prq_[a-z0-9]{32}$/);
    expect(got.root_url).toMatch(/^https:\/\/audit\.example\.test\/base\/roots\/[0-9a-f]{64}\/1$/);
    // The same path on the service's own address serves it.
    expect((await fetch(`${svc.url}${new URL(got.root_url).pathname.replace(/^\/base/, '')}`)).status).toBe(200);
    expect(warnings).toEqual([]);
  } finally {
    await svc.destroy();
  }
});

test('bound to loopback with no public URL, nothing changes and nothing is warned', async () => {
  const warnings: string[] = [];
  const svc = await startTestService({ onWarning: (m) => warnings.push(m) });
  try {
    const got = await links(svc);
    for (const link of Object.values(got)) expect(link.startsWith(`${svc.url}/`)).toBe(true);
    expect(warnings).toEqual([]);
  } finally {
    await svc.destroy();
  }
});

test('a public URL that is not an absolute http(s) URL without query or fragment is refused at start', async () => {
  const dataDir = tempDir();
  try {
    for (const bad of ['audit.example.test', 'ftp://audit.example.test', 'https://audit.example.test/?a=1', 'https://audit.example.test/#x']) {
      await expect(startLocalAudit({ dataDir, port: 0, token: 'test-token', publishIntervalMs: 0, publicUrl: bad })).rejects.toThrow(/public URL/);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('npm run local-audit reads LOCAL_AUDIT_PUBLIC_URL and uses it in its links', async () => {
  const dataDir = tempDir();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/local-audit/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOCAL_AUDIT_PORT: '0', LOCAL_AUDIT_HOST: '0.0.0.0', LOCAL_AUDIT_PUBLIC_URL: 'https://audit.example.test', DATA_DIR: dataDir, AUDIT_TOKEN: 'test-token', LOCAL_AUDIT_PUBLISH_INTERVAL_MS: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`did not start within 30 s:\n${out}`)), 30_000);
      const onData = (chunk: Buffer): void => {
        out += chunk.toString('utf8');
        const match = /listening on (http:\/\/\S+)[\s\S]*links in answers use https:\/\/audit\.example\.test/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`exited (${code}):\n${out}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${url}/v1/export`, { method: 'POST', headers: { authorization: 'Bearer test-token' }, body: '{}' });
    const body = (await res.json()) as Json;
    expect(body.result.location).toMatch(/^https:\/\/audit\.example\.test\/request\/prq_/);
  } finally {
    child.removeAllListeners('exit');
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    rmSync(dataDir, { recursive: true, force: true });
  }
});
