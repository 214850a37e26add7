// The embedded local audit service in a process of its own (src/gateway/embedded-process.ts, the
// default of `npm start`): the gateway works through it, restarts it on the same address when it
// is killed (the acknowledged events still there), stops it on close, and — when the gateway
// itself is killed with SIGKILL — the service notices the lost IPC channel and exits too.
import { spawn } from 'node:child_process';
import { jest } from '@jest/globals';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfig } from '../../src/config.js';
import { startEmbeddedProcess } from '../../src/gateway/embedded-process.js';
import { startGateway, type RunningGateway } from '../../src/gateway/start.js';
import { tempDir, type Json } from '../support/gateway.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const BULK = `mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename ... on LogBulkResult { count } ... on Error { message } } }`;
const SEARCH = `query S($q: String!) { search(query: $q, first: 50) { __typename ... on AuditEventConnection { totalCount edges { node { verification { verified } } } } ... on Error { message } } }`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function graphql(url: string, query: string, variables: Record<string, unknown>): Promise<Json> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as Json;
}

describe('the embedded service in its own process', () => {
  const dirs: string[] = [];
  let running: RunningGateway | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const start = async (log: (line: string) => void = () => undefined): Promise<RunningGateway> => {
    const dir = tempDir('embedded-process-');
    dirs.push(dir);
    const config: GatewayConfig = {
      host: '127.0.0.1',
      port: 0,
      upstream: { kind: 'embedded', dataDir: join(dir, 'data'), token: undefined, localPort: 0, publishIntervalMs: 100, schemaFile: undefined, separateProcess: true },
      signingKeyFile: undefined,
      cursorSecret: 'embedded-process-test',
      maxBodyBytes: 1024 * 1024,
      graphiql: false,
      // As npm start runs it: the integrity monitor anchors the verified history at the empty log.
      integrityCheckIntervalMs: 600_000,
      integrityKeyFile: join(dir, 'integrity-key'),
    };
    const running = await startGateway(config, log);
    await running.integrity?.checkNow();
    return running;
  };

  test('serves through it, restarts it on the same address after kill -9 with the events kept, and stops it on close', async () => {
    const lines: string[] = [];
    running = await start((line) => lines.push(line));
    // Once the gateway is up, the service starts its search threads (one of the two, had a search
    // of a log holding events come first, would have started with it).
    await until(() => lines.some((l) => /^local-audit: started [12] search threads?$/.test(l)), 10_000, 'the service starts its search threads once the gateway listens');
    const pid = running.embeddedProcess!.pid()!;
    expect(pid).not.toBe(process.pid);
    expect(running.local).toBeUndefined();
    const events = Array.from({ length: 12 }, (_, i) => ({ message: `m${i}`, actor: 'separate' }));
    expect((await graphql(running.url, BULK, { e: events })).data.logBulk.count).toBe(12);

    process.kill(pid, 'SIGKILL');
    await until(() => !alive(pid), 5_000, 'the killed service is gone');
    // Started again on the same address: the gateway's client needs no new configuration.
    await until(
      async () => {
        const answer = await graphql(running!.url, SEARCH, { q: 'actor:separate' });
        return answer.data?.search?.__typename === 'AuditEventConnection';
      },
      20_000,
      'searches work again',
    );
    const newPid = running.embeddedProcess!.pid()!;
    expect(newPid).not.toBe(pid);
    await until(
      async () => {
        const answer = await graphql(running!.url, SEARCH, { q: 'actor:separate' });
        return answer.data.search.totalCount === 12 && answer.data.search.edges.every((e: Json) => e.node.verification.verified);
      },
      10_000,
      'the 12 acknowledged events are found and verify',
    );

    await running.close();
    running = undefined;
    expect(alive(newPid)).toBe(false);
  });

  test('learns the address over IPC, logs the child\'s lines, and restarts it on that address after kill -9', async () => {
    const dir = tempDir('embedded-process-ipc-');
    dirs.push(dir);
    const lines: string[] = [];
    const service = await startEmbeddedProcess({ dataDir: join(dir, 'data'), port: 0, token: 'ipc-test-token', publishIntervalMs: 100, log: (line) => lines.push(line) });
    try {
      expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
      await until(() => lines.some((l) => l.startsWith(`local-audit: listening on ${service.url} `)), 5_000, 'the listening line is logged');
      const pid = service.pid()!;
      process.kill(pid, 'SIGKILL');
      await until(() => lines.some((l) => /the local audit service exited \(code null, signal SIGKILL\); starting it again/.test(l)), 5_000, 'the exit is logged');
      await until(() => service.pid() !== undefined && service.pid() !== pid, 20_000, 'a new child is running');
      const res = await fetch(`${service.url}/v1/root`, { method: 'POST', headers: { authorization: 'Bearer ipc-test-token', 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBeLessThan(500);
      expect(lines.filter((l) => l.startsWith(`local-audit: listening on ${service.url} `))).toHaveLength(2);
    } finally {
      await service.close();
    }
  });

  test('starts its search threads only when asked, and a child started again after kill -9 starts them unasked', async () => {
    const dir = tempDir('embedded-process-warm-');
    dirs.push(dir);
    const lines: string[] = [];
    const service = await startEmbeddedProcess({ dataDir: join(dir, 'data'), port: 0, token: 'warm-test-token', publishIntervalMs: 100, log: (line) => lines.push(line) });
    const started = () => lines.filter((l) => l === 'local-audit: started 2 search threads').length;
    const call = async (path: string, body: unknown): Promise<Json> => {
      const res = await fetch(`${service.url}/${path}`, { method: 'POST', headers: { authorization: 'Bearer warm-test-token', 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return (await res.json()) as Json;
    };
    const search = () => call('v1/search', { query: 'actor:nobody' });
    try {
      await until(() => lines.some((l) => l.startsWith(`local-audit: listening on ${service.url} `)), 5_000, 'the listening line is logged');
      // A round trip through the service after it listened (no search, which would start a thread):
      // had it started the threads unasked, its line came first.
      expect((await call('v1/log', { event: { message: 'before the threads' } })).status).toBe('Success');
      expect(started()).toBe(0);
      service.warmSearchWorkers();
      await until(() => started() === 1, 10_000, 'the search threads are started when asked');
      const pid = service.pid()!;
      process.kill(pid, 'SIGKILL');
      await until(() => service.pid() !== undefined && service.pid() !== pid, 20_000, 'a new child is running');
      await until(() => started() === 2, 10_000, 'the new child starts its search threads unasked');
      expect((await search()).status).toBe('Success');
      // Asked again, a child whose threads run starts none.
      service.warmSearchWorkers();
      expect((await search()).status).toBe('Success');
      expect(started()).toBe(2);
    } finally {
      await service.close();
    }
  });

  test('a child that exits before it listens is a clear error', async () => {
    const dir = tempDir('embedded-process-fail-');
    dirs.push(dir);
    // The child's stderr is passed on to the gateway's.
    const errorSpy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(
        startEmbeddedProcess({ dataDir: join(dir, 'data'), port: 0, token: 't', publishIntervalMs: 100, schemaFile: join(dir, 'no-such-schema.json'), log: () => undefined }),
      ).rejects.toThrow(/the local audit service exited before listening \(code 1, signal null\)/);
      expect(errorSpy.mock.calls.map((c) => String(c[0]))).toContainEqual(expect.stringMatching(/^local-audit: failed to start: cannot read schema file /));
    } finally {
      errorSpy.mockRestore();
    }
  });

  test('a gateway killed with SIGKILL takes its service with it', async () => {
    const dir = tempDir('embedded-process-kill-');
    dirs.push(dir);
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', DATA_DIR: join(dir, 'data'), LOCAL_AUDIT_PORT: '0', GRAPHIQL: 'false' };
    const gateway = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    gateway.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    gateway.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    try {
      await until(() => /GraphQL at http/.test(out), 30_000, 'the gateway starts');
      const servicePid = Number(/its own process, pid (\d+)/.exec(out)?.[1]);
      expect(alive(servicePid)).toBe(true);
      gateway.kill('SIGKILL');
      await until(() => !alive(servicePid), 10_000, 'the service exits after its gateway was killed');
    } finally {
      if (gateway.exitCode === null) gateway.kill('SIGKILL');
    }
  });
});
