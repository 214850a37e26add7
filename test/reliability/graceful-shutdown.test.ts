// Graceful shutdown. The product runs as a real child process (`node --import tsx src/main.ts`, what
// `npm start` execs) with an embedded local service in a temp dir. A request is in flight when
// SIGTERM arrives — its body is still being sent, so it deterministically spans the signal — and
// must complete; an idle keep-alive connection and one that never sent a request are closed; new
// connections are refused; the process exits 0 and the acknowledged events are on disk.
// In-process: the drain is bounded (a request that never finishes has its connection cut when the
// bound passes).
import { jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { request, Agent, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway } from '../../src/gateway/start.js';
import { startLocalAudit } from '../../src/local-audit/index.js';
import { tempDir, type Json } from '../support/gateway.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Resolves with the first stdout match of `pattern` (within `ms`), keeping all output in `out`. */
function waitForLine(child: ChildProcess, out: { text: string }, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const m = out.text.match(pattern);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        child.off('exit', onExit);
        resolve(m);
        return true;
      }
      return false;
    };
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before printing ${pattern}:\n${out.text}`));
    };
    const timer = setTimeout(() => {
      child.stdout!.off('data', check);
      child.off('exit', onExit);
      reject(new Error(`no ${pattern} within ${ms} ms:\n${out.text}`));
    }, ms);
    child.stdout!.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

function exitOf(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Tries a new TCP connection: resolves 'connected' or the error code. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/**
 * A POST /graphql whose body is sent in two parts: the caller decides when the second goes.
 * It asks `Expect: 100-continue`; Node's server answers 100 Continue as it hands the request to
 * the application, so `accepted` resolves once the server holds it as a request in flight.
 */
function slowPost(url: URL, agent: Agent, body: string) {
  const bytes = Buffer.from(body);
  let socket: Socket | undefined;
  let finish!: () => void;
  let accepted!: Promise<void>;
  const response = new Promise<{ status: number; headers: IncomingMessage['headers']; json: Json; socketClosed: Promise<void> }>((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': bytes.length, expect: '100-continue' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const closed = new Promise<void>((r) => (socket!.destroyed ? r() : socket!.once('close', () => r())));
          resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(Buffer.concat(chunks).toString('utf8')), socketClosed: closed });
        });
        res.on('error', reject);
      },
    );
    accepted = new Promise<void>((r) => req.once('continue', () => r()));
    req.on('socket', (s) => (socket = s));
    req.on('error', reject);
    req.write(bytes.subarray(0, bytes.length >> 1));
    finish = () => req.end(bytes.subarray(bytes.length >> 1));
  });
  return { response, accepted, finish: () => finish() };
}

function get(url: string, agent: Agent): Promise<{ status: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, socket: req.socket! }));
    });
    req.on('error', reject);
    req.end();
  });
}

const BULK = `mutation L($e: [AuditEventInput!]!) { logBulk(events: $e) { __typename ... on LogBulkResult { count results { hash } } } }`;

describe('graceful shutdown', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test('SIGTERM: the in-flight request completes, idle and silent connections close, new ones are refused, exit 0, events on disk', async () => {
    const dir = tempDir('shutdown-test-');
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test' };
    Object.assign(env, { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOCAL_AUDIT_PORT: '0', LOCAL_AUDIT_PUBLISH_INTERVAL_MS: '500', GRAPHIQL: 'false' });
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { text: '' };
    child.stdout!.on('data', (c: Buffer) => (out.text += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (out.text += c.toString('utf8')));
    // Two agents: the idle keep-alive connection must not be the one the slow request reuses.
    const agent = new Agent({ keepAlive: true });
    const idleAgent = new Agent({ keepAlive: true });
    try {
      const url = new URL((await waitForLine(child, out, /GraphQL at (http:\/\/127\.0\.0\.1:\d+\/graphql)/, 30_000))[1]!);
      const port = Number(url.port);

      // An idle keep-alive connection, and a request whose body is half sent.
      const idle = await get(`${url.origin}/health`, idleAgent);
      expect(idle.status).toBe(200);
      const idleClosed = new Promise<void>((r) => idle.socket.once('close', () => r()));
      // A connection that never sent a request (a browser's preconnect).
      const silent = connect(port, '127.0.0.1');
      await new Promise<void>((r, j) => silent.once('connect', () => r()).once('error', j));
      const silentClosed = new Promise<void>((r) => silent.once('close', () => r()));
      silent.on('error', () => undefined);
      silent.resume();
      const events = Array.from({ length: 300 }, (_, i) => ({ message: `in flight ${i}`, actor: 'shutdown' }));
      const slow = slowPost(url, agent, JSON.stringify({ query: BULK, variables: { e: events } }));
      await slow.accepted;
      expect(child.exitCode).toBeNull();

      child.kill('SIGTERM');
      await waitForLine(child, out, /SIGTERM received, finishing in-flight requests/, 5_000);
      // The listener is closed (no new connections) and idle connections are closed...
      expect(await tryConnect(port)).toBe('ECONNREFUSED');
      await idleClosed;
      await silentClosed;
      // ...while the process waits for the request in flight.
      expect(child.exitCode).toBeNull();
      slow.finish();
      const answer = await slow.response;
      expect(answer.status).toBe(200);
      expect(answer.json.data.logBulk.__typename).toBe('LogBulkResult');
      expect(answer.json.data.logBulk.count).toBe(300);
      // The server closes the connection after the last response of the drain, and the process
      // exits because the drain finished, not because its 10 s bound passed (which it would log).
      await answer.socketClosed;
      expect(await exitOf(child, 15_000)).toBe(0);
      expect(out.text).toContain('audit-gateway: stopped');
      expect(out.text).not.toContain('requests still running after');
      expect(out.text).not.toMatch(/unexpected error|error while shutting down/);

      // Every acknowledged event is in the data dir.
      const service = await startLocalAudit({ dataDir, port: 0, publishIntervalMs: 0, onError: () => undefined });
      try {
        expect(service.log.size).toBe(300);
        const stored = new Set(service.log.events.getMany(Array.from({ length: 300 }, (_, i) => i)).map((e) => e.hash));
        for (const r of answer.json.data.logBulk.results) expect(stored.has(r.hash)).toBe(true);
      } finally {
        await service.close();
      }
    } finally {
      agent.destroy();
      idleAgent.destroy();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('the drain is bounded: a request that never finishes has its connection cut, and close() completes', async () => {
    const dir = tempDir('shutdown-bound-');
    dirs.push(dir);
    const lines: string[] = [];
    const running = await startGateway(
      {
        host: '127.0.0.1',
        port: 0,
        upstream: { kind: 'embedded', dataDir: join(dir, 'data'), token: undefined, localPort: 0, publishIntervalMs: 0, schemaFile: undefined },
        signingKeyFile: undefined,
        cursorSecret: 'shutdown-test',
        maxBodyBytes: 1024 * 1024,
        graphiql: false,
      },
      (l) => lines.push(l),
    );
    const agent = new Agent({ keepAlive: true });
    // The cut request is a client gone, not an unexpected error: nothing is logged for it.
    const errorSpy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const stuck = slowPost(new URL(running.url), agent, JSON.stringify({ query: '{ __typename }' }));
      const boundLine = 'audit-gateway: requests still running after 500 ms: closing their connections';
      // The drain waits for the request until its bound passes, then cuts it: when the client sees
      // the cut, the bound has already been logged. A drain that cut at once would not have.
      let boundLoggedBeforeCut = false;
      const cut = stuck.response.then(
        () => 'answered',
        (err: NodeJS.ErrnoException) => {
          boundLoggedBeforeCut = lines.includes(boundLine);
          return err.code ?? err.message;
        },
      );
      await stuck.accepted;
      await running.close({ drainMs: 500 });
      expect(await cut).toBe('ECONNRESET');
      expect(boundLoggedBeforeCut).toBe(true);
      // Let any late error from the cut connection surface before checking that none was logged.
      await new Promise((r) => setTimeout(r, 200));
      expect(errorSpy).not.toHaveBeenCalled();
    } finally {
      errorSpy.mockRestore();
      agent.destroy();
    }
  });
});
