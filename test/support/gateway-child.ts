// The gateway as `npm start` runs it, in a child process of its own (`node --import tsx
// src/main.ts`), for tests that need a real process: its own globals (an OpenTelemetry provider),
// its own environment, several replicas side by side. Port chosen by the OS; the URL is read from
// the line the gateway prints when it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Json } from './gateway.js';

const ROOT = new URL('../..', import.meta.url).pathname;

export interface GatewayChild {
  /** The GraphQL endpoint. */
  url: string;
  child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** POSTs a GraphQL request; status and parsed body. */
  call(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: Json }>;
  /** SIGTERM, then SIGKILL after 15 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the gateway with `env` on top of PATH and HOME (nothing else of this process's
 * environment), and `nodeFlags` before the script (V8 tracing, for one).
 */
export async function startGatewayChild(env: Record<string, string>, timeoutMs = 60_000, nodeFlags: readonly string[] = []): Promise<GatewayChild> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', LOCAL_AUDIT_PORT: '0', GRAPHIQL: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`the gateway did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = (): void => {
      const m = /GraphQL at (http:\/\/\S+\/graphql)/.exec(out);
      if (m) finish(undefined, m[1]);
    };
    const onExit = (code: number | null): void => finish(new Error(`the gateway exited (${code}) before listening:\n${out}`));
    function finish(err: Error | undefined, found?: string): void {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', onExit);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else resolve(found!);
    }
    child.stdout!.on('data', check);
    child.once('exit', onExit);
  });
  return {
    url,
    child,
    output: () => out,
    async call(query, variables = {}, headers = {}) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }) });
      return { status: res.status, body: (await res.json()) as Json };
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
