// Servers that benchmarks run in their own processes, so they do not share a CPU (or an event
// loop) with the clients being measured: the local audit service as `npm run local-audit` runs
// it, the replay server (replay-server.ts) and the bare relay (relay-server.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOCAL_AUDIT_MAIN = fileURLToPath(new URL('../../src/local-audit/main.ts', import.meta.url));
const REPLAY_SERVER = fileURLToPath(new URL('./replay-server.ts', import.meta.url));
const RELAY_SERVER = fileURLToPath(new URL('./relay-server.ts', import.meta.url));

export interface ServerProcess {
  url: string;
  proc: ChildProcess;
  /** From spawn to the "listening" line (includes node + tsx start-up). */
  readyMs: number;
  stop(): Promise<void>;
}

export function spawnLocalAudit(options: { dataDir: string; token: string; publishIntervalMs?: number }): Promise<ServerProcess> {
  return spawnServer([LOCAL_AUDIT_MAIN], {
    DATA_DIR: options.dataDir,
    LOCAL_AUDIT_PORT: '0',
    AUDIT_TOKEN: options.token,
    LOCAL_AUDIT_PUBLISH_INTERVAL_MS: String(options.publishIntervalMs ?? 2000),
  });
}

/** The replay server answering with the responses recorded in `file` (path -> body text). */
export function spawnReplayServer(file: string): Promise<ServerProcess> {
  return spawnServer([REPLAY_SERVER, file], {});
}

/** A bare relay (relay-server.ts) in front of the server at `target` (an origin). */
export function spawnRelay(target: string): Promise<ServerProcess> {
  return spawnServer([RELAY_SERVER, target], {});
}

/** BENCH_PROFILE_DIR: the servers write V8 CPU profiles there when they exit (for `--cpu-prof` analysis). */
export function profileFlags(): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** Starts a tsx script and resolves once it prints " listening on <url> ". */
function spawnServer(args: string[], env: Record<string, string>): Promise<ServerProcess> {
  const started = performance.now();
  const proc = spawn(process.execPath, [...profileFlags(), '--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      const m = / listening on (\S+) /.exec(line);
      if (!m) return;
      resolve({
        url: m[1]!,
        proc,
        readyMs: performance.now() - started,
        stop: async () => {
          proc.kill('SIGTERM');
          await exited;
        },
      });
    });
    void exited.then(() => reject(new Error(`${args[0]} exited before listening`)));
  });
}
