// The compiled build, as the Docker image runs it: tsc with tsconfig.build.json emits src/ as
// JavaScript, and `node <out>/main.js` (no tsx anywhere) runs the gateway with the embedded local
// audit service as a child process started from the compiled tree, callers authenticated with API
// keys from GATEWAY_KEYS_FILE, and the integrity monitor's full audit in a compiled child too. One
// event is logged and found over HTTP, and SIGTERM stops everything with exit status 0.
// The output directory is inside the repository so that the compiled modules resolve its
// node_modules exactly as dist/ does.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Json } from '../support/gateway.js';
import { tempDir } from '../support/gateway.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const API_KEY = 'compiled-build-test-key-0123456789';
const LOG = `mutation L($e: AuditEventInput!) { log(event: $e) { __typename ... on LogResult { hash } ... on Error { message } } }`;
const SEARCH = `query S($q: String!) { search(query: $q, first: 10) { __typename ... on AuditEventConnection { totalCount edges { node { message } } } ... on Error { message } } }`;
const INTEGRITY = `{ integrity { fullAudit { ok error } } }`;

/** Runs node with `args` to completion; rejects with its output when it does not exit 0. */
function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited ${code}:\n${output}`))));
  });
}

/** Resolves with the first match of `pattern` in the process's stdout so far or to come. */
function waitForLine(child: ChildProcess, out: { text: string }, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const m = out.text.match(pattern);
      if (!m) return;
      done();
      resolve(m);
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`the gateway exited (${code}) before printing ${pattern}:\n${out.text}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ${pattern} within ${ms} ms:\n${out.text}`));
    }, ms);
    const done = (): void => {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout!.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the compiled build (node dist/main.js)', () => {
  let outDir: string;
  let dir: string;
  let gateway: ChildProcess | undefined;

  beforeAll(async () => {
    mkdirSync(join(ROOT, 'test-artifacts'), { recursive: true });
    outDir = mkdtempSync(join(ROOT, 'test-artifacts', 'compiled-'));
    dir = tempDir('compiled-build-');
    // --noCheck: what is under test is the emitted JavaScript at run time; type errors are
    // `npm run typecheck`'s to report (and `npm run build` still fails on them).
    await run([TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir, '--noCheck']);
  }, 120_000);

  afterAll(() => {
    if (gateway && gateway.exitCode === null && gateway.signalCode === null) gateway.kill('SIGKILL');
    rmSync(outDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves GraphiQL, logs and finds an event with an API key, runs the full audit, and stops on SIGTERM with exit 0', async () => {
    const keysFile = join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ apiKeys: [{ id: 'compiled-test', key: API_KEY, scopes: ['audit:log', 'audit:search', 'audit:root'] }] }));
    // The image's environment (Dockerfile), on loopback and free ports; nothing else is inherited,
    // so no AUDIT_BASE_URL or the like from the machine running the tests can change the upstream.
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: join(dir, 'data'),
      INTEGRITY_KEY_FILE: join(dir, 'integrity', 'integrity-key'),
      GATEWAY_AUTH: 'keys',
      GATEWAY_KEYS_FILE: keysFile,
      LOCAL_AUDIT_PORT: '0',
      LOCAL_AUDIT_PUBLISH_INTERVAL_MS: '200',
      FULL_AUDIT_INTERVAL_MS: '1000',
    };
    gateway = spawn(process.execPath, [join(outDir, 'main.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { text: '' };
    gateway.stdout!.on('data', (chunk: Buffer) => (out.text += chunk.toString()));
    gateway.stderr!.on('data', (chunk: Buffer) => (out.text += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => gateway!.once('exit', (code) => resolve(code)));

    const [, childPid] = await waitForLine(gateway, out, /embedded local audit service at \S+ \(its own process, pid (\d+)\)/, 30_000);
    const [, origin] = await waitForLine(gateway, out, /GraphQL at (http:\/\/\S+)\/graphql /, 30_000);
    const pid = Number(childPid);
    // The service runs from the compiled tree with node alone: no loader in its command line.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(argv).toEqual([process.execPath, join(outDir, 'local-audit', 'main.js')]);

    expect((await fetch(`${origin}/health`)).status).toBe(200);
    const page = await fetch(`${origin}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Audit Gateway');

    const post = async (query: string, variables: Record<string, unknown>, key?: string): Promise<{ status: number; body: Json }> => {
      const res = await fetch(`${origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };

    expect((await post(LOG, { e: { message: 'nobody', actor: 'anonymous' } })).status).toBe(401);

    const logged = await post(LOG, { e: { message: 'compiled build: alice changed her email', actor: 'alice-compiled', action: 'update' } }, API_KEY);
    expect(logged.status).toBe(200);
    expect(logged.body.data.log.__typename).toBe('LogResult');
    expect(logged.body.data.log.hash).toMatch(/^[0-9a-f]{64}$/);

    const found = await post(SEARCH, { q: 'actor:alice-compiled' }, API_KEY);
    expect(found.body.data.search).toEqual({
      __typename: 'AuditEventConnection',
      totalCount: 1,
      edges: [{ node: { message: 'compiled build: alice changed her email' } }],
    });

    // The first full audit is due a second after the start; it runs dist/full-audit/cli.js.
    let fullAudit: Json = null;
    const deadline = Date.now() + 30_000;
    while (fullAudit === null) {
      if (Date.now() > deadline) throw new Error(`no full audit within 30 s:\n${out.text}`);
      await new Promise((r) => setTimeout(r, 200));
      fullAudit = (await post(INTEGRITY, {}, API_KEY)).body.data.integrity.fullAudit;
    }
    expect(fullAudit).toEqual({ ok: true, error: null });

    gateway.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out.text).toContain('audit-gateway: stopped');
    expect(alive(pid)).toBe(false);
  }, 60_000);
});
