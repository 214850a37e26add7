// The embedded local audit service in a process of its own (src/gateway/embedded-process.ts, the
// default of `npm start`): the gateway works through it, restarts it on the same address when it
// is killed (the acknowledged events still there), stops it on close, and — when the gateway
// itself is killed with SIGKILL — the service notices the lost IPC channel and exits too.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfig } from '../../src/config.js';
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

  const start = async (): Promise<RunningGateway> => {
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
    const running = await startGateway(config, () => undefined);
    await running.integrity?.checkNow();
    return running;
  };

  test('serves through it, restarts it on the same address after kill -9 with the events kept, and stops it on close', async () => {
    running = await start();
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
